"""Figures from the load generator's results, the side-by-side table, and issue 6's goals."""

from __future__ import annotations

from typing import Any

# Issue 6's goals (and issue 12's week of events): service / baseline throughput in one run (the
# calendar against the baseline's REST month list), 1 server process.
GOALS = {
    "get_by_id": 0.5,
    "month_list": 0.5,
    "graphql_calendar": 0.35,
    "graphql_week": 0.4,
    "post_bookings": 0.5,
    "post_bookings_keyed": 0.5,  # issue 17: with an Idempotency-Key, against unkeyed baseline
}
# At most this many SQL statements per request of the service (BEGIN/COMMIT not counted): the
# calendar's (issue 13) are the rate limit and one read.
STATEMENT_GOALS = {"graphql_calendar": 2, "graphql_week": 4}
SCALING_GOAL = 1.6  # 2 processes / 1 process, on reads
TAIL_GOAL = 4.0  # p99 / p50
READS = ("get_by_id", "month_list", "graphql_calendar", "graphql_week")


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """Throughput, latency percentiles and error counts of one load run."""
    lat = raw["latencies_ms"]
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    server_errors = sum(v for k, v in statuses.items() if k >= 500)
    return {
        "rps": round(raw["completed"] / raw["duration"], 1),
        "measured_seconds": raw["duration"],
        "completed": raw["completed"],
        "p50_ms": percentile(lat, 0.50),
        "p90_ms": percentile(lat, 0.90),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else None,
        "statuses": raw["statuses"],
        "all_statuses": raw["all_statuses"],
        "refusals": raw["refusals"],
        "errors": server_errors + raw["transport_errors"],
        "error_samples": raw["error_samples"],
        "concurrency": raw["concurrency"],
        "generator_processes": raw["generator_processes"],
        "generator_cpu_share": round(raw["cpu_seconds"] / max(raw["wall_seconds"], 1e-9), 2),
    }


def cpu_per_request(used: dict[str, Any], summary: dict[str, Any]) -> dict[str, float | None]:
    """CPU milliseconds per request of the server's processes and of PostgreSQL: CPU seconds over
    the run (warm-up included) / the requests answered over the same time (warm-up included)."""
    answered = sum(summary["all_statuses"].values())

    def per(seconds: float) -> float | None:
        return round(1000 * seconds / answered, 3) if answered else None

    return {
        "server_cpu_ms": per(used["server_seconds"]),
        "postgres_cpu_ms": per(used["postgres_seconds"]),
    }


def unexpected(scenario: str, summary: dict[str, Any]) -> int:
    """Answers a scenario should never get: GETs answer 200; orders 201 or a 400 refusal."""
    allowed = {"201", "400"} if scenario.startswith("post_bookings") else {"200"}
    return sum(v for k, v in summary["statuses"].items() if k not in allowed and int(k) < 500)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(service: dict[str, Any], other: dict[str, Any] | None) -> float | None:
    """service req/s / the other's, 2 decimals."""
    if not other or not other["rps"]:
        return None
    return round(service["rps"] / other["rps"], 2)


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (scenario, processes): the service beside its baseline, with the ratio, and
    beside each peer measured on the scenario (`peers`: its summary and the ratio)."""
    index = {(r["scenario"], r["processes"], r["target"]): r for r in results}
    table = []
    for r in results:
        if r["target"] != "service":
            continue
        base = index.get((r["baseline"], r["processes"], "baseline"))
        svc = r["summary"]
        ratio = _ratio(svc, base["summary"] if base else None)
        goal = GOALS.get(r["scenario"]) if r["processes"] == 1 else None
        peers = {
            x["target"]: {"summary": x["summary"], "ratio": _ratio(svc, x["summary"])}
            for x in results
            if (x["scenario"], x["processes"]) == (r["scenario"], r["processes"])
            and x["target"] not in ("service", "baseline")
        }
        row = {
            "scenario": r["scenario"],
            "processes": r["processes"],
            "service": svc,
            "baseline_scenario": r["baseline"],
            "baseline": base["summary"] if base else None,
            "ratio": ratio,
            "goal": goal,
            "meets_goal": None if goal is None or ratio is None else ratio >= goal,
            "errors": svc["errors"]
            + (base["summary"]["errors"] if base else 0)
            + sum(p["summary"]["errors"] for p in peers.values()),
            "unexpected": unexpected(r["scenario"], svc)
            + (unexpected(r["baseline"], base["summary"]) if base else 0)
            + sum(unexpected(r["scenario"], p["summary"]) for p in peers.values()),
            "overbooked": _overbooked(r, base),
        }
        if peers:
            row["peers"] = peers
        table.append(row)
    return table


def _overbooked(service: dict[str, Any], baseline: dict[str, Any] | None) -> int | None:
    found = [x["db"]["overbooked_events"] for x in (service, baseline) if x and x.get("db")]
    return sum(found) if found else None


def _accepted(summary: dict[str, Any]) -> str:
    s = summary["statuses"]
    return f"{s.get('201', 0)}/{s.get('400', 0)}"


def scaling(table: list[dict[str, Any]], runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """2 processes / 1 process throughput, per read scenario, for each side; and the machine's
    ceiling: what the service's 2-process run would give with every core busy for it at the
    CPU it cost per request (all of it: servers, PostgreSQL, load generator, the rest), over
    the 1-process throughput. A ratio at its ceiling is bound by the machine, not the service."""
    by = {(r["scenario"], r["processes"]): r for r in table}
    cpu_of = {(r["scenario"], r["processes"], r["target"]): r.get("cpu") for r in runs}
    out = []
    for name in READS:
        one, two = by.get((name, 1)), by.get((name, 2))
        if not one or not two:
            continue
        entry: dict[str, Any] = {"scenario": name}
        for side in ("service", "baseline"):
            if one[side] and two[side] and one[side]["rps"]:
                entry[side] = round(two[side]["rps"] / one[side]["rps"], 2)
        used = cpu_of.get((name, 2, "service"))
        if used and used["machine_busy_pct"] and one["service"]["rps"]:
            ceiling = two["service"]["rps"] * 100 * used["cores"] / used["machine_busy_pct"]
            entry["machine_ceiling"] = round(ceiling / one["service"]["rps"], 2)
        entry["meets_goal"] = entry.get("service", 0) >= SCALING_GOAL
        out.append(entry)
    return out


Column = tuple[str, int, str]  # header, width, alignment
# a side's figures after its req/s: latencies, CPU milliseconds per request (server, PostgreSQL)
SIDE: tuple[Column, ...] = (
    ("p50 ms", 7, ">"),
    ("p99 ms", 7, ">"),
    ("srv ms", 6, ">"),
    ("PG ms", 6, ">"),
)
COLUMNS: tuple[Column, ...] = (
    ("scenario", 17, "<"),
    ("proc", 4, ">"),
    ("svc req/s", 9, ">"),
    *SIDE,
    ("base req/s", 10, ">"),
    *SIDE,
    ("ratio", 5, ">"),
    ("goal", 7, "<"),
)
TRAILING: tuple[Column, ...] = (
    ("errors", 6, ">"),
    ("overbooked", 10, ">"),
    ("notes", 0, "<"),
)
PEER_LABELS = {"postgraphile": "pgl"}  # its columns' short name


def _peer_columns(name: str) -> tuple[Column, ...]:
    label = PEER_LABELS.get(name, name)
    return (
        (f"{label} req/s", 9, ">"),
        *SIDE,
        (f"svc/{label}", 7, ">"),
    )


def _line(cells: list[str], columns: tuple[Column, ...]) -> str:
    return "  ".join(
        f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, columns, strict=True)
    )


def _side(summary: dict[str, Any]) -> list[str]:
    return [
        _f(summary.get("rps")),
        _f(summary.get("p50_ms")),
        _f(summary.get("p99_ms")),
        _f(summary.get("server_cpu_ms"), 2),
        _f(summary.get("postgres_cpu_ms"), 2),
    ]


def _peers(table: list[dict[str, Any]]) -> list[str]:
    """The peers measured in the run, in the order first met."""
    return list(dict.fromkeys(name for r in table for name in r.get("peers", {})))


def render(table: list[dict[str, Any]], scale: list[dict[str, Any]], header: str) -> str:
    peers = _peers(table)
    columns = COLUMNS + tuple(c for name in peers for c in _peer_columns(name)) + TRAILING
    lines = [header, "", _line([c for c, _, _ in columns], columns)]
    lines.append(_line(["-" * max(w, len(c)) for c, w, _ in columns], columns))
    for r in table:
        svc, base = r["service"], r["baseline"] or {}
        notes = []
        if r["baseline_scenario"] != r["scenario"]:
            notes.append(f"baseline = REST {r['baseline_scenario']}")
        if r["scenario"].startswith("post_bookings"):
            notes.append(f"201/400 svc {_accepted(svc)}, base {_accepted(base)}")
        if svc["p50_ms"] and svc["p99_ms"] and svc["p99_ms"] > TAIL_GOAL * svc["p50_ms"]:
            notes.append("svc p99 > 4x p50")
        if r["unexpected"]:
            notes.append(f"{r['unexpected']} unexpected statuses")
        goal = "" if r["goal"] is None else f"{'ok' if r['meets_goal'] else 'NO'} {r['goal']}"
        cells = [r["scenario"], str(r["processes"]), *_side(svc), *_side(base)]
        cells += [_f(r["ratio"], 2), goal]
        for name in peers:
            measured = r.get("peers", {}).get(name)
            cells += [*_side(measured["summary"] if measured else {})]
            cells.append(_f(measured["ratio"], 2) if measured else "-")
        cells += [
            str(r["errors"]),
            "-" if r["overbooked"] is None else str(r["overbooked"]),
            "; ".join(notes),
        ]
        lines.append(_line(cells, columns))
    lines.append(
        "srv ms, PG ms: CPU milliseconds per request of the server's processes, of PostgreSQL"
        " (CPU over the run, warm-up included, / requests answered in that time)"
    )
    for name in peers:
        label = PEER_LABELS.get(name, name)
        lines.append(
            f"{label}: {name} (--peer {name}), on graphql_calendar only (same users and month,"
            f" no bearer token); svc/{label}: service req/s / {name} req/s"
        )
    if scale:
        parts = [
            f"{s['scenario']} service {_f(s.get('service'), 2)}x "
            f"(baseline {_f(s.get('baseline'), 2)}x; machine ceiling "
            f"{_f(s.get('machine_ceiling'), 2)}x)"
            for s in scale
        ]
        lines += [
            "",
            f"2 processes / 1 (goal >= {SCALING_GOAL}x on reads): " + "; ".join(parts),
            "machine ceiling: the 2-process throughput with all cores busy for it, at its CPU"
            " per request (servers, PostgreSQL, load generator, the rest), over 1 process",
        ]
    return "\n".join(lines)


def cpu_table(runs: list[dict[str, Any]]) -> str:
    """Where the CPU went in each run (warm-up included), in % of the machine's cores."""
    if not runs or "cpu" not in runs[0]:
        return ""
    cores = runs[0]["cpu"]["cores"]
    width = max(8, *(len(r["target"]) for r in runs))  # a peer's name may be longer
    lines = [
        f"CPU during each run, % of one core ({cores} cores = {100 * cores}%):",
        f"{'scenario':<17}  {'target':<{width}}  proc  server  PostgreSQL  load gen  machine busy"
        "  per worker",
    ]
    for r in runs:
        c = r["cpu"]
        lines.append(
            f"{r['scenario']:<17}  {r['target']:<{width}}  {r['processes']:>4}"
            f"  {c['server_pct']:>6}  {c['postgres_pct']:>10}  {c['load_generator_pct']:>8}"
            f"  {c['machine_busy_pct']:>12}"
            f"  {' / '.join(str(w) for w in c.get('workers_pct', [])[: r['processes']])}"
        )
    return "\n".join(lines)


def peer_ratios(table: list[dict[str, Any]], name: str) -> dict[str, float | None]:
    """service req/s / the peer's, per process count (JSON keys: the counts)."""
    return {
        str(r["processes"]): r["peers"][name]["ratio"] for r in table if name in r.get("peers", {})
    }


def peer_lines(table: list[dict[str, Any]]) -> list[str]:
    """One line per (scenario, process count) where a peer ran, in the table's order:
    `graphql_calendar service/postgraphile 0.85x`."""
    return [
        f"{r['scenario']} service/{name} {_f(p['ratio'], 2)}x"
        for r in table
        for name, p in r.get("peers", {}).items()
    ]


def statements_line(counted: dict[str, Any]) -> str:
    """SQL statements per request of each scenario, with its goal where it has one."""
    parts = []
    for name, entry in counted.items():
        goal = STATEMENT_GOALS.get(name)
        verdict = (
            "" if goal is None else f" ({'ok' if entry['statements'] <= goal else 'NO'} <= {goal})"
        )
        parts.append(f"{name} {entry['statements']}{verdict}")
    return "SQL statements per request (service, BEGIN/COMMIT not counted): " + ", ".join(parts)
