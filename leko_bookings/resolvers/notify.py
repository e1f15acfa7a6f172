"""The notify run (SPEC_NOTES, "Notifications"), called by cron; safe to overlap with itself.

1. Pending bookings still pending at their event's start are canceled by the system.
2. Pending notifications (event-driven ones, retries) are claimed in batches (locked, skipping
   rows another run holds: two runs never take the same row), delivered, and their outcome
   recorded in the same transaction: sent; or retried later with exponential backoff, then
   failed and visible; or expired when their moment has passed.
3. Time-driven notifications due now are written, delivered and recorded in one transaction per
   batch of bookings; a run writing the same rows at once waits and then skips them (unique key).
4. Orders' Idempotency-Keys past their expiry are deleted (resolvers/idempotency.py).
5. Waitlist entries of events that have started or are canceled are removed
   (resolvers/waitlists.py).
6. Rate buckets full again (untouched long enough to refill) are dropped: no bucket is a full
   one (resolvers/rate_limits.py).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings import metrics
from leko_bookings.auth import Role
from leko_bookings.channels import Channel, Message
from leko_bookings.models import CanceledByRole, NotificationStatus
from leko_bookings.resolvers import idempotency, ranks, rate_limits, waitlists
from leko_bookings.resolvers.access import require_roles
from leko_bookings.resolvers.cancellation import cancel_by_system
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import SYSTEM
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.outbox import TIME_DRIVEN, Due, active_rules, write_due
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import outbox
from leko_bookings.store.outbox import DueBooking


@dataclass(slots=True)
class NotifySummary:
    expired_bookings: int = 0
    queued: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    purged_idempotency_keys: int = 0
    purged_waitlist_entries: int = 0
    purged_rate_buckets: int = 0
    settled_rank_groups: int = 0
    busy_rank_groups: int = 0


async def expire_pending_bookings(ctx: Context, batch: int) -> int:
    """Cancel (by the system) bookings still Pending at their start; tell their athletes."""
    total = 0
    while True:
        async with in_transaction():
            due = await booking_rows.lock_started_pending(ctx.now, batch)
            await cancel_by_system(
                ctx,
                [(b, b.event) for b in due],
                SYSTEM,
                CanceledByRole.System,
                Trigger.pending_expired,
            )
        total += len(due)
        if len(due) < batch:
            return total


async def claim(ctx: Context, batch: int) -> tuple[list[Message], list[UUID]]:
    """Inside the run's transaction: lock up to `batch` due notifications with their bookings;
    return the ones to deliver and the ids of those whose moment has passed. Rows another run
    holds are skipped."""
    live: list[Message] = []
    expired: list[UUID] = []
    for claimed in await outbox.claim(ctx.now, batch):
        until = claimed.valid_until
        if until is not None and ctx.now >= until:
            expired.append(claimed.message.id)
        else:
            live.append(claimed.message)
    return live, expired


async def _deliver(
    ctx: Context,
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
        await outbox.set_status(sent, NotificationStatus.Sent, sent_at=now, count_attempt=counted)
    if expired:
        await outbox.set_status(
            expired, NotificationStatus.Expired, sent_at=None, count_attempt=counted
        )
    retry: dict[tuple[int, str], list[UUID]] = defaultdict(list)
    for m in live:
        if m.id in failures:
            retry[m.attempt, failures[m.id]].append(m.id)
    failed = retried = 0
    for (attempts, error), ids in retry.items():
        if attempts >= settings.notification_max_attempts:
            status, next_at = NotificationStatus.Failed, now
            failed += len(ids)
        else:
            backoff = settings.notification_backoff_seconds * 2 ** (attempts - 1)
            status, next_at = NotificationStatus.Pending, now + timedelta(seconds=backoff)
            retried += len(ids)
        await outbox.set_status(
            ids,
            status,
            sent_at=None,
            count_attempt=counted,
            next_attempt_at=next_at,
            last_error=error,
        )
    summary.sent += len(sent)
    summary.expired += len(expired)
    summary.failed += failed
    summary.retried += retried
    metrics.count_notifications(
        sent=len(sent), retried=retried, failed=failed, expired=len(expired)
    )


async def deliver_due(ctx: Context, channel: Channel, summary: NotifySummary) -> None:
    """Time-driven notifications: each batch of due bookings is one transaction that writes the
    notifications no run has written yet, delivers them and records the failures.

    Where the database allows (PostgreSQL) up to `notify_parallel_batches` batches run at once on
    their own connections (disjoint bookings), so the database writes one while this process
    delivers another."""
    slots = asyncio.Semaphore(outbox.concurrent_writes(ctx.settings.notify_parallel_batches))
    batch = ctx.settings.notify_batch_size

    async def one(due: Due, bookings: list[DueBooking]) -> None:
        try:
            async with in_transaction():
                written = await write_due(ctx, due, bookings)
                summary.queued += len(written)
                summary.claimed += len(written)
                await _deliver(ctx, channel, written, [], summary, written_sent=True)
        finally:
            slots.release()

    async with asyncio.TaskGroup() as group:
        for rule in active_rules(ctx, *TIME_DRIVEN):
            due = Due.of(rule, ctx.now)
            bookings = await outbox.due_bookings(due.window, None, batch)
            while bookings:
                await slots.acquire()
                group.create_task(one(due, bookings))
                last = bookings[-1]
                more = len(bookings) == batch
                bookings = await outbox.due_bookings(due.window, last, batch) if more else []


async def notify_bookings(ctx: Context, channel: Channel) -> NotifySummary:
    """One run: expire pending bookings, deliver what is claimable, then what is due now; purge
    expired Idempotency-Keys."""
    require_roles(ctx, Role.scheduler, Role.admin)
    batch = ctx.settings.notify_batch_size
    summary = NotifySummary()
    summary.expired_bookings = await expire_pending_bookings(ctx, batch)
    # Until nothing is claimable: a short batch only means other runs hold some rows. Each batch
    # is one transaction: claim, deliver, record; a run that dies rolls back and its rows are
    # claimable again (delivered at least once; the stable id lets receivers deduplicate).
    while True:
        async with in_transaction():
            live, expired = await claim(ctx, batch)
            if not live and not expired:
                break
            summary.claimed += len(live) + len(expired)
            await _deliver(ctx, channel, live, expired, summary)
    await deliver_due(ctx, channel, summary)
    summary.purged_idempotency_keys = await idempotency.purge_expired(ctx)
    summary.purged_waitlist_entries = await waitlists.purge(ctx)
    summary.purged_rate_buckets = await rate_limits.purge_full(ctx)
    settled = await ranks.settle(ctx)
    summary.settled_rank_groups, summary.busy_rank_groups = settled.groups, settled.busy
    return summary
