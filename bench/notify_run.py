"""Benchmark: one notify run over 100,000 bookings with due reminders, on PostgreSQL.

    python -m bench.notify_run [--bookings 100000] [--pg postgres://postgres@127.0.0.1:5432/test]

Creates a scratch database, migrates it, loads the bookings (each with its 1-hour reminder due
now, for athlete and coach: 2 notifications a booking), then times one run with the log channel
(lines written to /dev/null, formatted as in production) and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")

from tortoise import Tortoise

from bench.suite import _settle_ranks
from leko_bookings.auth import Principal, Role
from leko_bookings.channels import LogChannel
from leko_bookings.db import tortoise_config
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.notify import notify_bookings
from leko_bookings.settings import Settings


async def load(dsn: str, count: int, now: datetime) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        start = now + timedelta(minutes=30)  # the 1 h reminder is due; the 24 h one has passed
        events = [uuid.uuid4() for _ in range(max(1, count // 10))]
        await conn.executemany(
            """INSERT INTO event (id, coach_id, sport_id, start_at, end_at, status, timeslot_id,
               slot_start_time, slot_end_time, capacity, slot_type, age_from, age_to, duration,
               price, price_currency, payment_method, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'Scheduled', $6, '10:00:00+00:00', '11:00:00+00:00',
               10, 'Offline', 18, 99, 60, 1000, 'RUB', 'Cash', $7, $7)""",
            [
                (
                    e,
                    uuid.uuid4(),
                    uuid.uuid4(),
                    start,
                    start + timedelta(hours=1),
                    uuid.uuid4(),
                    now,
                )
                for e in events
            ],
        )
        order = uuid.uuid4()
        await conn.execute(
            "INSERT INTO booking_order (id, user_id, payment_type, payment_status, created_at)"
            " VALUES ($1, $2, 'Cash', 'Cash', $3)",
            order,
            uuid.uuid4(),
            now,
        )
        rows = [
            (
                uuid.uuid4(),
                order,
                events[i % len(events)],
                uuid.uuid4(),
                uuid.uuid4(),
                start,
                start + timedelta(hours=1),
                now,
            )
            for i in range(count)
        ]
        await conn.copy_records_to_table(
            "booking",
            records=[(*r, r[-1], "Accepted", 1000, "RUB", False) for r in rows],
            columns=[
                "id",
                "order_id",
                "event_id",
                "user_id",
                "coach_id",
                "start_at",
                "end_at",
                "created_at",
                "updated_at",
                "status",
                "price",
                "price_currency",
                "completed",
            ],
        )
        # Settle what the load left (autovacuum of the new rows, a checkpoint of its WAL)
        # before the timed run, so that the run pays only for itself.
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    name = f"leko_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.pg.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    dsn = url.replace("postgres://", "postgresql://", 1)
    try:
        env = {**os.environ, "LEKO_DATABASE_URL": url}
        subprocess.run(  # noqa: ASYNC221 - set-up before the timed part
            [sys.executable, "-m", "leko_bookings.cli", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        now = datetime.now(UTC).replace(microsecond=0)
        t0 = time.perf_counter()
        await load(dsn, args.bookings, now)
        # The loaded bookings' ranks stored, as an operator does after a bulk load (README
        # "Decisions": stored ranks), so that the timed run settles only what it changes.
        await _settle_ranks(url)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CHECKPOINT")  # what the settling wrote, as after the load
        finally:
            await conn.close()
        loaded = time.perf_counter() - t0

        log = logging.getLogger("leko_bookings.notifications")
        log.setLevel(logging.INFO)
        log.propagate = False
        devnull = open(os.devnull, "w")  # noqa: ASYNC230, SIM115 - set-up before the timed part
        log.addHandler(logging.StreamHandler(devnull))
        await Tortoise.init(config=tortoise_config(url + "?maxsize=10"))
        settings = Settings(database_url=url, jwt_secret="x" * 40)
        ctx = Context(Principal(uuid.uuid4(), frozenset({Role.scheduler})), now, settings)
        t0, cpu0 = time.perf_counter(), time.process_time()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()
            summary = await notify_bookings(ctx, LogChannel())
            profile.disable()
            pstats.Stats(profile).sort_stats(
                os.environ.get("BENCH_PROFILE_SORT", "cumulative")
            ).print_stats(35)
        else:
            summary = await notify_bookings(ctx, LogChannel())
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        await Tortoise.close_connections()
        print(
            json.dumps(
                {
                    "bookings": args.bookings,
                    "load_seconds": round(loaded, 2),
                    "notify_run_seconds": round(elapsed, 2),
                    "run_python_cpu_seconds": round(cpu, 2),
                    "summary": summary.__dict__
                    if hasattr(summary, "__dict__")
                    else {k: getattr(summary, k) for k in summary.__slots__},
                },
                indent=2,
            )
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
