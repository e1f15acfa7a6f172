"""PostgreSQL CPU per statement of the GraphQL calendar, in process, on the suite's data.

    python -m bench.statement_cpu [--repeats 2000] [--small]

The statements the service sends for the calendar query (bench's `graphql_calendar`), and for
the same query without `serviceCardinality`, are captured as they are sent (`bench.sqlcount`)
for each heavy athlete, then each kind is run `--repeats` times on one connection, as prepared
statements (the service's driver prepares them too), round robin over the athletes; the CPU
the server process of that connection used (`/proc/<pid>/stat`: PostgreSQL must run on this
machine) is divided by the runs. What the load generator's PostgreSQL column sums over a run,
this splits by statement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from bench import sqlcount
from bench.profile import scratch_database
from bench.scenarios import Scenario, build
from bench.suite import _dsn

TICKS = os.sysconf("SC_CLK_TCK")
UNRANKED = "unranked"


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _without_ranks(calendar: Scenario) -> Scenario:
    """The calendar's requests without serviceCardinality."""
    requests = []
    for request in calendar.requests:
        body = json.loads(request["body"])
        body["query"] = body["query"].replace(" serviceCardinality", "")
        requests.append({**request, "body": json.dumps(body)})
    return replace(calendar, name=UNRANKED, requests=requests)


def _kind(sql: str) -> str:
    if sql.lstrip().upper().startswith("INSERT"):
        return "rate limit (UPSERT of the caller's bucket)"
    return "the page (bookings, events" + (", ranks)" if '"n"' in sql else ")")  # rank column


async def _captured(url: str, secret: str, scenarios: list[Scenario]) -> dict[str, list[Any]]:
    """{statement kind: [(sql, values) for each athlete]}."""
    found: dict[str, list[Any]] = {}
    for scenario in scenarios:
        for i in range(len(scenario.requests)):
            one = replace(scenario, requests=scenario.requests[i : i + 1])
            _, sent = await sqlcount.count(url, secret, [one])
            for sql, values in sent[scenario.name]:
                found.setdefault(_kind(sql), []).append((sql, values))
    return found


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(args.pg, args.small, args.seed) as (url, data, secret):
        calendar = next(
            s for s in build(data, secret, 1, args.seed) if s.name == "graphql_calendar"
        )
        found = await _captured(url, secret, [calendar, _without_ranks(calendar)])
        conn = await asyncpg.connect(_dsn(url))
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            print(
                f"PostgreSQL CPU per statement ({args.repeats} runs each, prepared, one connection)"
            )
            for kind, statements in found.items():
                for sql, values in statements:  # warm: prepared, cached, the plan settled
                    for _ in range(6):
                        await conn.fetch(sql, *values)
                before = _backend_cpu(pid)
                for i in range(args.repeats):
                    sql, values = statements[i % len(statements)]
                    await conn.fetch(sql, *values)
                ms = 1000 * (_backend_cpu(pid) - before) / args.repeats
                print(f"  {kind:<45} {ms:6.3f} ms")
        finally:
            await conn.close()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statement_cpu", description=__doc__)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--small", action="store_true", help="the smoke run's data")
    parser.add_argument("--seed", type=int, default=6)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
