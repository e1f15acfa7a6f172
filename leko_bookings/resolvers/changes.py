"""Live changes for GraphQL subscriptions: what a subscriber is sent, read again from the database
at every wake-up (`wakeups.py`), so that a lost wake-up delays a change and never loses it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from leko_bookings.errors import validation
from leko_bookings.models import HistoryAction
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.events import event_seats_left
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.store import availability
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import changes as change_rows
from leko_bookings.store.views import BookingView
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


async def _woken(hub: Hub, seen: int) -> int:
    """The hub's version once it moved past `seen` (or after the re-read pause)."""
    pause = READ_AGAIN_LISTENING_SECONDS if hub.listening else READ_AGAIN_SECONDS
    return await hub.wait(seen, pause)


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
        seen = await _woken(hub, seen)


class ChangeKind(StrEnum):
    """What a calendar change did to its booking."""

    Created = "Created"
    StatusChanged = "StatusChanged"
    Moved = "Moved"  # its event's time (or coach) changed
    Updated = "Updated"  # note, completed, dismissed, dispute, coach erased


@dataclass(frozen=True, slots=True)
class CalendarChange:
    kind: ChangeKind
    booking: BookingView  # as it is when sent
    at: datetime  # when the change was made


def change_kind(entry: change_rows.ChangeEntry) -> ChangeKind:
    """A history row's kind of calendar change."""
    if entry.action is HistoryAction.Booked:
        return ChangeKind.Created
    if entry.action is HistoryAction.Moved:
        return ChangeKind.Moved
    if entry.to_status is not None and entry.to_status is not entry.from_status:
        return ChangeKind.StatusChanged
    return ChangeKind.Updated


async def calendar_changes(ctx: Context, hub: Hub) -> AsyncIterator[CalendarChange]:
    """Every change to a booking where the caller is the athlete or the event's coach, made
    from when they asked (`ctx.now`) on: each history row once, each booking's in the order
    they were committed, read from the booking history at every wake-up (so a change committed
    while this process was not listening arrives at the next read). A booking erased before it
    is sent is not sent."""
    me = ctx.principal.user_id
    seen = hub.version
    mark, since = change_rows.START, ctx.now  # when the subscriber asked
    while True:
        entries, mark = await change_rows.changes_after(mark, me, since)
        if entries:
            ids = list(dict.fromkeys(e.booking_id for e in entries))
            found = {b.booking_id: b for b in await booking_rows.bookings_by_id(ids, SEAT_HOLDING)}
            for entry in entries:
                if entry.booking_id in found:
                    yield CalendarChange(change_kind(entry), found[entry.booking_id], entry.at)
        seen = await _woken(hub, seen)
