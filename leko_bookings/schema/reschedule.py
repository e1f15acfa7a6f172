"""rescheduleBooking: one resolver call; domain errors become typed members of its result."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings.resolvers import reschedule
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import (
    BookingRefused,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from leko_bookings.schema.types import Booking


@strawberry.type(
    description="A booking moved to another event: the new booking, and the one it replaced "
    "(now Canceled, reason Other, 'Rescheduled'); each links the other."
)
class BookingRescheduled:
    booking: Booking
    previous_booking: Booking


RescheduleBookingResult = Annotated[
    BookingRescheduled
    | BookingRefused
    | ValidationError
    | ForbiddenError
    | NotFoundError
    | TooManyRequestsError,
    strawberry.union("RescheduleBookingResult"),
]


@strawberry.type
class RescheduleMutation:
    @strawberry.mutation(
        description="The booking's athlete (or an admin) moves a Pending or Accepted booking, "
        "before its event starts, to another event: every booking rule applies to the new event "
        "(refusals as BookingRefused); the new booking's status is by its slot."
    )
    async def reschedule_booking(
        self, info: Info, booking_id: UUID, event_id: UUID
    ) -> RescheduleBookingResult:
        done = await reschedule.reschedule_booking(info.context.ctx, booking_id, event_id)
        return BookingRescheduled(
            booking=Booking.of(done.booking), previous_booking=Booking.of(done.previous)
        )
