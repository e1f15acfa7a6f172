"""Reading bookings and orders (SPEC_NOTES, "Reading"), with who may read what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from uuid import UUID

from leko_bookings.auth import Role
from leko_bookings.errors import NotFound, forbidden, validation
from leko_bookings.resolvers.access import (
    acts_for,
    ensure_acts_for,
    ensure_sees_booking,
    sees_booking,
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
    coach_id: UUID | None = None  # the coach's agenda: bookings on their events


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: UUID
    start_at: datetime | None = None
    end_at: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)


async def _check_booking_access(ctx: Context, q: BookingFilter) -> None:
    if q.user_id is None and q.event_id is None and q.coach_id is None:
        raise validation("Give userId, eventId or coachId (or several).")
    if q.coach_id is not None:
        if not (acts_for(ctx, q.coach_id) or ctx.principal.has(Role.scheduler)):
            raise forbidden(
                "Only the coach (or an operator) can list the bookings of their events."
            )
        return  # only that coach's bookings: any other filter narrows them
    if q.user_id is not None and acts_for(ctx, q.user_id):
        return
    if q.event_id is not None:
        if sees_event(ctx, await event_rows.get(q.event_id)):
            return
        if q.user_id is None:
            raise forbidden("Only the event's coach (or an operator) can list its bookings.")
    raise forbidden("You can only list your own bookings.")


async def get_booking(ctx: Context, booking_id: UUID, ranked: bool = True) -> BookingView:
    """One booking with its event, if the caller may see it (404 otherwise); its rank is read
    once it may (`ranked=False`: not at all, the reader does not show it)."""
    view = ensure_sees_booking(ctx, await booking_rows.booking_by_id(booking_id), booking_id)
    return (await booking_rows.ranked([view], SEAT_HOLDING))[0] if ranked else view


async def list_bookings(ctx: Context, q: BookingFilter, ranked: bool = True) -> Page[BookingView]:
    """Bookings of a user and/or an event overlapping [startAt, endAt), by start then id; the
    user's own list is their calendar (what they dismissed is left out). `ranked=False` when the
    reader does not show serviceCardinality (it is then None)."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    await _check_booking_access(ctx, q)
    selection = booking_rows.Selection(q.user_id, q.event_id, q.coach_id, start, end)
    holding = SEAT_HOLDING if ranked else None
    views = await booking_rows.list_bookings(selection, page_bounds(q.page), holding)
    page = page_of(views, q.page, lambda v: (v.start_at, v.booking_id))
    page.count = partial(booking_rows.count_bookings, selection)
    return page


async def list_orders(ctx: Context, q: OrderFilter) -> Page[OrderView]:
    """A user's orders created in [startAt, endAt), newest first, each with its bookings."""
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    ensure_acts_for(ctx, q.user_id, "list orders")
    orders = await order_rows.list_orders(q.user_id, start, end, page_bounds(q.page))
    page = page_of(orders, q.page, lambda o: (o.created_at, o.order_id))
    bookings = await booking_rows.bookings_of_orders([o.order_id for o in page.items], SEAT_HOLDING)
    views = [order_view(o, bookings.get(o.order_id, [])) for o in page.items]
    return Page(
        views,
        page.has_next_page,
        page.has_previous_page,
        page.start_cursor,
        page.end_cursor,
        lambda v: (v.created_at, v.order_id),
        partial(order_rows.count_orders, q.user_id, start, end),
    )


async def get_order(ctx: Context, order_id: UUID) -> OrderView:
    """One order with its bookings, if it is the caller's (or the caller operates); 404 else."""
    found = await orders_by_id(ctx, [order_id])
    if not found or not acts_for_order(ctx, found[0].user_id):
        raise NotFound(f"Order {order_id} was not found.")
    return found[0]


def acts_for_order(ctx: Context, user_id: UUID) -> bool:
    return acts_for(ctx, user_id) or ctx.principal.has(Role.scheduler)


async def orders_by_id(ctx: Context, order_ids: list[UUID], ranked: bool = True) -> list[OrderView]:
    """These orders, each with the bookings of it the caller may see (a coach reaching an order
    through one of their bookings sees that booking, not the athlete's others; the status is the
    whole order's). The caller must have been shown a booking of each (Booking.order) or own it
    (`get_order`). `ranked=False`: no serviceCardinality (the reader does not show it)."""
    holding = SEAT_HOLDING if ranked else None
    return [
        order_view(order, bookings, [b for b in bookings if sees_booking(ctx, b)])
        for order, bookings in await booking_rows.orders_with_bookings(order_ids, holding)
    ]


async def bookings_by_id(ctx: Context, booking_ids: list[UUID]) -> list[BookingView]:
    """Those of these bookings the caller may see (others are left out, as if erased)."""
    views = await booking_rows.bookings_by_id(booking_ids, SEAT_HOLDING)
    return [v for v in views if sees_booking(ctx, v)]
