"""Reading bookings and orders (SPEC_NOTES, "Reading"), with who may read what."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

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
    page_of,
    paginate,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.views import OrderView

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


async def get_booking(ctx: Context, booking_id: UUID) -> Booking:
    booking = await Booking.get_or_none(id=booking_id).select_related("event")
    return ensure_sees_booking(ctx, booking, booking_id)


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


async def list_bookings(ctx: Context, q: BookingFilter) -> Page[Booking]:
    """Bookings of a user and/or an event overlapping the window, by start then id.

    The user's listing is their calendar: bookings they dismissed are left out.
    """
    check_page_size(q.page, MAX_PAGE)
    start, end = check_window(q.start_at, q.end_at)
    await _check_booking_access(ctx, q)
    query = Booking.all().select_related("event")
    if q.user_id is not None:
        query = query.filter(user_id=q.user_id, dismissed_at__isnull=True)
    if q.event_id is not None:
        query = query.filter(event_id=q.event_id)
    if start is not None:
        query = query.filter(end_at__gt=start)
    if end is not None:
        query = query.filter(start_at__lt=end)
    rows = await paginate(query, q.page, "start_at", newest_first=False)
    return page_of(rows, q.page, "start_at")


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
        await paginate(query, q.page, "created_at", newest_first=True), q.page, "created_at"
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
    "OrderFilter",
    "bookings_of_orders",
    "get_booking",
    "list_bookings",
    "list_orders",
]
