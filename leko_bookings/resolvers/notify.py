"""The notify run (SPEC_NOTES, "Notifications"), called by cron; safe to overlap with itself.

1. Pending bookings still pending at their event's start are canceled by the system.
2. Pending notifications (event-driven ones, retries) are claimed in batches (`FOR UPDATE SKIP
   LOCKED`, so two runs never take the same row), delivered, and their outcome recorded in the
   same transaction: sent; or retried later with exponential backoff, then failed and visible;
   or expired when their moment has passed.
3. Time-driven notifications due now are written, delivered and recorded in one transaction per
   batch of bookings; a run writing the same rows at once waits and then skips them (unique key).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise import BaseDBAsyncClient, connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leko_bookings.auth import Role
from leko_bookings.channels import Channel, Message
from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    HistoryAction,
    Notification,
    NotificationStatus,
)
from leko_bookings.resolvers.access import require_roles
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import SYSTEM, entry, record
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.outbox import (
    TIME_DRIVEN,
    Due,
    active_rules,
    due_batch,
    enqueue,
    message,
    write_due,
)
from leko_bookings.resolvers.state_machine import Party, check_move
from leko_bookings.store.sql import as_instant, as_uuid


@dataclass(slots=True)
class NotifySummary:
    expired_bookings: int = 0
    queued: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0


async def expire_pending_bookings(ctx: Context, batch: int) -> int:
    """Cancel (by the system) bookings still Pending at their start; tell their athletes."""
    total = 0
    while True:
        async with in_transaction():
            due = (
                await Booking.filter(status=BookingStatus.Pending, start_at__lte=ctx.now)
                .order_by("id")
                .limit(batch)
                .select_for_update(skip_locked=True, of=("booking",))
                .select_related("event")
            )
            for booking in due:
                check_move(
                    booking.status, BookingStatus.Canceled, Party.system, booking.event, ctx.now
                )
            if not due:
                return total
            await Booking.filter(id__in=[b.id for b in due]).update(
                status=BookingStatus.Canceled,
                canceled_at=ctx.now,
                canceled_by_role=CanceledByRole.System,
                updated_at=ctx.now,
            )
            await record(
                [
                    entry(
                        b,
                        ctx,
                        SYSTEM,
                        HistoryAction.Canceled,
                        source=b.status,
                        target=BookingStatus.Canceled,
                    )
                    for b in due
                ]
            )
            await enqueue(ctx, Trigger.pending_expired, due)
        total += len(due)
        if len(due) < batch:
            return total


_CLAIM = """
SELECT n.id, n.booking_id, n.rule, n.recipient_id, n.recipient_role, n.attempts + 1 AS attempts,
       n.valid_until, n.created_at, b.event_id, b.start_at, b.end_at, b.status AS booking_status
FROM notification n JOIN booking b ON b.id = n.booking_id
WHERE n.status = 'Pending' AND n.next_attempt_at <= {now}
ORDER BY n.next_attempt_at
LIMIT {limit} {lock}
"""


async def claim(
    ctx: Context, conn: BaseDBAsyncClient, batch: int
) -> tuple[list[Message], list[UUID]]:
    """Inside the run's transaction: lock up to `batch` due notifications with their bookings;
    return the ones to deliver and the ids of those whose moment has passed. Rows another run
    holds are skipped (PostgreSQL); SQLite has one writer at a time."""
    if conn.capabilities.dialect == "postgres":
        sql = _CLAIM.format(now="$1", limit="$2", lock="FOR UPDATE OF n SKIP LOCKED")
    else:
        sql = _CLAIM.format(now="?", limit="?", lock="")
    live: list[Message] = []
    expired: list[UUID] = []
    for row in await conn.execute_query_dict(sql, [ctx.now, batch]):
        until = row["valid_until"]
        if until is not None and ctx.now >= as_instant(until):
            expired.append(as_uuid(row["id"]))
        else:
            live.append(message(row))
    return live, expired


async def _update(
    conn: BaseDBAsyncClient, ids: list[UUID], count_attempt: bool, **values: Any
) -> None:
    """Set columns of many notifications, and count an attempt unless the row was written with
    it counted (PostgreSQL: one array parameter rather than an IN list of thousands)."""
    if conn.capabilities.dialect != "postgres":
        counted = {"attempts": F("attempts") + 1} if count_attempt else {}
        await Notification.filter(id__in=ids).update(**counted, **values)
        return
    assignments = [f"{column} = ${i}" for i, column in enumerate(values, start=2)]
    if count_attempt:
        assignments.append("attempts = attempts + 1")
    params = [v.value if isinstance(v, NotificationStatus) else v for v in values.values()]
    sql = f"UPDATE notification SET {', '.join(assignments)} WHERE id = ANY($1::uuid[])"
    await conn.execute_query(sql, [ids, *params])


async def _deliver(
    ctx: Context,
    conn: BaseDBAsyncClient,
    channel: Channel,
    live: list[Message],
    expired: list[UUID],
    summary: NotifySummary,
    *,
    written_sent: bool = False,
) -> None:
    """Deliver a batch and record each outcome: sent; expired (its moment has passed); or failed,
    to be retried with exponential backoff, then failed for good and visible.

    Claimed rows are pending; rows this transaction wrote (`written_sent`) already say sent, with
    this attempt counted, so only the ones not delivered change."""
    now, settings = ctx.now, ctx.settings
    counted = not written_sent
    failures = await channel.deliver(live) if live else {}
    sent = [m.id for m in live if m.id not in failures]
    if sent and not written_sent:
        await _update(conn, sent, counted, status=NotificationStatus.Sent, sent_at=now)
    if expired:
        await _update(conn, expired, counted, status=NotificationStatus.Expired, sent_at=None)
    retry: dict[tuple[int, str], list[UUID]] = defaultdict(list)
    for m in live:
        if m.id in failures:
            retry[m.attempt, failures[m.id]].append(m.id)
    for (attempts, error), ids in retry.items():
        if attempts >= settings.notification_max_attempts:
            status, next_at = NotificationStatus.Failed, now
            summary.failed += len(ids)
        else:
            backoff = settings.notification_backoff_seconds * 2 ** (attempts - 1)
            status, next_at = NotificationStatus.Pending, now + timedelta(seconds=backoff)
            summary.retried += len(ids)
        await _update(
            conn,
            ids,
            counted,
            status=status,
            sent_at=None,
            next_attempt_at=next_at,
            last_error=error,
        )
    summary.sent += len(sent)
    summary.expired += len(expired)


async def deliver_due(ctx: Context, channel: Channel, summary: NotifySummary) -> None:
    """Time-driven notifications: each batch of due bookings is one transaction that writes the
    notifications no run has written yet, delivers them and records the failures.

    On PostgreSQL up to `notify_parallel_batches` batches run at once on their own connections
    (disjoint bookings), so the database writes one while this process delivers another."""
    conn = connections.get("default")
    parallel = (
        ctx.settings.notify_parallel_batches if conn.capabilities.dialect == "postgres" else 1
    )
    slots = asyncio.Semaphore(parallel)
    batch = ctx.settings.notify_batch_size

    async def one(due: Due, bookings: list[Sequence[Any]]) -> None:
        try:
            async with in_transaction() as tx:
                written = await write_due(ctx, tx, due, bookings)
                summary.queued += len(written)
                summary.claimed += len(written)
                await _deliver(ctx, tx, channel, written, [], summary, written_sent=True)
        finally:
            slots.release()

    async with asyncio.TaskGroup() as group:
        for rule in active_rules(ctx, *TIME_DRIVEN):
            due = Due.of(rule, ctx.now)
            bookings = await due_batch(conn, due, None, batch)
            while bookings:
                await slots.acquire()
                group.create_task(one(due, bookings))
                last = (bookings[-1][0], bookings[-1][1])
                bookings = await due_batch(conn, due, last, batch) if len(bookings) == batch else []


async def notify_bookings(ctx: Context, channel: Channel) -> NotifySummary:
    """One run: expire pending bookings, deliver what is claimable, then what is due now."""
    require_roles(ctx, Role.scheduler, Role.admin)
    batch = ctx.settings.notify_batch_size
    summary = NotifySummary()
    summary.expired_bookings = await expire_pending_bookings(ctx, batch)
    # Until nothing is claimable: a short batch only means other runs hold some rows. Each batch
    # is one transaction: claim, deliver, record; a run that dies rolls back and its rows are
    # claimable again (delivered at least once; the stable id lets receivers deduplicate).
    while True:
        async with in_transaction() as conn:
            live, expired = await claim(ctx, conn, batch)
            if not live and not expired:
                break
            summary.claimed += len(live) + len(expired)
            await _deliver(ctx, conn, channel, live, expired, summary)
    await deliver_due(ctx, channel, summary)
    return summary
