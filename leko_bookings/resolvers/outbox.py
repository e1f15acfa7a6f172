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
from leko_bookings.store.sql import as_instant, as_uuid, insert

NIL = UUID(int=0)
TIME_DRIVEN = (Trigger.before_start, Trigger.after_end)
NAMESPACE = UUID("5d2c1a0e-7f3b-4c56-9a1e-0b8f4e6d2c71")  # of notification ids; never change it


def notification_id(booking_id: UUID, rule: str, recipient_id: UUID) -> UUID:
    """The id of the notification of `rule` about a booking for one recipient."""
    return uuid3(NAMESPACE, f"{booking_id}:{rule}:{recipient_id}")


def active_rules(ctx: Context, *triggers: Trigger) -> list[Rule]:
    rules = load_rules(ctx.settings.notification_rules_file)
    return [r for r in rules if r.enabled and r.trigger in triggers]


def message(row: Mapping[str, Any]) -> Message:
    """A notification row joined with its booking (see `notify.claim`), as channels take it."""
    return Message(
        id=as_uuid(row["id"]),
        rule=row["rule"],
        booking_id=as_uuid(row["booking_id"]),
        recipient_id=as_uuid(row["recipient_id"]),
        recipient_role=str(row["recipient_role"]),
        attempt=int(row["attempts"]),
        created_at=as_instant(row["created_at"]),
        event_id=as_uuid(row["event_id"]),
        start_at=as_instant(row["start_at"]),
        end_at=as_instant(row["end_at"]),
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
    await insert(rows, ignore_conflicts=True)
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
    # How long after the booking's start (reminders) or end a notification stays worth sending;
    # None: as long as the booking qualifies.
    worth: timedelta | None

    @classmethod
    def of(cls, rule: Rule, now: datetime) -> Due:
        """Due from `due_at` until `due_at + window`; reminders never from the start on."""
        offset = timedelta(minutes=rule.minutes)
        window = timedelta(minutes=rule.window_minutes or 60 * 24 * 365)
        recipients = tuple(dict.fromkeys(c for r in rule.recipients for c in _COLUMNS[r]))
        if rule.trigger is Trigger.before_start:
            # start - offset <= now < start - offset + window, and now < start; valid until
            # due + window but never after the start
            low, high = max(now, now + offset - window), now + offset
            worth = min(window - offset, timedelta(0)) if rule.window_minutes else timedelta(0)
            return cls(rule, "start_at", low, high, recipients, worth)
        # end + offset <= now < end + offset + window; valid until end + offset + window
        worth_after = offset + window if rule.window_minutes else None
        return cls(rule, "end_at", now - offset - window, now - offset, recipients, worth_after)

    def bookings(self) -> Any:
        query = Booking.filter(
            status=BookingStatus.Accepted,
            **{f"{self.column}__gt": self.low, f"{self.column}__lte": self.high},
        )
        return query.filter(completed=False) if self.rule.trigger is Trigger.after_end else query

    def valid_until(self, start: datetime, end: datetime) -> datetime | None:
        """Past it, the notification is no longer worth sending (a reminder: at the start)."""
        if self.worth is None:
            return None
        return (start if self.column == "start_at" else end) + self.worth


Key = tuple[Any, Any]
"""A due booking's (time, id), as the database returns them: the cursor of `due_batch`."""

_DUE_BATCH = """
SELECT {column}, id, event_id, start_at, end_at FROM booking
WHERE status = 'Accepted' AND {column} > {p1} AND {column} <= {p2} {extra}
  AND ({column} > {p3} OR ({column} = {p3} AND id > {p4}))
ORDER BY {column}, id
LIMIT {p5}
"""


async def due_batch(
    conn: BaseDBAsyncClient, due: Due, after: Key | None, limit: int
) -> list[Sequence[Any]]:
    """The next `limit` due bookings in (time, id) order after the key `after` (one indexed range
    scan, `booking (status, time, id)`): rows of (time, id, event_id, start_at, end_at); a
    row's first two values are the key of the next call."""
    postgres = conn.capabilities.dialect == "postgres"
    marks = [f"${i}" if postgres else f"?{i}" for i in range(1, 6)]
    sql = _DUE_BATCH.format(
        column=due.column,
        extra="AND completed = false" if due.rule.trigger is Trigger.after_end else "",
        **{f"p{i}": mark for i, mark in enumerate(marks, start=1)},
    )
    at, booking_id = after or (due.low, NIL if postgres else str(NIL))
    _, rows = await conn.execute_query(sql, [due.low, due.high, at, booking_id, limit])
    return cast(list[Sequence[Any]], rows)  # asyncpg records / SQLite rows: both sequences


# RFC 9562 UUIDv3 of (namespace, name) in SQL: `notification_id`, computed by the database.
_PG_NOTIFICATION_ID = """encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 48),
    8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid"""

_PG_WRITE_DUE = """
WITH written AS (
    INSERT INTO notification (id, booking_id, rule, recipient_id, recipient_role, status,
                              attempts, next_attempt_at, valid_until, created_at, sent_at)
    SELECT {id}, b.id, $3::text, r.who, r.role, 'Sent', 1, $4, d.valid_until, $4, $4
    FROM unnest($1::uuid[], $2::timestamptz[]) AS d(booking_id, valid_until)
    JOIN booking b ON b.id = d.booking_id
    CROSS JOIN LATERAL (VALUES {recipients}) AS r(who, role)
    CROSS JOIN LATERAL (SELECT decode(md5($5::bytea || convert_to(
        b.id::text || ':' || $3::text || ':' || r.who::text, 'UTF8')), 'hex') AS h) AS name
    WHERE b.status = 'Accepted' AND b.{column} > $6 AND b.{column} <= $7 {extra}
      AND r.who <> $8
    ORDER BY b.id, r.role
    ON CONFLICT DO NOTHING
    RETURNING id, booking_id, recipient_id, recipient_role
)
SELECT * FROM written
"""


@dataclass(frozen=True, slots=True)
class _Booking:
    """A due booking of `due_batch`, typed, with how long its notification stays worth sending."""

    id: UUID
    event_id: UUID
    start_at: datetime
    end_at: datetime
    valid_until: datetime | None


async def write_due(
    ctx: Context, conn: BaseDBAsyncClient, due: Due, rows: list[Sequence[Any]]
) -> list[Message]:
    """Inside the delivering transaction: write the due notifications of these bookings (rows of
    `due_batch`) that no run has written yet, as sent by this run (a failed delivery is then
    recorded as a retry), and return them to deliver.

    The bookings are checked again in the transaction (still Accepted, still due). A concurrent
    run writing the same rows waits for this transaction and then skips them (the unique key),
    so each is delivered by one run."""
    bookings: dict[UUID, _Booking] = {}
    for row in rows:
        _, booking_id, event_id, start_at, end_at = row if isinstance(row[1], UUID) else _typed(row)
        until = due.valid_until(start_at, end_at)
        bookings[booking_id] = _Booking(booking_id, event_id, start_at, end_at, until)
    if conn.capabilities.dialect == "postgres":
        written = await _write_pg(ctx, conn, due, bookings)
    else:
        written = await _write_orm(ctx, due, bookings)
    rule, now = due.rule.name, ctx.now
    return [
        Message(
            id=notification_id_,
            rule=rule,
            booking_id=b.id,
            recipient_id=recipient_id,
            recipient_role=role,
            attempt=1,
            created_at=now,
            event_id=b.event_id,
            start_at=b.start_at,
            end_at=b.end_at,
            booking_status=BookingStatus.Accepted.value,
        )
        for notification_id_, booking_id, recipient_id, role in written
        for b in (bookings[booking_id],)
    ]


def _typed(row: Sequence[Any]) -> tuple[Any, ...]:
    """A SQLite row of `due_batch` (text) as PostgreSQL's (UUIDs, instants)."""
    at, booking_id, event_id, start_at, end_at = row
    return (at, as_uuid(booking_id), as_uuid(event_id), as_instant(start_at), as_instant(end_at))


Written = list[tuple[UUID, UUID, UUID, str]]
"""(notification id, booking id, recipient id, recipient role) of each row written."""


async def _write_pg(
    ctx: Context, conn: BaseDBAsyncClient, due: Due, bookings: dict[UUID, _Booking]
) -> Written:
    """One statement: the bookings go as arrays and are checked by the join; the database
    computes the ids (the same function as `notification_id`)."""
    sql = _PG_WRITE_DUE.format(
        id=_PG_NOTIFICATION_ID,
        column=due.column,
        extra="AND b.completed = false" if due.rule.trigger is Trigger.after_end else "",
        recipients=", ".join(f"(b.{column}, '{role.value}')" for column, role in due.recipients),
    )
    params = [
        list(bookings),
        [b.valid_until for b in bookings.values()],
        due.rule.name,
        ctx.now,
        NAMESPACE.bytes,
        due.low,
        due.high,
        NIL,
    ]
    # A SELECT over the INSERT: Tortoise's execute_query drops an INSERT's RETURNING rows.
    _, rows = await conn.execute_query(sql, params)
    return cast(Written, rows)  # asyncpg records


async def _write_orm(ctx: Context, due: Due, bookings: dict[UUID, _Booking]) -> Written:
    """SQLite (one writer at a time): the bookings still due, less the rows already written."""
    columns = [column for column, _ in due.recipients]
    still_due = await due.bookings().filter(id__in=list(bookings)).values_list("id", *columns)
    rule = due.rule
    wanted = [
        (notification_id(b.id, rule.name, who), b, who, role)
        for booking_id, *recipients in still_due
        for b in (bookings[booking_id],)
        for who, (_, role) in zip(recipients, due.recipients, strict=True)
        if who != NIL
    ]
    taken = set(
        await Notification.filter(id__in=[w[0] for w in wanted]).values_list("id", flat=True)
    )
    new = [w for w in wanted if w[0] not in taken]
    await Notification.bulk_create(
        [_row(b.id, rule, who, role, ctx.now, b.valid_until, sent=True) for _, b, who, role in new]
    )
    return [(i, b.id, who, role.value) for i, b, who, role in new]
