"""The event catalog with availability (issue 12): `events(from, to, ...)` and `event(eventId)`,
and finding an event by its global id (`node`).

The listing reads the seats taken with its events and, when the query shows `viewerBooking`, the
caller's bookings in them in one more statement; an event reached otherwise (a booking's event,
`event`, `node`) reads them through the request's loaders (`schema/context.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings.errors import NotFound
from leko_bookings.resolvers import events
from leko_bookings.resolvers.common import Page
from leko_bookings.schema.context import Info
from leko_bookings.schema.lookup import finder
from leko_bookings.schema.relay import Connection, connection_of, page_request
from leko_bookings.schema.types import Event, selects
from leko_bookings.store.views import BookingView, EventSeatsView


def _event(info: Info, e: EventSeatsView) -> Event:
    return Event.of(e.event, e.seats_taken, now=info.context.ctx)


def _shows_viewer_booking(info: Info, *below: str) -> bool:
    """Whether the query shows `viewerBooking` (and `below` it) under the connection."""
    paths = (("nodes",), ("edges", "node"))
    return any(selects(info, *path, "viewerBooking", *below) for path in paths)


async def _viewer_bookings(
    info: Info, page: Page[EventSeatsView]
) -> dict[UUID, BookingView] | None:
    """The caller's bookings in the page's events (one statement), when the query shows them
    (ranked when it shows their serviceCardinality)."""
    if not page.items or not _shows_viewer_booking(info):
        return None
    ids = [e.event.event_id for e in page.items]
    ranked = _shows_viewer_booking(info, "serviceCardinality")
    return await events.viewer_bookings(info.context.ctx, ids, ranked)


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="Events overlapping [from, to), by start (the catalog, for anyone signed "
        "in), each with its seats and whether it can be booked; canceled ones only when asked."
    )
    async def events(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        coach_id: UUID | None = None,
        sport_id: UUID | None = None,
        include_canceled: bool | None = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Event] | None:
        query = events.EventFilter(
            from_,
            to,
            coach_id,
            sport_id,
            bool(include_canceled),
            page_request(first, after, last, before),
        )
        page = await events.list_events(info.context.ctx, query)
        viewer = await _viewer_bookings(info, page)
        ctx = info.context.ctx
        return connection_of(page, lambda e: Event.of(e.event, e.seats_taken, viewer, ctx))

    @strawberry.field(description="One event with its availability, null if unknown.")
    async def event(self, info: Info, event_id: UUID) -> Event | None:
        found = await events.get_event(info.context.ctx, event_id)
        return None if found is None else _event(info, found)


@finder("Event")
async def _find(info: Info, event_id: UUID) -> Event:
    found = await events.get_event(info.context.ctx, event_id)
    if found is None:
        raise NotFound(f"Event {event_id} was not found.")
    return _event(info, found)
