"""Writing the notification outbox: one row per (booking, rule, recipient), unique.

Event-driven rules are written by the transaction that changed the booking; time-driven ones
by the notify run that finds them due. A unique key makes a second write of the same
notification a no-op, whichever process tries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from tortoise import BaseDBAsyncClient, connections
from tortoise.expressions import Subquery

from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    Notification,
    NotificationStatus,
    RecipientRole,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.notification_rules import (
    Recipient,
    Rule,
    Trigger,
    load_rules,
    recipients_of,
)

NIL = UUID(int=0)
TIME_DRIVEN = (Trigger.before_start, Trigger.after_end)


def active_rules(ctx: Context, *triggers: Trigger) -> list[Rule]:
    rules = load_rules(ctx.settings.notification_rules_file)
    return [r for r in rules if r.enabled and r.trigger in triggers]


def _row(
    booking_id: UUID,
    rule: Rule,
    recipient_id: UUID,
    role: RecipientRole,
    now: datetime,
    valid_until: datetime | None,
) -> Notification:
    """One pending outbox row, due now."""
    return Notification(
        id=uuid4(),
        booking_id=booking_id,
        rule=rule.name,
        recipient_id=recipient_id,
        recipient_role=role,
        status=NotificationStatus.Pending,
        attempts=0,
        next_attempt_at=now,
        valid_until=valid_until,
        created_at=now,
    )


async def enqueue(
    ctx: Context,
    trigger: Trigger,
    bookings: list[Booking],
    canceled_by: CanceledByRole | None = None,
) -> int:
    """Inside the transaction that changed the bookings: queue what an event-driven rule says."""
    rules = active_rules(ctx, trigger)
    by_athlete = (
        None
        if canceled_by in (None, CanceledByRole.System)
        else canceled_by is CanceledByRole.Athlete
    )
    rows = [
        _row(booking.id, rule, user_id, role, ctx.now, rule.valid_until(ctx.now))
        for rule in rules
        for booking in bookings
        for user_id, role in recipients_of(rule, booking, by_athlete)
        if user_id != NIL
    ]
    if rows:
        await Notification.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _window(rule: Rule, now: datetime) -> tuple[str, datetime, datetime]:
    """The bookings a time rule is due for now: (column, lowest, highest] of their start/end.

    Due from `due_at` until `due_at + window` (and, for reminders, never from the start on).
    """
    offset = timedelta(minutes=rule.minutes)
    window = timedelta(minutes=rule.window_minutes or 60 * 24 * 365)
    if rule.trigger is Trigger.before_start:
        # start - offset <= now < start - offset + window, and now < start
        return "start_at", now + offset - window, now + offset
    # end + offset <= now < end + offset + window
    return "end_at", now - offset - window, now - offset


def _valid_until(rule: Rule, booking_start: datetime, booking_end: datetime) -> datetime | None:
    if rule.trigger is Trigger.before_start:
        due = booking_start - timedelta(minutes=rule.minutes)
        until = rule.valid_until(due) or booking_start
        return min(until, booking_start)
    return rule.valid_until(booking_end + timedelta(minutes=rule.minutes))


_PG_INSERT = """
WITH inserted AS (
INSERT INTO notification (id, booking_id, rule, recipient_id, recipient_role, status, attempts,
                          next_attempt_at, valid_until, created_at)
SELECT gen_random_uuid(), b.id, $1, b.{who}, $2, 'Pending', 0, $3, {until}, $3
FROM booking b
WHERE b.status = 'Accepted' AND b.{column} > $4 AND b.{column} <= $5 AND b.{who} <> $6 {extra}
ON CONFLICT (booking_id, rule, recipient_id) DO NOTHING
RETURNING 1
)
SELECT count(*) AS n FROM inserted
"""


async def enqueue_due(ctx: Context) -> int:
    """Queue every time-driven notification due now (set-based; repeats are no-ops)."""
    conn = connections.get("default")
    total = 0
    for rule in active_rules(ctx, *TIME_DRIVEN):
        column, low, high = _window(rule, ctx.now)
        if rule.trigger is Trigger.before_start:
            high = min(high, ctx.now + timedelta(minutes=rule.minutes))
            low = max(low, ctx.now)  # never from the start on
        for recipient_id, role in _recipient_columns(rule):
            if conn.capabilities.dialect == "postgres":
                total += await _enqueue_pg(
                    conn, rule, column, low, high, recipient_id, role, ctx.now
                )
            else:
                total += await _enqueue_orm(rule, column, low, high, recipient_id, role, ctx.now)
    return total


_COLUMNS = {
    Recipient.athlete: [("user_id", RecipientRole.Athlete)],
    Recipient.coach: [("coach_id", RecipientRole.Coach)],
    Recipient.other_party: [("user_id", RecipientRole.Athlete), ("coach_id", RecipientRole.Coach)],
}


def _recipient_columns(rule: Rule) -> list[tuple[str, RecipientRole]]:
    """The booking column holding each recipient of a time-driven rule."""
    return list(dict.fromkeys(c for r in rule.recipients for c in _COLUMNS[r]))


async def _enqueue_pg(
    conn: BaseDBAsyncClient,
    rule: Rule,
    column: str,
    low: datetime,
    high: datetime,
    who: str,
    role: RecipientRole,
    now: datetime,
) -> int:
    if rule.trigger is Trigger.before_start:
        shift = (rule.window_minutes or 0) - rule.minutes
        until = (
            f"LEAST(b.start_at + ({shift} * interval '1 minute'), b.start_at)"
            if rule.window_minutes
            else "b.start_at"
        )
        extra = ""
    else:
        until = (
            f"b.end_at + ({rule.minutes + (rule.window_minutes or 0)} * interval '1 minute')"
            if rule.window_minutes
            else "NULL"
        )
        extra = "AND b.completed = false"
    sql = _PG_INSERT.format(who=who, column=column, until=until, extra=extra)
    _, rows = await conn.execute_query(sql, [rule.name, role.value, now, low, high, NIL])
    return int(rows[0]["n"])


async def _enqueue_orm(
    rule: Rule,
    column: str,
    low: datetime,
    high: datetime,
    who: str,
    role: RecipientRole,
    now: datetime,
) -> int:
    query = Booking.filter(
        status=BookingStatus.Accepted, **{f"{column}__gt": low, f"{column}__lte": high}
    )
    if rule.trigger is Trigger.after_end:
        query = query.filter(completed=False)
    queued = Notification.filter(rule=rule.name, recipient_role=role).values_list("booking_id")
    query = query.exclude(**{who: NIL}).exclude(id__in=Subquery(queued))
    candidates = await query.values_list("id", who, "start_at", "end_at")
    rows = [
        _row(booking_id, rule, recipient, role, now, _valid_until(rule, start, end))
        for booking_id, recipient, start, end in candidates
    ]
    if rows:
        await Notification.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)
