"""Queries: each calls a resolver and shapes its result."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings.errors import NotFound
from leko_bookings.resolvers import reading
from leko_bookings.resolvers.common import PageRequest
from leko_bookings.resolvers.views import OrderView
from leko_bookings.schema.context import GraphQLContext, Info
from leko_bookings.schema.types import (
    Booking,
    BookingConnection,
    BookingOrder,
    BookingOrderConnection,
    PageInfo,
    with_cardinalities,
)

DEFAULT_PAGE = 50


def order_of(view: OrderView, context: GraphQLContext) -> BookingOrder:
    return BookingOrder(
        order_id=view.order.id,
        user_id=view.order.user_id,
        status=view.status,
        payment_status=view.order.payment_status,
        created_at=view.order.created_at,
        bookings=[Booking.of(b, context) for b in view.bookings],
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="One booking, if it is yours (as athlete or coach) or you operate."
    )
    async def booking(self, info: Info, booking_id: UUID) -> Booking | None:
        try:
            row = await reading.get_booking_row(info.context.ctx, booking_id)
            return Booking.of_row(row, info.context)
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
        page = await reading.list_booking_rows(info.context.ctx, query)
        nodes = [Booking.of_row(row, info.context) for row in page.items]
        await with_cardinalities(info, nodes, "nodes")
        return BookingConnection(
            nodes=nodes,
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
        orders = [order_of(v, info.context) for v in page.items]
        await with_cardinalities(info, [b for o in orders for b in o.bookings], "nodes", "bookings")
        return BookingOrderConnection(
            nodes=orders,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )
