"""Events with their availability (issue 12): the catalog any signed-in user may list, the seats
taken and left in each, whether it can be booked now, and the caller's own booking in it.

Seats are counted by the overbooking check's rule (`seats.py: SEAT_HOLDING`); whether an event
can be booked uses the order's own timing rule (`seats.py: too_late`): scheduled, not started,
starting at least the lead time after now, a seat left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from uuid import UUID

from leko_bookings.errors import validation
from leko_bookings.models import EventStatus
from leko_bookings.resolvers.common import (
    Page,
    PageRequest,
    check_page_size,
    page_bounds,
    page_of,
    utc,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.seats import SEAT_HOLDING, seats_left, too_late
from leko_bookings.store import availability
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store.availability import EventSelection
from leko_bookings.store.views import BookingView, EventSeatsView, EventView

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Events overlapping [start_at, end_at), of a coach and/or a sport, canceled ones only
    when asked for."""

    start_at: datetime
    end_at: datetime
    coach_id: UUID | None = None
    sport_id: UUID | None = None
    include_canceled: bool = False
    page: PageRequest = field(default_factory=PageRequest)


def event_seats_left(event: EventView, seats_taken: int) -> int:
    return seats_left(event.timeslot.number_of_participants, seats_taken)


def bookable(ctx: Context, event: EventView, seats_taken: int) -> bool:
    """Whether an order placed now could take a seat in the event (leaving aside who orders)."""
    return (
        event.event_status is EventStatus.Scheduled
        and too_late(ctx, event.start_at) is None
        and event_seats_left(event, seats_taken) > 0
    )


def _selection(q: EventFilter) -> EventSelection:
    start, end = utc(q.start_at, "from"), utc(q.end_at, "to")
    if start > end:
        raise validation("from must not be after to.")
    return EventSelection(start, end, q.coach_id, q.sport_id, q.include_canceled)


async def list_events(ctx: Context, q: EventFilter) -> Page[EventSeatsView]:
    """The events overlapping [from, to) by start then id, each with its seats taken (one
    statement); any signed-in user may list them (`ctx` is the signed-in caller)."""
    check_page_size(q.page, MAX_PAGE)
    selection = _selection(q)
    rows = await availability.list_events(selection, page_bounds(q.page), SEAT_HOLDING)
    page = page_of(rows, q.page, lambda r: (r.event.start_at, r.event.event_id))
    page.count = partial(availability.count_events, selection)
    return page


async def get_event(ctx: Context, event_id: UUID) -> EventSeatsView | None:
    """One event with its seats taken, None if unknown."""
    found = await availability.events_by_id([event_id], SEAT_HOLDING)
    return found[0] if found else None


async def seats_taken(event_ids: Sequence[UUID]) -> dict[UUID, int]:
    """The seats held in each of these events (one statement)."""
    return await availability.seats_taken(event_ids, SEAT_HOLDING)


async def viewer_bookings(
    ctx: Context, event_ids: Sequence[UUID], ranked: bool
) -> dict[UUID, BookingView]:
    """The caller's own seat-holding booking in each of these events (absent: none)."""
    user = ctx.principal.user_id
    return await booking_rows.user_bookings_in(user, event_ids, SEAT_HOLDING, ranked)
