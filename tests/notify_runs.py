"""Overlapping `notify` runs: due notifications written straight into a database, and a run in a
process of its own (tests/test_notify_delivery.py, tests/test_hosts.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg


def notify_process(env: dict[str, str], prefix: Sequence[str] = ()) -> subprocess.Popen:
    """`leko-bookings notify` in a process of its own (run through `prefix`, such as
    `ip netns exec <host>`), its output captured."""
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "leko_bookings.cli", "notify"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def seed_due_notifications(dsn: str, count: int, reminders: bool) -> list[tuple]:
    """`count` due notifications: pending ones (as the order's transaction writes them) for
    bookings a month away; or, with `reminders`, bookings starting in 30 minutes whose two 1-hour
    reminders (athlete, coach) the runs find due and write themselves."""
    now = datetime.now(UTC)
    start = now + (timedelta(minutes=30) if reminders else timedelta(days=30))
    count = count // 2 if reminders else count
    conn = await asyncpg.connect(dsn)
    try:
        event_id, order_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            """INSERT INTO event (id, coach_id, sport_id, start_at, end_at, status, timeslot_id,
               slot_start_time, slot_end_time, capacity, slot_type, age_from, age_to, duration,
               price, price_currency, payment_method, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'Scheduled', $6, '10:00:00+00:00', '11:00:00+00:00',
               $7, 'Offline', 18, 99, 60, 1000, 'RUB', 'Cash', $8, $8)""",
            event_id,
            uuid.uuid4(),
            uuid.uuid4(),
            start,
            start + timedelta(hours=1),
            uuid.uuid4(),
            count,
            now,
        )
        await conn.execute(
            "INSERT INTO booking_order (id, user_id, payment_type, payment_status, created_at)"
            " VALUES ($1, $2, 'Cash', 'Cash', $3)",
            order_id,
            uuid.uuid4(),
            now,
        )
        bookings = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(count)]
        await conn.executemany(
            """INSERT INTO booking (id, order_id, event_id, user_id, coach_id, start_at, end_at,
               status, price, price_currency, completed, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'Accepted', 1000, 'RUB', false, $8, $8)""",
            [
                (b, order_id, event_id, u, c, start, start + timedelta(hours=1), now)
                for b, u, c in bookings
            ],
        )
        if reminders:
            return [(b, "reminder1h", who) for b, u, c in bookings for who in (u, c)]
        await conn.executemany(
            """INSERT INTO notification (id, booking_id, rule, recipient_id, recipient_role, status,
               attempts, next_attempt_at, created_at)
               VALUES ($1, $2, 'bookingCreated', $3, 'Athlete', 'Pending', 0, $4, $4)""",
            [(uuid.uuid4(), b, u, now - timedelta(minutes=1)) for b, u, _ in bookings],
        )
        return []
    finally:
        await conn.close()
