"""Queries: each calls a resolver and shapes its result."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings.errors import NotFound
from leko_bookings.resolvers import reading
from leko_bookings.resolvers.common import PageRequest
from leko_bookings.schema.context import Info
from leko_bookings.schema.types import (
    Booking,
    BookingConnection,
    BookingOrder,
    BookingOrderConnection,
    PageInfo,
    selects,
)

DEFAULT_PAGE = 50


@strawberry.type
class Query:
    @strawberry.field(
        description="One booking, if it is yours (as athlete or coach) or you operate."
    )
    async def booking(self, info: Info, booking_id: UUID) -> Booking | None:
        try:
            return Booking.of(await reading.get_booking(info.context.ctx, booking_id))
        except NotFound:
            return None

    @strawberry.field(
        description="Bookings of a user (their calendar) and/or of an event, by start."
    )
    async def bookings(
        self,
        info: Info,
        user_id: UUID | None = None,
        event_id: UUID | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> BookingConnection:
        query = reading.BookingFilter(
            user_id, event_id, start_at, end_at, PageRequest(first, after)
        )
        ranked = selects(info, "nodes", "serviceCardinality")
        page = await reading.list_bookings(info.context.ctx, query, ranked)
        return BookingConnection(
            nodes=[Booking.of(b) for b in page.items],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(description="A user's orders, newest first, filtered on creation time.")
    async def booking_orders(
        self,
        info: Info,
        user_id: UUID,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> BookingOrderConnection:
        query = reading.OrderFilter(user_id, start_at, end_at, PageRequest(first, after))
        page = await reading.list_orders(info.context.ctx, query)
        return BookingOrderConnection(
            nodes=[BookingOrder.of(o) for o in page.items],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )
