"""Reading bookings and orders (SPEC_NOTES, "Reading"), with who may read what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from leko_bookings.errors import forbidden, validation
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
    page_bounds,
    page_of,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.resolvers.views import order_view
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store import orders as order_rows
from leko_bookings.store.views import BookingView, OrderView

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


async def _check_booking_access(ctx: Context, q: BookingFilter) -> None:
    if q.user_id is None and q.event_id is None:
        raise validation("Give userId or eventId (or both).")
    if q.user_id is not None and acts_for(ctx, q.user_id):
        return
    if q.event_id is not None:
        if sees_event(ctx, await event_rows.get(q.event_id)):
            return
        if q.user_id is None:
            raise forbidden("Only the event's coach (or an operator) can list its bookings.")
    raise forbidden("You can only list your own bookings.")


async def get_booking(ctx: Context, booking_id: UUID) -> BookingView:
    """One booking with its event, if the caller may see it (404 otherwise)."""
    view = await booking_rows.booking_by_id(booking_id, SEAT_HOLDING)
    return ensure_sees_booking(ctx, view, booking_id)


async def list_bookings(ctx: Context, q: BookingFilter, ranked: bool = True) -> Page[BookingView]:
    """Bookings of a user and/or an event overlapping [startAt, endAt), by start then id; the
    user's own list is their calendar (what they dismissed is left out). `ranked=False` when the
    reader does not show serviceCardinality (it is then None)."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    await _check_booking_access(ctx, q)
    views = await booking_rows.list_bookings(
        q.user_id, q.event_id, start, end, page_bounds(q.page), SEAT_HOLDING if ranked else None
    )
    return page_of(views, q.page, lambda v: (v.start_at, v.booking_id))


async def list_orders(ctx: Context, q: OrderFilter) -> Page[OrderView]:
    """A user's orders created in [startAt, endAt), newest first, each with its bookings."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    ensure_acts_for(ctx, q.user_id, "list orders")
    orders = await order_rows.list_orders(q.user_id, start, end, page_bounds(q.page))
    page = page_of(orders, q.page, lambda o: (o.created_at, o.order_id))
    bookings = await booking_rows.bookings_of_orders([o.order_id for o in page.items], SEAT_HOLDING)
    views = [order_view(o, bookings.get(o.order_id, [])) for o in page.items]
    return Page(views, page.has_next_page, page.end_cursor)
