"""CPU per request, in process: the service and the baseline side by side, optionally profiled.

    python -m bench.profile [--scenarios get_by_id,post_bookings] [--requests 500] [--rounds 1]
                            [--cprofile DIR]

A scratch PostgreSQL database with the suite's data; each app runs in this process behind
`httpx.ASGITransport` (no sockets, no uvicorn), made by the factory its server runs (the garbage
collector tuned once started: `serving.frozen_once_started`), and answers the scenario's requests
one at a time.
Reported per request: CPU time of this process (client included, the same client for both) and
wall time; with `--cprofile`, the functions with the most cumulative time in the service. What the
load generator measures end to end, this explains: where a request's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from bench.datagen import Dataset, Sizes, generate, load, now_hour
from bench.scenarios import SCENARIOS, Scenario, build, reset_pool
from bench.suite import _dsn, _migrate, _settle_ranks, _with_database


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


async def _send(client: httpx.AsyncClient, request: dict[str, Any]) -> int:
    headers = dict(request["headers"])
    if request["body"] is not None:
        headers["content-type"] = "application/json"
    response = await client.request(
        request["method"], request["path"], headers=headers, content=request["body"]
    )
    return response.status_code


async def _measure(
    make_app: Callable[[], FastAPI], scenario: Scenario, n: int, rounds: int, profile: str | None
) -> dict[str, Any]:
    """`rounds` rounds of `n` requests (the scenario's, cycled); CPU and wall time per request
    of the fastest round and of the median one (the fastest is the least disturbed by whatever
    else the machine ran: compare it between versions)."""
    requests = [scenario.requests[i % len(scenario.requests)] for i in range(n)]
    statuses: dict[int, int] = {}
    timings: list[tuple[float, float]] = []
    profiler = cProfile.Profile() if profile else None
    async with _client(make_app()) as client:
        for request in scenario.requests[-20:]:  # warm up (caches, prepared statements, pool)
            await _send(client, request)
        for _ in range(rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for request in requests:
                status = await _send(client, request)
                statuses[status] = statuses.get(status, 0) + 1
            if profiler:
                profiler.disable()
            timings.append((time.process_time() - cpu, time.perf_counter() - wall))
    timings.sort()
    fastest, median = timings[0], timings[len(timings) // 2]
    result: dict[str, Any] = {
        "cpu_ms": 1000 * fastest[0] / n,
        "wall_ms": 1000 * fastest[1] / n,
        "median_cpu_ms": 1000 * median[0] / n,
        "statuses": statuses,
    }
    if profiler:
        out = io.StringIO()
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
        result["profile"] = out.getvalue()
    return result


def _service() -> FastAPI:
    from leko_bookings.serving import served_app

    return served_app()  # as `serve` runs it (its garbage collector tuned once started)


def _baseline() -> FastAPI:
    from bench.baseline import served_app

    return served_app()


@asynccontextmanager
async def scratch_database(
    pg: str, small: bool, seed: int
) -> AsyncIterator[tuple[str, Dataset, str]]:
    """A scratch database with the suite's data, migrated and loaded (dropped afterwards), and
    the service's settings in the environment: (its URL, the data, the token secret)."""
    name = f"leko_profile_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(pg))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(pg, name)
    secret = secrets.token_urlsafe(48)
    os.environ.update(
        LEKO_DATABASE_URL=f"{url}?maxsize=10",
        LEKO_JWT_SECRET=secret,
        LEKO_LOG_LEVEL="warning",
        AERICH_NO_TORTOISE_V1_WARNING="1",
    )
    try:
        await _migrate(url)
        data, made = generate(Sizes.smoke() if small else Sizes(), now_hour(), seed)
        await load(_dsn(url), data, made)
        await _settle_ranks(url)
        yield url, data, secret
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(args: argparse.Namespace) -> None:
    if args.cprofile:
        os.makedirs(args.cprofile, exist_ok=True)
    async with scratch_database(args.pg, args.small, args.seed) as (url, data, secret):
        chosen = args.scenarios.split(",")
        for scenario in build(data, secret, 1, args.seed):
            if scenario.name not in chosen:
                continue
            targets = [("service", _service), ("baseline", _baseline)]
            if scenario.baseline != scenario.name:  # compared with another scenario's baseline
                targets = targets[:1]
            for target, make_app in targets:
                dump = f"{args.cprofile}/{scenario.name}-{target}.pstats" if args.cprofile else None
                result = await _measure(make_app, scenario, args.requests, args.rounds, dump)
                if scenario.writes:
                    await reset_pool(_dsn(url), data)
                print(
                    f"{scenario.name:<17} {target:<8} cpu {result['cpu_ms']:6.2f} ms/request"
                    f" (median round {result['median_cpu_ms']:6.2f})"
                    f"  wall {result['wall_ms']:6.2f} ms  statuses {result['statuses']}",
                    flush=True,
                )
                if target == "service" and "profile" in result:
                    print(result["profile"])


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--requests", type=int, default=500, help="per round (cycled)")
    parser.add_argument("--rounds", type=int, default=1, help="fastest and median reported")
    parser.add_argument(
        "--cprofile", metavar="DIR", help="profile both; print the service's, save both in DIR"
    )
    parser.add_argument("--small", action="store_true", help="the smoke run's data")
    parser.add_argument("--seed", type=int, default=6)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
