"""The notify run (SPEC_NOTES, "Notifications"), called by cron; safe to overlap with itself.

1. Pending bookings still pending at their event's start are canceled by the system.
2. Time-driven notifications due now are queued (a unique key makes repeats no-ops).
3. Pending notifications are claimed in batches (`FOR UPDATE SKIP LOCKED`, so two runs never
   take the same row), delivered, and their outcome recorded in the same transaction: sent; or
   retried later with exponential backoff, then failed and visible; or expired when their
   moment has passed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise import BaseDBAsyncClient
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
from leko_bookings.resolvers.outbox import enqueue, enqueue_due
from leko_bookings.resolvers.state_machine import Party, check_move


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


async def claim(ctx: Context, conn: BaseDBAsyncClient, batch: int) -> list[dict[str, Any]]:
    """Inside the run's transaction: lock up to `batch` due notifications with their bookings.
    Rows another run holds are skipped (PostgreSQL); SQLite has one writer at a time."""
    if conn.capabilities.dialect == "postgres":
        sql = _CLAIM.format(now="$1", limit="$2", lock="FOR UPDATE OF n SKIP LOCKED")
    else:
        sql = _CLAIM.format(now="?", limit="?", lock="")
    return await conn.execute_query_dict(sql, [ctx.now, batch])


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _message(row: dict[str, Any]) -> Message:
    return Message(
        id=_uuid(row["id"]),
        rule=row["rule"],
        booking_id=_uuid(row["booking_id"]),
        recipient_id=_uuid(row["recipient_id"]),
        recipient_role=str(row["recipient_role"]),
        attempt=int(row["attempts"]),
        created_at=_instant(row["created_at"]),
        booking={
            "eventId": str(row["event_id"]),
            "startAt": _instant(row["start_at"]).isoformat(),
            "endAt": _instant(row["end_at"]).isoformat(),
            "bookingStatus": str(row["booking_status"]),
        },
    )


async def _update(conn: BaseDBAsyncClient, ids: list[UUID], **values: Any) -> None:
    """Count an attempt and set columns of many notifications (PostgreSQL: one array
    parameter rather than an IN list of thousands)."""
    if conn.capabilities.dialect != "postgres":
        await Notification.filter(id__in=ids).update(attempts=F("attempts") + 1, **values)
        return
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    params = [v.value if isinstance(v, NotificationStatus) else v for v in values.values()]
    sql = (
        f"UPDATE notification SET attempts = attempts + 1, {assignments} WHERE id = ANY($1::uuid[])"
    )
    await conn.execute_query(sql, [ids, *params])


async def _deliver(
    ctx: Context,
    conn: BaseDBAsyncClient,
    channel: Channel,
    rows: list[dict[str, Any]],
    summary: NotifySummary,
) -> None:
    """Deliver a claimed batch and record each outcome: sent; expired (its moment has passed);
    or failed, to be retried with exponential backoff, then failed for good and visible."""
    now, settings = ctx.now, ctx.settings
    expired = [
        r for r in rows if r["valid_until"] is not None and now >= _instant(r["valid_until"])
    ]
    live = [
        _message(r) for r in rows if r["valid_until"] is None or now < _instant(r["valid_until"])
    ]
    failures = await channel.deliver(live) if live else {}
    sent = [m.id for m in live if m.id not in failures]
    if sent:
        await _update(conn, sent, status=NotificationStatus.Sent, sent_at=now, last_error=None)
    if expired:
        await _update(conn, [_uuid(r["id"]) for r in expired], status=NotificationStatus.Expired)
    retry: dict[tuple[int, str], list[UUID]] = defaultdict(list)
    for message in live:
        if message.id in failures:
            retry[message.attempt, failures[message.id]].append(message.id)
    for (attempts, error), ids in retry.items():
        if attempts >= settings.notification_max_attempts:
            await _update(conn, ids, status=NotificationStatus.Failed, last_error=error)
            summary.failed += len(ids)
        else:
            backoff = timedelta(seconds=settings.notification_backoff_seconds * 2 ** (attempts - 1))
            await _update(conn, ids, next_attempt_at=now + backoff, last_error=error)
            summary.retried += len(ids)
    summary.sent += len(sent)
    summary.expired += len(expired)


async def notify_bookings(ctx: Context, channel: Channel) -> NotifySummary:
    """One run: expire pending bookings, queue what is due, deliver what is claimable."""
    require_roles(ctx, Role.scheduler, Role.admin)
    batch = ctx.settings.notify_batch_size
    summary = NotifySummary()
    summary.expired_bookings = await expire_pending_bookings(ctx, batch)
    summary.queued = await enqueue_due(ctx)
    # Until nothing is claimable: a short batch only means other runs hold some rows. Each batch
    # is one transaction: claim, deliver, record; a run that dies rolls back and its rows are
    # claimable again (delivered at least once; the stable id lets receivers deduplicate).
    while True:
        async with in_transaction() as conn:
            rows = await claim(ctx, conn, batch)
            if not rows:
                return summary
            summary.claimed += len(rows)
            await _deliver(ctx, conn, channel, rows, summary)
