"""Bookings: the reads behind every booking the transports show (by id, the calendar list, an
order's bookings), their serviceCardinality ranks, and the booking rows a rule locks and changes.

The SQL of the month list is `_bookings_query` here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from uuid import UUID

from tortoise.queryset import QuerySet

from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Event,
)
from leko_bookings.store.events import event_view, event_view_of_row
from leko_bookings.store.orders import OrderRecord, record_of
from leko_bookings.store.sql import (
    Compiled,
    Params,
    Row,
    column_values,
    decoded_rows,
    enum_of,
    insert,
    paginate_after,
)
from leko_bookings.store.views import BookingView, EventView

Holding = Sequence[BookingStatus]
"""The statuses that hold a seat (a rule: `resolvers/seats.py`); None where no rank is wanted."""

_STATUS = enum_of(BookingStatus)
_CANCELED_BY = enum_of(CanceledByRole)
_REASON = enum_of(CancellationReasonCode)


def _view(b: Row, event: EventView, rank: int | None) -> BookingView:
    """A booking's columns (as the driver returns them, decoded) as its read model."""
    canceled_by, reason = b["canceled_by_role"], b["cancellation_reason_code"]
    return BookingView(
        booking_id=b["id"],
        order_id=b["order_id"],
        user_id=b["user_id"],
        coach_id=b["coach_id"],
        event_id=b["event_id"],
        start_at=b["start_at"],
        end_at=b["end_at"],
        booking_status=_STATUS[b["status"]],
        completed=b["completed"],
        note=b["note"],
        canceled_at=b["canceled_at"],
        canceled_by_role=None if canceled_by is None else _CANCELED_BY[canceled_by],
        cancellation_reason_code=None if reason is None else _REASON[reason],
        cancellation_reason_text=b["cancellation_reason_text"],
        dismissed_at=b["dismissed_at"],
        dispute_reason=b["dispute_reason"],
        dispute_resolution=b["dispute_resolution"],
        event=event,
        service_cardinality=rank,
    )


async def views_of(
    pairs: Sequence[tuple[Booking, Event]], holding: Holding | None
) -> list[BookingView]:
    """Booking models with their events (rows a rule just wrote) as read models, ranked (one
    statement for them all) unless `holding` is None."""
    rows = [column_values(b) for b, _ in pairs]
    ranks = await _ranks(rows, holding) if holding is not None else {}
    return [
        _view(row, event_view(event), ranks.get(row["id"]))
        for row, (_, event) in zip(rows, pairs, strict=True)
    ]


async def split_views(rows: list[Row], holding: Holding | None) -> list[BookingView]:
    """Rows of a booking query with `select_related("event")` as read models (ranked unless
    `holding` is None)."""
    pairs = decoded_rows(rows, Booking, Event)
    ranks = await _ranks([b for b, _ in pairs], holding) if holding is not None else {}
    return [_view(b, event_view_of_row(e), ranks.get(b["id"])) for b, e in pairs]


async def _ranks(bookings: list[Row], holding: Holding) -> dict[UUID, int]:
    """1-based rank of each seat-holding booking among its athlete's seat-holding bookings with
    the same coach, by start (then id). One statement for the batch, ranked by the database:
    only the bookings asked for come back, and bookings starting after the last of them (which
    cannot precede any) are not read."""
    held = [b for b in bookings if _STATUS[b["status"]] in holding]
    if not held:
        return {}
    p = Params()
    users = p.any_of(list({b["user_id"] for b in held}), "uuid")
    coaches = p.any_of(list({b["coach_id"] for b in held}), "uuid")
    statuses = p.any_of([s.value for s in holding], "text")
    last = p(max(b["start_at"] for b in held))
    wanted = p.any_of([b["id"] for b in held], "uuid")
    rows = await p.fetch(
        'SELECT "id", "n" FROM (SELECT "id", ROW_NUMBER() OVER '
        '(PARTITION BY "user_id", "coach_id" ORDER BY "start_at", "id") "n" FROM "booking" '
        f'WHERE "user_id" {users} AND "coach_id" {coaches} AND "status" {statuses} '
        f'AND "start_at" <= {last}) ranked WHERE "id" {wanted}'
    )
    return {row["id"] if isinstance(row["id"], UUID) else UUID(row["id"]): row["n"] for row in rows}


def _booking_query(booking_id: UUID) -> QuerySet[Booking]:
    """One booking with its event (the id is the primary key: at most one row)."""
    return Booking.filter(id=booking_id).select_related("event").limit(1)


_BOOKING_BY_ID = Compiled(_booking_query)


async def booking_by_id(booking_id: UUID) -> BookingView | None:
    """One booking with its event, not ranked (see `ranked`)."""
    views = await split_views(await _BOOKING_BY_ID.rows(booking_id), None)
    return views[0] if views else None


async def ranked(views: list[BookingView], holding: Holding) -> list[BookingView]:
    """These bookings with their serviceCardinality (one statement)."""
    rows = [
        {"id": v.booking_id, "user_id": v.user_id, "coach_id": v.coach_id}
        | {"status": v.booking_status, "start_at": v.start_at}
        for v in views
    ]
    ranks = await _ranks(rows, holding)
    return [replace(v, service_cardinality=ranks.get(v.booking_id)) for v in views]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which bookings a list holds: a user's and/or an event's and/or a coach's, overlapping
    [start, end); None leaves a condition out."""

    user_id: UUID | None = None
    event_id: UUID | None = None
    coach_id: UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


def _selected(
    user_id: UUID | None,
    event_id: UUID | None,
    coach_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
) -> QuerySet[Booking]:
    """The bookings of a `Selection`. The user's listing is their calendar: bookings they
    dismissed are left out."""
    query = Booking.all()
    if user_id is not None:
        query = query.filter(user_id=user_id, dismissed_at__isnull=True)
    if event_id is not None:
        query = query.filter(event_id=event_id)
    if coach_id is not None:
        query = query.filter(coach_id=coach_id)
    if start is not None:
        query = query.filter(end_at__gt=start)
    if end is not None:
        query = query.filter(start_at__lt=end)
    return query


def _bookings_query(
    user_id: UUID | None,
    event_id: UUID | None,
    coach_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    after_moment: datetime | None,
    after_id: UUID | None,
    limit: int | None,
    backward: bool = False,
) -> QuerySet[Booking]:
    """The month list: a selection's bookings with their events, by start then id, after a
    cursor's (start, id), at most `limit`; `backward`: before the cursor, latest first (see
    `paginate_after`)."""
    query = _selected(user_id, event_id, coach_id, start, end).select_related("event")
    return paginate_after(query, "start_at", False, after_moment, after_id, limit, backward)


_KINDS = (UUID, UUID, UUID, datetime, datetime, datetime, UUID, int)
_BOOKINGS = {
    backward: Compiled(partial(_bookings_query, backward=backward), *_KINDS)
    for backward in (False, True)
}


async def list_bookings(
    selection: Selection,
    page: tuple[datetime | None, UUID | None, int | None, bool],
    holding: Holding | None,
) -> list[BookingView]:
    """A page of a selection (see `_bookings_query`); `page` is its (moment, id, limit,
    backward); ranked unless `holding` is None."""
    moment, row_id, limit, backward = page
    s = selection
    values = (s.user_id, s.event_id, s.coach_id, s.start, s.end, moment, row_id, limit)
    return await split_views(await _BOOKINGS[backward].rows(*values), holding)


async def count_bookings(selection: Selection) -> int:
    s = selection
    return await _selected(s.user_id, s.event_id, s.coach_id, s.start, s.end).count()


async def bookings_of_orders(
    order_ids: list[UUID], holding: Holding
) -> dict[UUID, list[BookingView]]:
    """The bookings of many orders at once, each with its event, by start (one query, and one
    for the ranks of them all)."""
    grouped: dict[UUID, list[BookingView]] = defaultdict(list)
    if not order_ids:
        return grouped
    query = Booking.filter(order_id__in=order_ids).select_related("event")
    bookings = await query.order_by("start_at", "id")
    for view in await views_of([(b, b.event) for b in bookings], holding):
        grouped[view.order_id].append(view)
    return grouped


async def get_booking(booking_id: UUID) -> Booking | None:
    """A booking row, not locked (who may act on it is decided before any lock)."""
    return await Booking.get_or_none(id=booking_id)


async def lock_booking(booking_id: UUID) -> Booking:
    """Inside a transaction: the booking row, locked (PostgreSQL; SQLite has one writer)."""
    return await Booking.filter(id=booking_id).select_for_update().get()


async def lock_booking_with_event(booking_id: UUID) -> Booking | None:
    """Inside a transaction: the booking row locked (not its outer-joined event), event loaded."""
    return (
        await Booking.filter(id=booking_id)
        .select_for_update(of=("booking",))
        .select_related("event")
        .first()
    )


async def save(booking: Booking, *fields: str) -> None:
    """Write a changed booking (the named fields, or all)."""
    await booking.save(update_fields=list(fields) or None)


async def lock_live_ahead(event_id: UUID, statuses: Sequence[BookingStatus]) -> list[Booking]:
    """Inside a transaction holding the event row: its bookings in `statuses`, locked in id
    order."""
    return list(
        await Booking.filter(event_id=event_id, status__in=list(statuses))
        .order_by("id")
        .select_for_update()
    )


async def lock_started_pending(now: datetime, batch: int) -> list[Booking]:
    """Up to `batch` Pending bookings whose start has come, locked (rows another run holds are
    skipped), each with its event."""
    return list(
        await Booking.filter(status=BookingStatus.Pending, start_at__lte=now)
        .order_by("id")
        .limit(batch)
        .select_for_update(skip_locked=True, of=("booking",))
        .select_related("event")
    )


async def set_canceled(
    bookings: Sequence[Booking], now: datetime, canceled_by: CanceledByRole
) -> None:
    """Mark these (locked) bookings Canceled at `now`, by `canceled_by`."""
    await Booking.filter(id__in=[b.id for b in bookings]).update(
        status=BookingStatus.Canceled,
        canceled_at=now,
        canceled_by_role=canceled_by,
        updated_at=now,
    )


async def follow_event(
    event_id: UUID, start: datetime, end: datetime, coach_id: UUID, now: datetime
) -> None:
    """A moved event moves its bookings (they show the event's current times and coach)."""
    await Booking.filter(event_id=event_id).update(
        start_at=start, end_at=end, coach_id=coach_id, updated_at=now
    )


async def create(bookings: Sequence[Booking]) -> None:
    """New bookings, in one multi-row INSERT."""
    await insert(bookings)


async def bookings_by_id(booking_ids: list[UUID], holding: Holding) -> list[BookingView]:
    """These bookings (those that exist) with their events, ranked (two statements)."""
    if not booking_ids:
        return []
    bookings = await Booking.filter(id__in=booking_ids).select_related("event")
    return await views_of([(b, b.event) for b in bookings], holding)


async def orders_with_bookings(
    order_ids: list[UUID], holding: Holding | None
) -> list[tuple[OrderRecord, list[BookingView]]]:
    """These orders, each with all its bookings and their events, by start: one statement (an
    order always holds a booking), and one for the ranks unless `holding` is None."""
    if not order_ids:
        return []
    query = Booking.filter(order_id__in=order_ids).select_related("event", "order")
    bookings = await query.order_by("start_at", "id")
    views = await views_of([(b, b.event) for b in bookings], holding)
    grouped: dict[UUID, tuple[OrderRecord, list[BookingView]]] = {}
    for booking, view in zip(bookings, views, strict=True):
        grouped.setdefault(view.order_id, (record_of(booking.order), []))[1].append(view)
    return list(grouped.values())
