"""Reading bookings and orders (SPEC_NOTES, "Reading"), with who may read what."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.models import Model
from tortoise.queryset import QuerySet

from leko_bookings.errors import forbidden, validation
from leko_bookings.models import Booking, Event, Order
from leko_bookings.resolvers.access import (
    acts_for,
    ensure_acts_for,
    ensure_sees_booking,
    sees_event,
)
from leko_bookings.resolvers.common import (
    Page,
    PageRequest,
    check_page_size,
    check_window,
    decode_cursor,
    page_bounds,
    page_of,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.views import OrderView
from leko_bookings.store.sql import Compiled, Row, paginate_after

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class BookingFilter:
    user_id: UUID | None = None
    event_id: UUID | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: UUID
    start_at: datetime | None = None
    end_at: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)


def _booking_query(booking_id: UUID) -> QuerySet[Booking]:
    """One booking with its event (the id is the primary key: at most one row)."""
    return Booking.filter(id=booking_id).select_related("event").limit(1)


_BOOKING_BY_ID = Compiled(_booking_query)


async def _check_booking_access(ctx: Context, q: BookingFilter) -> None:
    if q.user_id is None and q.event_id is None:
        raise validation("Give userId or eventId (or both).")
    if q.user_id is not None and acts_for(ctx, q.user_id):
        return
    if q.event_id is not None:
        event = await Event.get_or_none(id=q.event_id)
        if sees_event(ctx, event):
            return
        if q.user_id is None:
            raise forbidden("Only the event's coach (or an operator) can list its bookings.")
    raise forbidden("You can only list your own bookings.")


@dataclass(frozen=True, slots=True)
class BookingRow:
    """A booking and its event as plain columns (no model objects: a list's fast path).

    Keys are the tables' column names; values are what PostgreSQL's driver returns (UUID,
    aware datetime, bool, str for enums), decoded to the same types on SQLite."""

    booking: Row
    event: Row

    @property
    def id(self) -> UUID:
        return self.booking["id"]

    @property
    def start_at(self) -> datetime:
        return self.booking["start_at"]


@cache  # once the models are initialised (their foreign key columns exist only from then)
def _decoders(model: type[Model]) -> dict[str, Any]:
    meta = model._meta
    return {
        meta.fields_db_projection[name]: meta.fields_map[name].to_python_value
        for name in meta.fields_db_projection
    }


def _booking_rows(rows: list[Row]) -> list[BookingRow]:
    """The rows of a booking query with `select_related("event")`, each split in two."""
    if not rows:
        return []
    own = [k for k in rows[0] if "." not in k]
    related = [(k, k.rsplit(".", 1)[1]) for k in rows[0] if "." in k]
    if connections.get("default").capabilities.dialect == "postgres":
        return [BookingRow({k: r[k] for k in own}, {c: r[k] for k, c in related}) for r in rows]
    b, e = _decoders(Booking), _decoders(Event)  # SQLite: stored text and integers
    return [
        BookingRow({k: b[k](r[k]) for k in own}, {c: e[c](r[k]) for k, c in related}) for r in rows
    ]


async def get_booking_row(ctx: Context, booking_id: UUID) -> BookingRow:
    """One booking with its event, as columns, if the caller may see it (404 otherwise)."""
    rows = _booking_rows(await _BOOKING_BY_ID.rows(booking_id))
    ensure_sees_booking(ctx, _booking_of(rows[0]) if rows else None, booking_id)
    return rows[0]


def _booking_of(row: BookingRow) -> Booking:
    """The model of a row (for rules written over models), without its event."""
    return Booking._init_from_db(**row.booking)


def columns(instance: Model) -> Row:
    """A model's values by column, as a row holds them."""
    meta = instance._meta
    return {column: getattr(instance, name) for name, column in meta.fields_db_projection.items()}


def row_of(booking: Booking) -> BookingRow:
    """A booking model (its event loaded) as the columns a row holds."""
    return BookingRow(columns(booking), columns(booking.event))


def _bookings_query(
    user_id: UUID | None,
    event_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    after_moment: datetime | None,
    after_id: UUID | None,
    limit: int | None,
) -> QuerySet[Booking]:
    """Bookings of a user and/or an event overlapping [start, end), by start then id, after a
    cursor's (start, id), at most `limit`; None leaves a condition out.

    The user's listing is their calendar: bookings they dismissed are left out.
    """
    query = Booking.all().select_related("event")
    if user_id is not None:
        query = query.filter(user_id=user_id, dismissed_at__isnull=True)
    if event_id is not None:
        query = query.filter(event_id=event_id)
    if start is not None:
        query = query.filter(end_at__gt=start)
    if end is not None:
        query = query.filter(start_at__lt=end)
    return paginate_after(query, "start_at", False, after_moment, after_id, limit)


_BOOKINGS = Compiled(_bookings_query, UUID, UUID, datetime, datetime, datetime, UUID, int)


async def _booking_list(ctx: Context, q: BookingFilter) -> list[Row]:
    """The rows of a listing (see `_bookings_query`), once the caller may see them."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    await _check_booking_access(ctx, q)
    moment, row_id = decode_cursor(q.page.after) if q.page.after else (None, None)
    limit = None if q.page.first is None else q.page.first + 1
    return await _BOOKINGS.rows(q.user_id, q.event_id, start, end, moment, row_id, limit)


async def list_booking_rows(ctx: Context, q: BookingFilter) -> Page[BookingRow]:
    """Bookings of a user and/or an event overlapping the window (see `_bookings_query`), as
    columns (no model objects: the lists' fast path)."""
    return page_of(_booking_rows(await _booking_list(ctx, q)), q.page, "start_at")


async def list_orders(ctx: Context, q: OrderFilter) -> Page[OrderView]:
    """A user's orders created in [startAt, endAt), newest first, each with its bookings."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    ensure_acts_for(ctx, q.user_id, "list orders")
    query = Order.filter(user_id=q.user_id)
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lt=end)
    page = page_of(
        await paginate_after(query, "created_at", True, *page_bounds(q.page)), q.page, "created_at"
    )
    bookings = await bookings_of_orders([o.id for o in page.items])
    views = [OrderView(o, bookings.get(o.id, [])) for o in page.items]
    return Page(views, page.has_next_page, page.end_cursor, page.cursors)


async def bookings_of_orders(order_ids: list[UUID]) -> dict[UUID, list[Booking]]:
    """The bookings of many orders at once, each with its event (one query)."""
    grouped: dict[UUID, list[Booking]] = defaultdict(list)
    if not order_ids:
        return grouped
    rows = (
        await Booking.filter(order_id__in=order_ids)
        .select_related("event")
        .order_by("start_at", "id")
    )
    for booking in rows:
        grouped[UUID(str(booking.order_id))].append(booking)
    return grouped


__all__ = [
    "BookingFilter",
    "BookingRow",
    "OrderFilter",
    "bookings_of_orders",
    "get_booking_row",
    "list_booking_rows",
    "list_orders",
    "row_of",
]
