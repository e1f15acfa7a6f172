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
}
# At most this many SQL statements per request of the service (BEGIN/COMMIT not counted).
STATEMENT_GOALS = {"graphql_calendar": 4, "graphql_week": 4}
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


def unexpected(scenario: str, summary: dict[str, Any]) -> int:
    """Answers a scenario should never get: GETs answer 200; orders 201 or a 400 refusal."""
    allowed = {"201", "400"} if scenario == "post_bookings" else {"200"}
    return sum(v for k, v in summary["statuses"].items() if k not in allowed and int(k) < 500)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (scenario, processes): the service beside its baseline, with the ratio."""
    index = {(r["scenario"], r["processes"], r["target"]): r for r in results}
    table = []
    for r in results:
        if r["target"] != "service":
            continue
        base = index.get((r["baseline"], r["processes"], "baseline"))
        svc = r["summary"]
        ratio = round(svc["rps"] / base["summary"]["rps"], 2) if base else None
        goal = GOALS.get(r["scenario"]) if r["processes"] == 1 else None
        row = {
            "scenario": r["scenario"],
            "processes": r["processes"],
            "service": svc,
            "baseline_scenario": r["baseline"],
            "baseline": base["summary"] if base else None,
            "ratio": ratio,
            "goal": goal,
            "meets_goal": None if goal is None or ratio is None else ratio >= goal,
            "errors": svc["errors"] + (base["summary"]["errors"] if base else 0),
            "unexpected": unexpected(r["scenario"], svc)
            + (unexpected(r["baseline"], base["summary"]) if base else 0),
            "overbooked": _overbooked(r, base),
        }
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


COLUMNS = (
    ("scenario", 17, "<"),
    ("proc", 4, ">"),
    ("svc req/s", 9, ">"),
    ("p50 ms", 7, ">"),
    ("p99 ms", 7, ">"),
    ("base req/s", 10, ">"),
    ("p50 ms", 7, ">"),
    ("p99 ms", 7, ">"),
    ("ratio", 5, ">"),
    ("goal", 7, "<"),
    ("errors", 6, ">"),
    ("overbooked", 10, ">"),
    ("notes", 0, "<"),
)


def _line(cells: list[str]) -> str:
    return "  ".join(
        f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, COLUMNS, strict=True)
    )


def render(table: list[dict[str, Any]], scale: list[dict[str, Any]], header: str) -> str:
    lines = [header, "", _line([c for c, _, _ in COLUMNS])]
    lines.append(_line(["-" * max(w, len(c)) for c, w, _ in COLUMNS]))
    for r in table:
        svc, base = r["service"], r["baseline"] or {}
        notes = []
        if r["baseline_scenario"] != r["scenario"]:
            notes.append(f"baseline = REST {r['baseline_scenario']}")
        if r["scenario"] == "post_bookings":
            notes.append(f"201/400 svc {_accepted(svc)}, base {_accepted(base)}")
        if svc["p50_ms"] and svc["p99_ms"] and svc["p99_ms"] > TAIL_GOAL * svc["p50_ms"]:
            notes.append("svc p99 > 4x p50")
        if r["unexpected"]:
            notes.append(f"{r['unexpected']} unexpected statuses")
        goal = "" if r["goal"] is None else f"{'ok' if r['meets_goal'] else 'NO'} {r['goal']}"
        lines.append(
            _line(
                [
                    r["scenario"],
                    str(r["processes"]),
                    _f(svc["rps"]),
                    _f(svc["p50_ms"]),
                    _f(svc["p99_ms"]),
                    _f(base.get("rps")),
                    _f(base.get("p50_ms")),
                    _f(base.get("p99_ms")),
                    _f(r["ratio"], 2),
                    goal,
                    str(r["errors"]),
                    "-" if r["overbooked"] is None else str(r["overbooked"]),
                    "; ".join(notes),
                ]
            )
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
    lines = [
        f"CPU during each run, % of one core ({cores} cores = {100 * cores}%):",
        f"{'scenario':<17}  {'target':<8}  proc  server  PostgreSQL  load gen  machine busy"
        "  per worker",
    ]
    for r in runs:
        c = r["cpu"]
        lines.append(
            f"{r['scenario']:<17}  {r['target']:<8}  {r['processes']:>4}  {c['server_pct']:>6}"
            f"  {c['postgres_pct']:>10}  {c['load_generator_pct']:>8}  {c['machine_busy_pct']:>12}"
            f"  {' / '.join(str(w) for w in c.get('workers_pct', [])[: r['processes']])}"
        )
    return "\n".join(lines)


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
