"""Writing the notification outbox: one row per (booking, rule, recipient), unique.

A notification's id is a name-based UUID (v3) of its (booking, rule, recipient): the same
notification always has the same id, whoever writes it and however often it is retried, so
receivers can deduplicate on it and a second write of it is a no-op (unique key).

Event-driven rules are written by the transaction that changed the booking, pending, and a notify
run delivers them. Time-driven ones are written by the notify run that finds them due, in the
transaction that delivers them (see `due_batch` and `write_due`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid3

from tortoise import BaseDBAsyncClient

from leko_bookings.channels import Message
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
NAMESPACE = UUID("5d2c1a0e-7f3b-4c56-9a1e-0b8f4e6d2c71")  # of notification ids; never change it


def notification_id(booking_id: UUID, rule: str, recipient_id: UUID) -> UUID:
    """The id of the notification of `rule` about a booking for one recipient."""
    return uuid3(NAMESPACE, f"{booking_id}:{rule}:{recipient_id}")


# The same function in SQL (PostgreSQL): RFC 9562 UUIDv3, MD5 over namespace bytes + name.
_PG_NOTIFICATION_ID = """encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 48),
    8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid"""


def active_rules(ctx: Context, *triggers: Trigger) -> list[Rule]:
    rules = load_rules(ctx.settings.notification_rules_file)
    return [r for r in rules if r.enabled and r.trigger in triggers]


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def message(row: Mapping[str, Any]) -> Message:
    """A notification row joined with its booking (see `notify.claim`), as channels take it."""
    return Message(
        id=as_uuid(row["id"]),
        rule=row["rule"],
        booking_id=as_uuid(row["booking_id"]),
        recipient_id=as_uuid(row["recipient_id"]),
        recipient_role=str(row["recipient_role"]),
        attempt=int(row["attempts"]),
        created_at=instant(row["created_at"]),
        event_id=as_uuid(row["event_id"]),
        start_at=instant(row["start_at"]),
        end_at=instant(row["end_at"]),
        booking_status=str(row["booking_status"]),
    )


def _row(
    booking_id: UUID,
    rule: Rule,
    recipient_id: UUID,
    role: RecipientRole,
    now: datetime,
    valid_until: datetime | None,
    *,
    sent: bool = False,
) -> Notification:
    """One outbox row: pending and due now, or (`sent`) being delivered by this transaction."""
    return Notification(
        id=notification_id(booking_id, rule.name, recipient_id),
        booking_id=booking_id,
        rule=rule.name,
        recipient_id=recipient_id,
        recipient_role=role,
        status=NotificationStatus.Sent if sent else NotificationStatus.Pending,
        attempts=1 if sent else 0,
        next_attempt_at=now,
        valid_until=valid_until,
        created_at=now,
        sent_at=now if sent else None,
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


_COLUMNS = {
    Recipient.athlete: [("user_id", RecipientRole.Athlete)],
    Recipient.coach: [("coach_id", RecipientRole.Coach)],
    Recipient.other_party: [("user_id", RecipientRole.Athlete), ("coach_id", RecipientRole.Coach)],
}


@dataclass(frozen=True, slots=True)
class Due:
    """The bookings a time-driven rule is due for at `now`: `low < column <= high`."""

    rule: Rule
    column: str  # start_at or end_at
    low: datetime
    high: datetime
    recipients: tuple[tuple[str, RecipientRole], ...]  # booking column holding each recipient

    @classmethod
    def of(cls, rule: Rule, now: datetime) -> Due:
        """Due from `due_at` until `due_at + window`; reminders never from the start on."""
        offset = timedelta(minutes=rule.minutes)
        window = timedelta(minutes=rule.window_minutes or 60 * 24 * 365)
        recipients = tuple(dict.fromkeys(c for r in rule.recipients for c in _COLUMNS[r]))
        if rule.trigger is Trigger.before_start:
            # start - offset <= now < start - offset + window, and now < start
            low, high = max(now, now + offset - window), now + offset
            return cls(rule, "start_at", low, high, recipients)
        # end + offset <= now < end + offset + window
        return cls(rule, "end_at", now - offset - window, now - offset, recipients)

    def bookings(self) -> Any:
        query = Booking.filter(
            status=BookingStatus.Accepted,
            **{f"{self.column}__gt": self.low, f"{self.column}__lte": self.high},
        )
        return query.filter(completed=False) if self.rule.trigger is Trigger.after_end else query

    def valid_until(self, start: datetime, end: datetime) -> datetime | None:
        """Past it, the notification is no longer worth sending (a reminder: at the start)."""
        if self.rule.trigger is Trigger.before_start:
            due = start - timedelta(minutes=self.rule.minutes)
            return min(self.rule.valid_until(due) or start, start)
        return self.rule.valid_until(end + timedelta(minutes=self.rule.minutes))


Key = tuple[Any, Any]
"""A due booking's (time, id), as the database returns them: the cursor of `due_batch`."""

_DUE_BATCH = """
SELECT {column}, id FROM booking
WHERE status = 'Accepted' AND {column} > {p1} AND {column} <= {p2} {extra}
  AND ({column} > {p3} OR ({column} = {p3} AND id > {p4}))
ORDER BY {column}, id
LIMIT {p5}
"""


async def due_batch(conn: BaseDBAsyncClient, due: Due, after: Key | None, limit: int) -> list[Key]:
    """The next `limit` due bookings in (time, id) order after `after`, as keys (one indexed
    range scan, `booking (status, time, id)`; the values are not converted: only passed back)."""
    postgres = conn.capabilities.dialect == "postgres"
    marks = [f"${i}" if postgres else f"?{i}" for i in range(1, 6)]
    sql = _DUE_BATCH.format(
        column=due.column,
        extra="AND completed = false" if due.rule.trigger is Trigger.after_end else "",
        **{f"p{i}": mark for i, mark in enumerate(marks, start=1)},
    )
    at, booking_id = after or (due.low, NIL if postgres else str(NIL))
    _, rows = await conn.execute_query(sql, [due.low, due.high, at, booking_id, limit])
    return [(row[0], row[1]) for row in rows]


_PG_WRITE_DUE = """
WITH written AS (
    INSERT INTO notification (id, booking_id, rule, recipient_id, recipient_role, status,
                              attempts, next_attempt_at, valid_until, created_at, sent_at)
    SELECT {id}, b.id, $2::text, r.who, r.role, 'Sent', 1, $3, {until}, $3, $3
    FROM booking b
    CROSS JOIN LATERAL (VALUES {recipients}) AS r(who, role)
    CROSS JOIN LATERAL (SELECT decode(md5($5::bytea || convert_to(
        b.id::text || ':' || $2::text || ':' || r.who::text, 'UTF8')), 'hex') AS h) AS name
    WHERE b.id = ANY($1::uuid[]) AND b.status = 'Accepted'
      AND b.{column} > $6 AND b.{column} <= $7 {extra} AND r.who <> $4
    ORDER BY b.id, r.role
    ON CONFLICT DO NOTHING
    RETURNING id, booking_id, recipient_id, recipient_role
)
SELECT w.id, w.booking_id, w.recipient_id, w.recipient_role, b.event_id, b.start_at, b.end_at
FROM written w JOIN booking b ON b.id = w.booking_id
"""


async def write_due(
    ctx: Context, conn: BaseDBAsyncClient, due: Due, booking_ids: list[Any]
) -> list[Message]:
    """Inside the delivering transaction: write the due notifications of these bookings that no
    run has written yet, as sent by this run (a failed delivery is then recorded as a retry),
    and return them to deliver (first attempt, now; the bookings are Accepted).

    A concurrent run writing the same rows waits for this transaction and then skips them (the
    unique key), so each is delivered by one run."""
    rule, now = due.rule, ctx.now

    def sent(row: Sequence[Any]) -> Message:
        id_, booking_id, recipient_id, role, event_id, start_at, end_at = row
        return Message(
            id=id_,
            rule=rule.name,
            booking_id=booking_id,
            recipient_id=recipient_id,
            recipient_role=str(role),
            attempt=1,
            created_at=now,
            event_id=event_id,
            start_at=start_at,
            end_at=end_at,
            booking_status=BookingStatus.Accepted.value,
        )

    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(_pg_write_due(due), _pg_params(ctx, due, booking_ids))
        return [sent(cast(Sequence[Any], row)) for row in rows]  # asyncpg records
    candidates = await due.bookings().filter(id__in=booking_ids).order_by("id")
    wanted = [
        (b, getattr(b, column), role)
        for b in candidates
        for column, role in due.recipients
        if getattr(b, column) != NIL
    ]
    ids = [notification_id(b.id, rule.name, who) for b, who, _ in wanted]
    taken = set(await Notification.filter(id__in=ids).values_list("id", flat=True))
    new = [
        (i, b, who, role) for i, (b, who, role) in zip(ids, wanted, strict=True) if i not in taken
    ]
    await Notification.bulk_create(
        [
            _row(b.id, rule, who, role, now, due.valid_until(b.start_at, b.end_at), sent=True)
            for _, b, who, role in new
        ]
    )
    return [
        sent((i, b.id, who, role.value, b.event_id, b.start_at, b.end_at))
        for i, b, who, role in new
    ]


def _pg_write_due(due: Due) -> str:
    rule = due.rule
    if rule.trigger is Trigger.before_start:
        shift = (rule.window_minutes or 0) - rule.minutes if rule.window_minutes else 0
        until = f"LEAST(b.start_at + ({shift} * interval '1 minute'), b.start_at)"
        extra = ""
    else:
        until = (
            f"b.end_at + ({rule.minutes + rule.window_minutes} * interval '1 minute')"
            if rule.window_minutes
            else "NULL::timestamptz"
        )
        extra = "AND b.completed = false"
    recipients = ", ".join(f"(b.{column}, '{role.value}')" for column, role in due.recipients)
    return _PG_WRITE_DUE.format(
        id=_PG_NOTIFICATION_ID, until=until, extra=extra, column=due.column, recipients=recipients
    )


def _pg_params(ctx: Context, due: Due, booking_ids: list[Any]) -> list[Any]:
    return [booking_ids, due.rule.name, ctx.now, NIL, NAMESPACE.bytes, due.low, due.high]
