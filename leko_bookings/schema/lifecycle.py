"""Lifecycle mutations: each calls one resolver; domain errors become typed union members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings.models import CancellationReasonCode
from leko_bookings.resolvers import cancellation, erasure, lifecycle, records
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import ForbiddenError, NotFoundError, ValidationError
from leko_bookings.schema.types import Booking, Event

BookingResult = Annotated[
    Booking | ValidationError | ForbiddenError | NotFoundError, strawberry.union("BookingResult")
]
CancelEventResult = Annotated[
    Event | ValidationError | ForbiddenError | NotFoundError, strawberry.union("CancelEventResult")
]


@strawberry.type(description="What erasing a user's data did.")
@dataclass
class UserDataDeleted:
    user_id: UUID
    deleted_bookings: int
    anonymized_bookings: int
    canceled_events: int


DeleteUserResult = Annotated[
    UserDataDeleted | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("DeleteUserResult"),
]


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(description="The coach (or an admin) accepts a Pending booking.")
    async def accept_booking(self, info: Info, booking_id: UUID) -> BookingResult:
        return Booking.of(await lifecycle.accept_booking(info.context.ctx, booking_id))

    @strawberry.mutation(description="The coach (or an admin) rejects a Pending booking.")
    async def reject_booking(self, info: Info, booking_id: UUID) -> BookingResult:
        return Booking.of(await lifecycle.reject_booking(info.context.ctx, booking_id))

    @strawberry.mutation(description="The athlete, coach or an admin cancels before the start.")
    async def cancel_booking(
        self,
        info: Info,
        booking_id: UUID,
        reason_code: CancellationReasonCode,
        reason_text: str | None = None,
    ) -> BookingResult:
        data = lifecycle.CancelInput(booking_id, reason_code, reason_text)
        return Booking.of(await lifecycle.cancel_booking(info.context.ctx, data))

    @strawberry.mutation(description="The athlete or coach disputes an Accepted session after it.")
    async def open_dispute(self, info: Info, booking_id: UUID, reason: str) -> BookingResult:
        return Booking.of(await lifecycle.open_dispute(info.context.ctx, booking_id, reason))

    @strawberry.mutation(description="An admin settles a dispute.")
    async def resolve_dispute(self, info: Info, booking_id: UUID, resolution: str) -> BookingResult:
        return Booking.of(await lifecycle.resolve_dispute(info.context.ctx, booking_id, resolution))

    @strawberry.mutation(description="Contract: PATCH /bookings/{bookingId}/completed.")
    async def mark_booking_as_completed(
        self, info: Info, booking_id: UUID, completed: bool
    ) -> BookingResult:
        return Booking.of(await records.mark_completed(info.context.ctx, booking_id, completed))

    @strawberry.mutation(description="Contract: PATCH /bookings/{bookingId}/note.")
    async def add_booking_note(self, info: Info, booking_id: UUID, note: str) -> BookingResult:
        return Booking.of(await records.add_note(info.context.ctx, booking_id, note))

    @strawberry.mutation(description="Contract: POST /bookings/{bookingId}/dismiss.")
    async def dismiss_booking(self, info: Info, booking_id: UUID, user_id: UUID) -> BookingResult:
        return Booking.of(await records.dismiss_booking(info.context.ctx, booking_id, user_id))

    @strawberry.mutation(description="Admin/scheduler: cancel an event and its live bookings.")
    async def cancel_event(self, info: Info, event_id: UUID) -> CancelEventResult:
        return Event.of(await cancellation.cancel_event(info.context.ctx, event_id))

    @strawberry.mutation(
        description="Contract: DELETE /users. Erase the caller's data, or (admin) userId's."
    )
    async def delete_user_from_bookings(
        self, info: Info, user_id: UUID | None = None
    ) -> DeleteUserResult:
        ctx = info.context.ctx
        done = await erasure.erase_user(ctx, ctx.principal.user_id, user_id)
        return UserDataDeleted(
            user_id=done.user_id,
            deleted_bookings=done.deleted_bookings,
            anonymized_bookings=done.anonymized_bookings,
            canceled_events=done.canceled_events,
        )
