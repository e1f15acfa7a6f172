"""Subscriptions (GraphQL over WebSocket, `graphql-transport-ws`): thin over resolvers/changes.py.
The socket's caller is set when it connects (`schema/endpoint.py: on_ws_connect`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry

from leko_bookings.resolvers import changes
from leko_bookings.schema.context import Info
from leko_bookings.wakeups import hub


@strawberry.type(description="An event's seats, sent whenever they change.")
class EventAvailability:
    event_id: UUID
    seats_taken: int
    seats_left: int


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The seats of these events (at most 100) now, then whenever they change."
    )
    async def event_availability(
        self, info: Info, event_ids: list[UUID]
    ) -> AsyncGenerator[EventAvailability, None]:
        ctx = info.context.ctx
        async for seats in changes.event_availability(ctx, event_ids, hub):
            yield EventAvailability(
                event_id=seats.event_id,
                seats_taken=seats.seats_taken,
                seats_left=seats.seats_left,
            )
