"""The notification outbox: writing notifications (pending, or sent by the run delivering them),
claiming the pending ones, recording what became of them, and the scan of the bookings a
time-driven rule is due for.

When a booking is still due (`still_due`) is written once, for the scan and for the write's
re-check, on both dialects. Notification ids come computed by the caller (`resolvers/outbox.py`):
this module never derives one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, TypeVar
from uuid import UUID

from tortoise import connections

from leko_bookings.channels import Message
from leko_bookings.models import (
    BookingStatus,
    Notification,
    NotificationStatus,
    RecipientRole,
)
from leko_bookings.store.sql import MAX_PARAMETERS, Params, as_instant, as_uuid, insert
from leko_bookings.store.views import NIL

T = TypeVar("T")


def _postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


def concurrent_writes(wanted: int) -> int:
    """How many transactions may write the outbox at once: `wanted` on PostgreSQL (each on its
    own connection), one on SQLite (one writer at a time)."""
    return wanted if _postgres() else 1


class DueOn(StrEnum):
    """The instant of a booking a time-driven rule counts from (its column)."""

    start = "start_at"
    end = "end_at"


@dataclass(frozen=True, slots=True)
class DueBooking:
    """A booking a time-driven rule is due for: its parties, and what its message shows."""

    id: UUID
    event_id: UUID
    user_id: UUID
    coach_id: UUID
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True, slots=True)
class DueWindow:
    """The bookings a time-driven rule is due for: Accepted, `low < instant <= high`, and with
    `uncompleted` not marked completed."""

    on: DueOn
    low: datetime
    high: datetime
    uncompleted: bool

    def instant(self, booking: DueBooking) -> datetime:
        """The booking's instant the window is about (and the scan is ordered by)."""
        return booking.start_at if self.on is DueOn.start else booking.end_at


def still_due(window: DueWindow, p: Params, alias: str = "") -> str:
    """The SQL condition of a `booking` row (named `alias`) being due in the window."""
    b = f"{alias}." if alias else ""
    at = f"{b}{window.on.value}"
    due = (
        f"{b}status = '{BookingStatus.Accepted.value}'"
        f" AND {at} > {p(window.low)} AND {at} <= {p(window.high)}"
    )
    return f"{due} AND {b}completed = false" if window.uncompleted else due


# Columns in the order of `DueBooking`'s fields.
_DUE_SCAN = """
SELECT id, event_id, user_id, coach_id, start_at, end_at FROM booking
WHERE {still_due} AND ({at} > {after_at} OR ({at} = {after_at} AND id > {after_id}))
ORDER BY {at}, id
LIMIT {limit}
"""


async def due_bookings(window: DueWindow, after: DueBooking | None, limit: int) -> list[DueBooking]:
    """The next `limit` bookings due in the window, in (instant, id) order after the booking
    `after` (one indexed range scan, `booking (status, instant, id)`)."""
    p = Params()
    sql = _DUE_SCAN.format(
        still_due=still_due(window, p),
        at=window.on.value,
        after_at=p(window.instant(after) if after else window.low),
        after_id=p(after.id if after else NIL),
        limit=p(limit),
    )
    _, rows = await p.conn.execute_query(sql, p.values)
    if p.postgres:  # asyncpg decodes UUIDs and instants
        return [DueBooking(*row) for row in rows]
    return [
        DueBooking(as_uuid(i), as_uuid(e), as_uuid(u), as_uuid(c), as_instant(s), as_instant(t))
        for i, e, u, c, s, t in rows
    ]


class NewNotification(NamedTuple):
    """A notification to write: its id, about which booking, for whom, and until when it is
    worth sending (None: as long as its booking qualifies). A tuple: a batch of them goes to the
    driver as it is, row by row (SQLite) or column by column (PostgreSQL's arrays)."""

    id: UUID
    booking_id: UUID
    rule: str
    recipient_id: UUID
    recipient_role: RecipientRole
    valid_until: datetime | None


async def add_pending(notifications: Sequence[NewNotification], now: datetime) -> None:
    """Pending and due now (a notify run delivers them); ones already written are left alone."""
    rows = [
        Notification(
            id=n.id,
            booking_id=n.booking_id,
            rule=n.rule,
            recipient_id=n.recipient_id,
            recipient_role=n.recipient_role,
            status=NotificationStatus.Pending,
            attempts=0,
            next_attempt_at=now,
            valid_until=n.valid_until,
            created_at=now,
            sent_at=None,
        )
        for n in notifications
    ]
    await insert(rows, ignore_conflicts=True)


# The PostgreSQL types of the fields of `NewNotification`, in its order.
_PG_TYPES = ("uuid", "uuid", "text", "uuid", "text", "timestamptz")

# Starting with WITH, Tortoise's execute_query returns the RETURNING rows on both drivers.
_WRITE_SENT = """
WITH d ({columns}) AS ({rows})
INSERT INTO notification (id, booking_id, rule, recipient_id, recipient_role, status, attempts,
                          next_attempt_at, valid_until, created_at, sent_at)
SELECT d.id, d.booking_id, d.rule, d.recipient_id, d.recipient_role, '{sent}', 1, {now},
       d.valid_until, {now}, {now}
FROM d JOIN booking b ON b.id = d.booking_id
WHERE {still_due} AND d.recipient_id = CASE d.recipient_role
    WHEN '{athlete}' THEN b.user_id ELSE b.coach_id END
ORDER BY d.booking_id, d.recipient_role
ON CONFLICT DO NOTHING
RETURNING id
"""


def _table(p: Params, rows: Sequence[NewNotification]) -> str:
    """The notifications as the rows of a query: arrays on PostgreSQL (one plan whatever the
    count), a VALUES list on SQLite."""
    if p.postgres:
        columns = zip(*rows, strict=True)
        types = zip(columns, _PG_TYPES, strict=True)
        return f"SELECT * FROM unnest({', '.join(f'{p(list(c))}::{t}[]' for c, t in types)})"
    return "VALUES " + ", ".join(f"({', '.join(p(v) for v in row)})" for row in rows)


async def write_sent(
    window: DueWindow, notifications: Sequence[NewNotification], now: datetime
) -> set[UUID]:
    """Write due notifications as sent now by the caller's transaction (attempt 1 counted), for
    bookings still due in the window and recipients still their parties; return the ids written.

    One already written is skipped (the unique key): a concurrent transaction writing the same
    rows waits for this one, then skips them, so each is delivered by one run. Rows are written
    in (booking, role) order, the same in every run."""
    written: set[UUID] = set()
    # PostgreSQL: one statement (arrays); SQLite: as many rows as its parameters allow.
    size = len(notifications) if _postgres() else MAX_PARAMETERS // len(_PG_TYPES) - 1
    for chunk in _chunks(notifications, size):
        p = Params()
        sql = _WRITE_SENT.format(
            columns=", ".join(NewNotification._fields),
            rows=_table(p, chunk),
            sent=NotificationStatus.Sent.value,
            now=p(now),
            still_due=still_due(window, p, "b"),
            athlete=RecipientRole.Athlete.value,
        )
        _, rows = await p.conn.execute_query(sql, p.values)
        written.update(as_uuid(row[0]) for row in rows)
    return written


@dataclass(frozen=True, slots=True)
class Claimed:
    """A pending notification claimed for delivery, and until when it is worth sending."""

    message: Message
    valid_until: datetime | None


_CLAIM = """
SELECT n.id, n.booking_id, n.rule, n.recipient_id, n.recipient_role, n.attempts + 1 AS attempts,
       n.valid_until, n.created_at, b.event_id, b.start_at, b.end_at, b.status AS booking_status
FROM notification n JOIN booking b ON b.id = n.booking_id
WHERE n.status = '{pending}' AND n.next_attempt_at <= {now}
ORDER BY n.next_attempt_at
LIMIT {limit}{lock}
"""


async def claim(now: datetime, limit: int) -> list[Claimed]:
    """Inside the caller's transaction: lock up to `limit` pending notifications due by `now`,
    with their bookings, each as its next attempt's message. Rows another transaction holds are
    skipped (PostgreSQL); SQLite has one writer at a time."""
    p = Params()
    sql = _CLAIM.format(
        pending=NotificationStatus.Pending.value,
        now=p(now),
        limit=p(limit),
        lock=" FOR UPDATE OF n SKIP LOCKED" if p.postgres else "",
    )
    return [
        Claimed(
            Message(
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
            ),
            None if row["valid_until"] is None else as_instant(row["valid_until"]),
        )
        for row in await p.fetch(sql)
    ]


async def set_status(
    ids: Sequence[UUID],
    status: NotificationStatus,
    *,
    sent_at: datetime | None,
    count_attempt: bool,
    next_attempt_at: datetime | None = None,
    last_error: str | None = None,
) -> None:
    """Set the status and `sent_at` of many notifications, and when given their next attempt and
    last error; count an attempt unless the rows were written with it counted."""
    for chunk in _chunks(ids, MAX_PARAMETERS - 8):
        p = Params()
        assignments = [f"status = {p(status.value)}", f"sent_at = {p(sent_at)}"]
        if next_attempt_at is not None:
            assignments.append(f"next_attempt_at = {p(next_attempt_at)}")
        if last_error is not None:
            assignments.append(f"last_error = {p(last_error)}")
        if count_attempt:
            assignments.append("attempts = attempts + 1")
        where = f"id {p.any_of(list(chunk), 'uuid')}"
        await p.conn.execute_query(
            f"UPDATE notification SET {', '.join(assignments)} WHERE {where}", p.values
        )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]
