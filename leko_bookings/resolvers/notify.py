"""The notify run (SPEC_NOTES, "Notifications"), called by cron; safe to overlap with itself.

1. Pending bookings still pending at their event's start are canceled by the system.
2. Time-driven notifications due now are queued (a unique key makes repeats no-ops).
3. Pending notifications are claimed in batches (`FOR UPDATE SKIP LOCKED` and a lease, so two
   runs never take the same row), delivered, and their outcome recorded: sent; or retried later
   with exponential backoff, then failed and visible; or expired when their moment has passed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.transactions import in_transaction

from leko_bookings.auth import Role
from leko_bookings.channels import Channel, DeliveryFailed, Message
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
UPDATE notification SET claimed_until = {p1}, attempts = attempts + 1
WHERE id IN (
  SELECT id FROM notification
  WHERE status = 'Pending' AND next_attempt_at <= {p2}
    AND (claimed_until IS NULL OR claimed_until <= {p2})
  ORDER BY next_attempt_at, id
  LIMIT {p3} {lock}
)
RETURNING id, booking_id, rule, recipient_id, recipient_role, attempts, valid_until, created_at
"""


async def claim(ctx: Context, batch: int) -> list[dict[str, Any]]:
    """Take up to `batch` due notifications for this run: rows another run holds are skipped,
    and the lease keeps them from being taken again until it ends."""
    conn = connections.get("default")
    lease = ctx.now + timedelta(seconds=ctx.settings.notify_lease_seconds)
    if conn.capabilities.dialect == "postgres":
        sql = _CLAIM.format(p1="$1", p2="$2", p3="$3", lock="FOR UPDATE SKIP LOCKED")
        params: list[Any] = [lease, ctx.now, batch]
    else:  # one writer: the statement is atomic
        sql = _CLAIM.format(p1="?", p2="?", p3="?", lock="")
        params = [lease, ctx.now, ctx.now, batch]
    # execute_query would not fetch an UPDATE's RETURNING rows on asyncpg
    return await conn.execute_query_dict(sql, params)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def _messages(rows: list[dict[str, Any]]) -> list[Message]:
    booking_ids = {_uuid(r["booking_id"]) for r in rows}
    summaries = {
        _uuid(b["id"]): b
        for b in await Booking.filter(id__in=booking_ids).values(
            "id", "event_id", "start_at", "end_at", "status"
        )
    }

    def booking(booking_id: UUID) -> dict[str, Any]:
        b = summaries.get(booking_id)
        if b is None:
            return {}
        return {
            "eventId": str(b["event_id"]),
            "startAt": b["start_at"].isoformat(),
            "endAt": b["end_at"].isoformat(),
            "bookingStatus": str(b["status"]),
        }

    return [
        Message(
            id=_uuid(r["id"]),
            rule=r["rule"],
            booking_id=_uuid(r["booking_id"]),
            recipient_id=_uuid(r["recipient_id"]),
            recipient_role=str(r["recipient_role"]),
            attempt=int(r["attempts"]),
            created_at=_instant(r["created_at"]) or datetime.min,
            booking=booking(_uuid(r["booking_id"])),
        )
        for r in rows
    ]


@dataclass(slots=True)
class _Outcomes:
    sent: list[UUID] = field(default_factory=list)
    expired: list[UUID] = field(default_factory=list)
    failed: dict[UUID, tuple[int, str]] = field(default_factory=dict)


async def _deliver(ctx: Context, channel: Channel, rows: list[dict[str, Any]]) -> _Outcomes:
    outcomes = _Outcomes()
    live = []
    for row in rows:
        valid_until = _instant(row["valid_until"])
        if valid_until is not None and ctx.now >= valid_until:
            outcomes.expired.append(_uuid(row["id"]))
        else:
            live.append(row)
    limit = asyncio.Semaphore(ctx.settings.notify_concurrency)

    async def one(message: Message) -> None:
        async with limit:
            try:
                await channel.deliver(message)
            except DeliveryFailed as exc:
                outcomes.failed[message.id] = (message.attempt, str(exc)[:500])
            else:
                outcomes.sent.append(message.id)

    await asyncio.gather(*(one(m) for m in await _messages(live)))
    return outcomes


async def _record(ctx: Context, outcomes: _Outcomes, summary: NotifySummary) -> None:
    now, settings = ctx.now, ctx.settings
    if outcomes.sent:
        await Notification.filter(id__in=outcomes.sent).update(
            status=NotificationStatus.Sent, sent_at=now, claimed_until=None, last_error=None
        )
    if outcomes.expired:
        await Notification.filter(id__in=outcomes.expired).update(
            status=NotificationStatus.Expired, claimed_until=None
        )
    retry: dict[tuple[int, str], list[UUID]] = defaultdict(list)
    for notification_id, (attempts, error) in outcomes.failed.items():
        retry[attempts, error].append(notification_id)
    for (attempts, error), ids in retry.items():
        if attempts >= settings.notification_max_attempts:
            await Notification.filter(id__in=ids).update(
                status=NotificationStatus.Failed, claimed_until=None, last_error=error
            )
            summary.failed += len(ids)
        else:
            backoff = timedelta(seconds=settings.notification_backoff_seconds * 2 ** (attempts - 1))
            await Notification.filter(id__in=ids).update(
                next_attempt_at=now + backoff, claimed_until=None, last_error=error
            )
            summary.retried += len(ids)
    summary.sent += len(outcomes.sent)
    summary.expired += len(outcomes.expired)


async def notify_bookings(ctx: Context, channel: Channel) -> NotifySummary:
    """One run: expire pending bookings, queue what is due, deliver what is claimable."""
    require_roles(ctx, Role.scheduler, Role.admin)
    batch = ctx.settings.notify_batch_size
    summary = NotifySummary()
    summary.expired_bookings = await expire_pending_bookings(ctx, batch)
    summary.queued = await enqueue_due(ctx)
    # Until nothing is claimable: a short batch only means other runs hold some rows.
    while rows := await claim(ctx, batch):
        summary.claimed += len(rows)
        await _record(ctx, await _deliver(ctx, channel, rows), summary)
    return summary
