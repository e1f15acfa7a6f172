"""Query plans of the hot paths, on the bench data: EXPLAIN ANALYZE of every statement the service
sent for one request of each scenario (`bench.sqlcount` keeps them with their values).

Each scenario's statements are replayed in order, with the same values, through asyncpg (as
Tortoise sends them) under PostgreSQL's `auto_explain` (ANALYZE, BUFFERS, the plan sent back as a
notice): once with a custom plan (what a statement's first executions get) and once with the
generic plan (what a prepared statement may switch to after five executions; asyncpg prepares
and caches every statement of a long-lived connection). Everything runs in one transaction per
scenario and plan mode that is rolled back; each statement under a savepoint, so one that fails
is reported and the others still run. The suite runs this after its measurements, when the
machine is quiet, and prints the table; a sequential scan of a table holding 10,000 rows or
more is flagged: a hot path must reach its rows through an index.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import asyncpg

from bench.sqlcount import Statement

LARGE_TABLE_ROWS = 10_000
MODES = {"custom": "force_custom_plan", "generic": "force_generic_plan"}
SETTINGS = (
    "SET LOCAL plan_cache_mode = {mode}",
    "SET LOCAL auto_explain.log_min_duration = 0",
    "SET LOCAL auto_explain.log_analyze = on",
    "SET LOCAL auto_explain.log_buffers = on",
    "SET LOCAL auto_explain.log_timing = on",
    "SET LOCAL auto_explain.log_format = json",
    "SET LOCAL auto_explain.log_level = notice",
)
_DURATION = re.compile(r"duration: ([0-9.]+) ms")
SQL_LARGE_TABLES = "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= $1"
SQL_INDEXES = """
SELECT c.relname, '(' || array_to_string(array_agg(a.attname ORDER BY k.n), ', ') || ')'
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = current_schema()
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
GROUP BY c.relname
"""


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out, todo = [], [plan]
    while todo:
        node = todo.pop(0)
        out.append(node)
        todo.extend(node.get("Plans", []))
    return out


def _access(node: dict[str, Any], indexes: dict[str, str]) -> str | None:
    """How a plan node reaches a table: `Index Scan booking_pkey (id)`, `Insert booking`, ..."""
    relation, index = node.get("Relation Name"), node.get("Index Name")
    if node["Node Type"] == "ModifyTable":
        return f"{node.get('Operation', 'Modify')} {relation}"
    if index is not None:
        return f"{node['Node Type']} {index} {indexes.get(index, '')}".rstrip()
    return None if relation is None else f"{node['Node Type']} {relation}"


def summarize(message: str, large: set[str], indexes: dict[str, str]) -> dict[str, Any]:
    """One auto_explain notice: duration, rows, buffers, how each table is reached."""
    text = message.split("plan:", 1)[1]
    plan = json.loads(text)["Plan"]
    nodes = _nodes(plan)
    access = list(dict.fromkeys(a for n in nodes if (a := _access(n, indexes))))
    seq = sorted({n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"} & large)
    found = _DURATION.search(message)
    return {
        "ms": float(found.group(1)) if found else None,
        "rows": plan.get("Actual Rows"),
        "buffers": plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
        "access": access,
        "seq_scans_of_large_tables": seq,
        "plan": plan,
    }


def _label(sql: str, width: int = 100) -> str:
    """The statement, short: a SELECT's columns and its joins' conditions left out."""
    flat = " ".join(sql.split())
    start = flat.find(" FROM ")
    if flat.startswith("SELECT ") and start > 0:
        on, where = flat.find(" ON ", start), flat.find(" WHERE ", start)
        joined = 0 < on < where
        flat = (
            f"SELECT ...{flat[start:on]} ON ...{flat[where:]}"
            if joined
            else "SELECT ..." + flat[start:]
        )
    return flat if len(flat) <= width else flat[: width - 3] + "..."


async def _replay(
    conn: asyncpg.Connection,
    notices: list[str],
    statements: list[Statement],
    mode: str,
    tables: tuple[set[str], dict[str, str]],
) -> list[dict[str, Any]]:
    results = []
    transaction = conn.transaction()
    await transaction.start()
    try:
        for setting in SETTINGS:
            await conn.execute(setting.format(mode=mode))
        for sql, values in statements:
            notices.clear()
            try:
                async with conn.transaction():  # a savepoint
                    await conn.fetch(sql, *values)
            except asyncpg.PostgresError as e:
                results.append({"error": f"{type(e).__name__}: {e}"})
                continue
            await asyncio.sleep(0)  # the notice's callback, scheduled before the answer's
            plans = [n for n in notices if "plan:" in n]
            results.append(summarize(plans[-1], *tables) if plans else {"error": "no plan"})
    finally:
        await transaction.rollback()
    return results


async def explain(dsn: str, sent: dict[str, list[Statement]]) -> dict[str, list[dict[str, Any]]]:
    """{scenario: [{"sql", "label", "custom": summary, "generic": summary}, ...]}."""
    conn = await asyncpg.connect(dsn)
    notices: list[str] = []
    conn.add_log_listener(lambda _conn, message: notices.append(str(message.message)))
    try:
        await conn.execute("LOAD 'auto_explain'")
        tables = (
            {r[0] for r in await conn.fetch(SQL_LARGE_TABLES, LARGE_TABLE_ROWS)},
            {r[0]: r[1] for r in await conn.fetch(SQL_INDEXES)},
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for scenario, statements in sent.items():
            entries = [{"sql": sql, "label": _label(sql)} for sql, _ in statements]
            for name, mode in MODES.items():
                for entry, result in zip(
                    entries, await _replay(conn, notices, statements, mode, tables), strict=True
                ):
                    entry[name] = result
            out[scenario] = entries
        return out
    finally:
        await conn.close()


def _cell(summary: dict[str, Any]) -> str:
    if "error" in summary:
        return f"ERROR {summary['error'][:60]}"
    return f"{summary['ms']:.3f} ms, {summary['rows']} rows, {summary['buffers']} buffers"


def flagged(plans: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Statements whose plan scans a large table sequentially, or that failed on replay."""
    found = []
    for scenario, entries in plans.items():
        for i, entry in enumerate(entries, 1):
            for mode in MODES:
                summary = entry[mode]
                if "error" in summary:
                    found.append(f"{scenario} #{i} ({mode}): {summary['error']}")
                elif summary["seq_scans_of_large_tables"]:
                    tables = ", ".join(summary["seq_scans_of_large_tables"])
                    found.append(f"{scenario} #{i} ({mode}): sequential scan of {tables}")
    return found


def render(plans: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "Query plans (auto_explain ANALYZE of each statement of one request, replayed on the"
        " bench data and rolled back; custom plan | generic plan):"
    ]
    for scenario, entries in plans.items():
        for i, entry in enumerate(entries, 1):
            custom, generic = entry["custom"], entry["generic"]
            lines.append(f"{scenario:<17} #{i:<2} {entry['label']}")
            lines.append(f"{'':<21} {_cell(custom)} | {_cell(generic)}")
            access = custom.get("access", [])
            other = generic.get("access", [])
            lines.append(f"{'':<21} {', '.join(access) or '-'}")
            if other != access:
                lines.append(f"{'':<21} generic plan: {', '.join(other) or '-'}")
    for problem in flagged(plans):
        lines.append(f"FLAGGED: {problem}")
    return "\n".join(lines)
