"""Live changes for GraphQL subscriptions: what a subscriber is sent, read again from the database
at every wake-up (`wakeups.py`), so that a lost wake-up delays a change and never loses it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from leko_bookings.errors import validation
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.events import event_seats_left
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.store import availability
from leko_bookings.wakeups import Hub

MAX_EVENT_IDS = 100
# Without a database listener (SQLite, or a process whose listener is reconnecting), subscribers
# read again this often; with one, after each commit that changed something, and at least this
# often anyway.
READ_AGAIN_SECONDS = 0.5
READ_AGAIN_LISTENING_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Availability:
    """An event's seats as a subscriber sees them."""

    event_id: UUID
    seats_taken: int
    seats_left: int


async def event_availability(
    ctx: Context, event_ids: Sequence[UUID], hub: Hub
) -> AsyncIterator[Availability]:
    """Each event's seats now, then again whenever they change (any signed-in user may follow
    the catalog; unknown ids are never sent). At most MAX_EVENT_IDS events."""
    wanted = list(dict.fromkeys(event_ids))
    if not 1 <= len(wanted) <= MAX_EVENT_IDS:
        raise validation(f"eventIds must hold between 1 and {MAX_EVENT_IDS} ids.")
    sent: dict[UUID, Availability] = {}
    seen = hub.version
    while True:
        for found in await availability.events_by_id(wanted, SEAT_HOLDING):
            event = found.event
            now = Availability(
                event.event_id, found.seats_taken, event_seats_left(event, found.seats_taken)
            )
            if sent.get(event.event_id) != now:
                sent[event.event_id] = now
                yield now
        pause = READ_AGAIN_LISTENING_SECONDS if hub.listening else READ_AGAIN_SECONDS
        seen = await hub.wait(seen, pause)
