"""Subscriptions (GraphQL over WebSocket, `graphql-transport-ws`): thin over resolvers/changes.py.
The socket's caller is set when it connects (`schema/endpoint.py: on_ws_connect`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings import metrics
from leko_bookings.resolvers import changes
from leko_bookings.resolvers.changes import ChangeKind
from leko_bookings.schema.context import Info
from leko_bookings.schema.types import Booking
from leko_bookings.wakeups import hub

strawberry.enum(ChangeKind, name="CalendarChangeKind")


@strawberry.type(description="An event's seats, sent whenever they change.")
class EventAvailability:
    event_id: UUID
    seats_taken: int
    seats_left: int


@strawberry.type(description="A change to a booking of yours (as athlete or as its coach).")
class CalendarChange:
    kind: ChangeKind = strawberry.field(description="What the change did.")
    booking: Booking = strawberry.field(description="The booking as it is when sent.")
    at: datetime = strawberry.field(description="When the change was made.")


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The seats of these events (at most 100) now, then whenever they change."
    )
    async def event_availability(
        self, info: Info, event_ids: list[UUID]
    ) -> AsyncGenerator[EventAvailability, None]:
        ctx = info.context.ctx
        with metrics.subscription_open("eventAvailability"):
            async for seats in changes.event_availability(ctx, event_ids, hub):
                yield EventAvailability(
                    event_id=seats.event_id,
                    seats_taken=seats.seats_taken,
                    seats_left=seats.seats_left,
                )

    @strawberry.subscription(
        description="Every change to a booking where you are the athlete or the event's coach, "
        "from now on: each once, each booking's in the order they were made."
    )
    async def calendar_changes(self, info: Info) -> AsyncGenerator[CalendarChange, None]:
        ctx = info.context.ctx
        with metrics.subscription_open("calendarChanges"):
            async for change in changes.calendar_changes(ctx, hub):
                info.context.forget_loaded()  # a booking's history and order as they are now
                booking = Booking.of(change.booking)
                yield CalendarChange(kind=change.kind, booking=booking, at=change.at)
