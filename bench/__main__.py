"""The benchmark suite: the service beside a hand-written baseline, on PostgreSQL, on this machine.

    python -m bench                      # full run: 1,000 coaches, 20,000 events, 200,000 bookings
    python -m bench --smoke              # a few seconds on tiny data (what CI runs)
    python -m bench --duration 15 --processes 1,2 --out results.json
    python -m bench --peer postgraphile  # PostGraphile v5 beside the service on graphql_calendar

Creates a scratch database on --pg, applies the migrations with `leko-bookings migrate`, loads
the generated data (COPY), starts `leko-bookings serve` and the baseline (`bench/baseline.py`,
FastAPI + asyncpg) with the same uvicorn options and worker count, checks that both answer the
same, then measures each scenario on each side with the load generator (`bench/loadgen.py`, a
separate process) and prints one table: service and baseline side by side with the ratio.
The whole result is saved as JSON (default bench/results/<start time>.json) to compare runs.
`--peer postgraphile` also measures PostGraphile v5 (bench/peer.py; npm packages installed on
first use) on the calendar, right after the service, and prints service/PostGraphile.
Exits 1 when a run had errors, overbooked events, or answers that differ.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")

from bench import plans, report
from bench.datagen import Sizes
from bench.peer import PEERS
from bench.scenarios import SCENARIOS
from bench.suite import Options, header, problems, run, save


def _processes(text: str) -> tuple[int, ...]:
    values = tuple(int(x) for x in text.split(",") if x.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of process counts, e.g. 1,2")
    return values


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenarios {sorted(unknown)}; know {SCENARIOS}")
    return names


def parse(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--pg",
        default=os.environ.get("LEKO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL URL whose server gets the scratch database",
    )
    p.add_argument("--smoke", action="store_true", help="tiny data, short runs, 1 process")
    p.add_argument(
        "--duration", type=float, help="measured seconds per run (default 15; smoke 0.5)"
    )
    p.add_argument("--warmup", type=float, help="unmeasured seconds first (default 2; smoke 0.2)")
    p.add_argument("--concurrency", type=int, help="connections for reads (default 32; smoke 8)")
    p.add_argument("--processes", type=_processes, help="server processes, e.g. 1,2 (default)")
    p.add_argument("--generators", type=int, default=1, help="load generator processes")
    p.add_argument("--pool-size", type=int, default=10, help="DB connections per server process")
    p.add_argument("--scenarios", type=_scenarios, help=f"a subset of {','.join(SCENARIOS)}")
    p.add_argument("--coaches", type=int)
    p.add_argument("--events", type=int)
    p.add_argument("--bookings", type=int)
    p.add_argument("--athletes", type=int)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    p.add_argument("--out", type=Path, help="the JSON file (default bench/results/<time>.json)")
    p.add_argument(
        "--peer",
        action="append",
        choices=PEERS,
        help="also measure this server on graphql_calendar (installs its npm packages once)",
    )
    a = p.parse_args(argv)
    peers = tuple(dict.fromkeys(a.peer or ()))
    if peers and a.scenarios and "graphql_calendar" not in a.scenarios:
        p.error("--peer measures graphql_calendar: include it in --scenarios")
    sizes = Sizes.smoke() if a.smoke else Sizes()
    overrides = {
        k: getattr(a, k) for k in ("coaches", "events", "bookings", "athletes") if getattr(a, k)
    }
    sizes = dataclasses.replace(sizes, **overrides)
    return Options(
        pg=a.pg,
        duration=a.duration or (0.5 if a.smoke else 15.0),
        warmup=a.warmup if a.warmup is not None else (0.2 if a.smoke else 2.0),
        concurrency=a.concurrency or (8 if a.smoke else 32),
        processes=a.processes or ((1,) if a.smoke else (1, 2)),
        generators=a.generators,
        pool_size=a.pool_size,
        sizes=sizes,
        seed=a.seed,
        scenarios=a.scenarios,
        keep_db=a.keep_db,
        out=a.out,
        smoke=a.smoke,
        peers=peers,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    result = asyncio.run(run(options))
    print()
    print(report.render(result["table"], result["scaling"], header(result)))
    ratios = report.peer_lines(result["table"])
    if ratios:
        print()
        print("\n".join(ratios))
    print()
    print(report.cpu_table(result["runs"]))
    print("\n" + report.statements_line(result["sql_statements_per_request"]))
    print()
    print(plans.render(result["plans"]))
    print()
    for name, check in result["equivalence"].items():
        print(f"same answers, {name}: {'ok' if check['ok'] else 'DIFFERENT'} - {check['detail']}")
    path = save(result, options.out)
    print(f"\nsaved {path}")
    found = problems(result)
    for problem in found:
        print(f"PROBLEM: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
