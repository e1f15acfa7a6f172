"""Queries: each calls a resolver and shapes its result."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings.errors import NotFound
from leko_bookings.resolvers import reading
from leko_bookings.schema.context import Info
from leko_bookings.schema.relay import Connection, connection_of, page_request
from leko_bookings.schema.types import Booking, BookingOrder, selects


@strawberry.type
class Query:
    @strawberry.field(
        description="One booking, if it is yours (as athlete or coach) or you operate."
    )
    async def booking(self, info: Info, booking_id: UUID) -> Booking | None:
        try:
            ranked = selects(info, "serviceCardinality")
            return Booking.of(await reading.get_booking(info.context.ctx, booking_id, ranked))
        except NotFound:
            return None

    @strawberry.field(
        description="Bookings of a user (their calendar), of an event and/or of a coach's events "
        "(the coach's agenda), overlapping [startAt, endAt), by start."
    )
    async def bookings(
        self,
        info: Info,
        user_id: UUID | None = None,
        event_id: UUID | None = None,
        coach_id: UUID | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Booking] | None:
        page = page_request(first, after, last, before)
        query = reading.BookingFilter(user_id, event_id, start_at, end_at, page, coach_id)
        ranked = selects(info, "nodes", "serviceCardinality") or selects(
            info, "edges", "node", "serviceCardinality"
        )
        return connection_of(
            await reading.list_bookings(info.context.ctx, query, ranked), Booking.of
        )

    @strawberry.field(description="A user's orders, newest first, filtered on creation time.")
    async def booking_orders(
        self,
        info: Info,
        user_id: UUID,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[BookingOrder] | None:
        page = page_request(first, after, last, before)
        query = reading.OrderFilter(user_id, start_at, end_at, page)
        return connection_of(await reading.list_orders(info.context.ctx, query), BookingOrder.of)
