"""Webhook delivery for real (a loopback receiver), and notify runs overlapping on PostgreSQL
(connected directly, and through PgBouncer in transaction mode: issue 15)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import asyncpg
import pytest

from leko_bookings.channels import WebhookChannel
from leko_bookings.models import Notification, NotificationStatus
from leko_bookings.resolvers.outbox import notification_id
from tests.conftest import (
    NOW,
    PG_ADMIN_URL,
    SECRET,
    create_pg_database,
    drop_pg_database,
    migrate_with_cli,
    pg_url,
)
from tests.factories import book, create_event, gql
from tests.notify_runs import notify_process, seed_due_notifications
from tests.pgbouncer import pgbouncer, requires_pgbouncer
from tests.webhook_receiver import webhook_receiver

HOOK_SECRET = "hook-secret-" + "y" * 32
NOTIFY = "mutation { notifyBookings { ... on NotifySummary { claimed sent retried failed } } }"


async def run(client, users) -> dict:
    return (await gql(client, users.as_scheduler, NOTIFY))["data"]["notifyBookings"]


async def test_webhook_receives_signed_notifications_once(client, users, settings, app):
    with webhook_receiver(HOOK_SECRET) as (url, received):
        app.state.channel = WebhookChannel(url, HOOK_SECRET, timeout=2)
        event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=2))
        r = await book(client, users.as_athlete, users.athlete, event)
        summary = await run(client, users)
        assert summary["sent"] == 1
        await run(client, users)
        [body] = received.bodies
        assert received.bad_signatures == 0
        assert body["rule"] == "bookingCreated"
        assert body["bookingId"] == r.json()["bookings"][0]["bookingId"]
        assert body["recipientId"] == str(users.coach)
        assert body["recipientRole"] == "Coach"
        stored = await Notification.get(id=body["id"])
        assert stored.status == NotificationStatus.Sent
        await app.state.channel.aclose()


@pytest.mark.parametrize("failure", ["status", "timeout"])
async def test_failing_webhook_is_retried_with_backoff_then_failed(
    client, users, settings, clock, app, failure
):
    with webhook_receiver(HOOK_SECRET) as (url, received):
        if failure == "status":
            received.status = 503
        else:
            received.delay = 1.0
        app.state.channel = WebhookChannel(url, HOOK_SECRET, timeout=0.2)
        event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=9))
        await book(client, users.as_athlete, users.athlete, event)
        [row] = await Notification.all()
        waits = []
        for _ in range(settings.notification_max_attempts):
            summary = await run(client, users)
            assert summary["claimed"] == 1
            row = await Notification.get(id=row.id)
            waits.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at
        assert row.status == NotificationStatus.Failed
        assert row.last_error
        base = timedelta(seconds=settings.notification_backoff_seconds)
        assert waits[:-1] == [base * 2**i for i in range(settings.notification_max_attempts - 1)]
        # The same id every time: a receiver that did get it could deduplicate.
        assert len(set(received.ids())) <= 1
        await app.state.channel.aclose()


@pytest.mark.parametrize("via", ["direct", pytest.param("pgbouncer", marks=requires_pgbouncer)])
@pytest.mark.parametrize("reminders", [False, True], ids=["pending", "time-driven"])
async def test_four_overlapping_runs_deliver_each_notification_exactly_once(reminders, via):
    name = f"leko_notify_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    url = pg_url(name)
    dsn = url.split("?")[0].replace("postgres://", "postgresql://", 1)
    stack = contextlib.ExitStack()
    try:
        run_url = url.replace("maxsize=60", "maxsize=10")
        if via == "pgbouncer":  # transaction mode, fewer server connections than the runs' pools
            bouncer = stack.enter_context(pgbouncer("transaction"))
            url = run_url = bouncer.url(name, maxsize=10, statement_cache_size=0)
        migrate_with_cli(url)
        expected = await seed_due_notifications(dsn, 2000, reminders)
        with webhook_receiver(HOOK_SECRET) as (hook, received):
            env = {
                "LEKO_DATABASE_URL": run_url,
                "LEKO_JWT_SECRET": SECRET,
                "LEKO_NOTIFICATION_CHANNEL": "webhook",
                "LEKO_WEBHOOK_URL": hook,
                "LEKO_WEBHOOK_SECRET": HOOK_SECRET,
                "LEKO_NOTIFY_BATCH_SIZE": "100",
            }
            runs = [notify_process(env) for _ in range(4)]
            outputs = await asyncio.gather(
                *(asyncio.to_thread(p.communicate, timeout=120) for p in runs)
            )
            assert [p.returncode for p in runs] == [0, 0, 0, 0], outputs
            ids = received.ids()
        assert received.bad_signatures == 0
        assert len(ids) == 2000
        assert max(ids.values()) == 1  # no duplicate
        if reminders:  # ids are the stable name-based ones, whichever run wrote them
            assert set(ids) == {str(notification_id(*key)) for key in expected}
        conn = await asyncpg.connect(dsn)
        try:
            counts = dict(
                await conn.fetch("SELECT status, count(*) FROM notification GROUP BY status")
            )
        finally:
            await conn.close()
        assert counts == {"Sent": 2000}
        claimed = [int(out.split('"claimed": ')[1].split(",")[0]) for out, _ in outputs]
        assert sum(claimed) == 2000
    finally:
        stack.close()
        await drop_pg_database(name)


assert PG_ADMIN_URL  # the overlap test needs the PostgreSQL of the harness
