"""Waitlists (issue 17, part 3): athletes waiting for a seat in a full event, and their automatic
promotion when a seat frees.

**Joining** (`join_waitlist`): the caller, for themself (any signed-in user, as for an order),
while the event is Scheduled, full, and every other booking rule would let them book it (not
started nor too close, not their own, no schedule conflict, under the seat cap); at most
`LEKO_MAX_WAITLIST_PER_EVENT` athletes per event and `LEKO_MAX_WAITLISTS_PER_USER` waitlists per
athlete. Joining again keeps the first place.

**Promotion** (`promote`): in the transaction that freed a seat (a cancel, a reject, a reschedule
away, an erasure, a capacity raised), the earliest waiting athletes for whom every booking rule
passes are booked, each into a new Cash order (status by the slot), until the seats are taken;
one who no longer passes (a conflict, the seat cap, the lead time) stays waiting and is skipped.

**Locks.** Every transaction takes user locks before event rows, event rows before booking rows,
and several user locks in id order (`lock_users`), so that none waits for a lock held by one
waiting for its own. A transaction that may free a seat therefore reads who waits in the events
it will touch before it locks anything (`lock_with_waiting`) and locks them with its own users.
An athlete who joins between that read and the event row's lock is after every locked one in
the waiting order; they are promoted only if the lock of their user is free at once
(`try_lock_user`), else they keep their place for the next freed seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from tortoise import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from leko_bookings.errors import BookingError, NotFound, forbidden, validation
from leko_bookings.models import (
    Event,
    EventStatus,
    WaitlistEntry,
)
from leko_bookings.resolvers.access import sees_event
from leko_bookings.resolvers.common import (
    Page,
    PageRequest,
    check_page_size,
    page_bounds,
    page_of,
    time_ordered_uuid,
)
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import SYSTEM
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.ordering import booking_refusals, place_bookings
from leko_bookings.resolvers.outbox import enqueue
from leko_bookings.resolvers.reading import MAX_PAGE
from leko_bookings.resolvers.seats import SEAT_HOLDING, seats_left
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store import waitlists as waitlist_rows
from leko_bookings.store.locks import lock_users, try_lock_user
from leko_bookings.store.views import WaitlistEntryView, WaitlistSummary

PROMOTED = "Promoted from the waitlist"


def _event_not_found(event_id: UUID) -> NotFound:
    return NotFound(f"Event {event_id} was not found.")


async def _locked_event(event_id: UUID) -> Event:
    events = await event_rows.lock_events([event_id])
    if event_id not in events:
        raise _event_not_found(event_id)
    return events[event_id]


async def _why_not_waiting(ctx: Context, user_id: UUID, event: Event) -> str | None:
    """Why the user may not wait for this event (None: they may), the rows locked."""
    if event.status is not EventStatus.Scheduled:
        return f"The event is {event.status}; only a Scheduled event has a waitlist."
    if await booking_rows.user_bookings_in(user_id, [event.id], SEAT_HOLDING, ranked=False):
        return "You already hold a seat in this event."
    commitments = await event_rows.commitments(user_id, [event], SEAT_HOLDING, ctx.now)
    cap = ctx.settings.max_upcoming_seats_per_user
    if cap and commitments.upcoming >= cap:
        return (
            f"You hold {commitments.upcoming} seats in events that have not started yet, the "
            f"most one may ({cap}): there is no seat to wait for."
        )
    refusals, why = booking_refusals(ctx, user_id, [event], commitments)
    if not refusals:
        left = seats_left(event.capacity, commitments.held.get(event.id, 0))
        return f"The event has {left} seat(s) left: book it instead of waiting."
    refusal = refusals[0].booking_error
    if why or refusal is not BookingError.overbooked:
        return f"You could not book this event even with a seat free ({refusal.value}).{why}"
    return None


async def join_waitlist(ctx: Context, event_id: UUID) -> WaitlistEntryView:
    """The caller waits for a seat in a full event; their entry with its position."""
    me = ctx.principal.user_id
    async with in_transaction() as conn:
        await lock_users(conn, [me])
        event = await _locked_event(event_id)
        waiting = (await waitlist_rows.entries([event_id])).get(event_id, [])
        mine = next((w for w in waiting if w.user_id == me), None)
        if mine is not None:
            return mine
        why = await _why_not_waiting(ctx, me, event)
        if why is not None:
            raise validation(why)
        per_event, per_user = (
            ctx.settings.max_waitlist_per_event,
            ctx.settings.max_waitlists_per_user,
        )
        if len(waiting) >= per_event:
            raise validation(f"This event's waitlist is full ({per_event} athletes wait).")
        if await waitlist_rows.waiting_count(me) >= per_user:
            raise validation(f"You already wait in {per_user} waitlists, the most one may.")
        joined = WaitlistEntry(
            id=time_ordered_uuid(), event_id=event_id, user_id=me, created_at=ctx.now
        )
        await waitlist_rows.add(joined)
    return WaitlistEntryView(joined.id, event_id, me, ctx.now, len(waiting) + 1)


async def leave_waitlist(ctx: Context, event_id: UUID) -> bool:
    """The caller stops waiting for the event; whether they were waiting."""
    me = ctx.principal.user_id
    async with in_transaction() as conn:
        await lock_users(conn, [me])
        await _locked_event(event_id)
        return await waitlist_rows.remove(event_id, me)


async def waitlist(ctx: Context, event_id: UUID, page: PageRequest) -> Page[WaitlistEntryView]:
    """An event's waiting athletes in waiting order, for its coach and operators."""
    event = await event_rows.get(event_id)
    if event is None:
        raise _event_not_found(event_id)
    if not sees_event(ctx, event):
        raise forbidden("Only the event's coach or an operator can see its waitlist.")
    check_page_size(page, MAX_PAGE)
    everyone = (await waitlist_rows.entries([event_id])).get(event_id, [])
    moment, row_id, limit, backward = page_bounds(page)
    rows = everyone
    if moment is not None and row_id is not None:
        cursor = (moment, row_id)
        rows = [w for w in rows if (_key(w) < cursor if backward else _key(w) > cursor)]
    if backward:
        rows = rows[::-1]
    found = page_of(rows if limit is None else rows[:limit], page, _key)

    async def count() -> int:
        return len(everyone)

    return replace(found, count=count)


def _key(waiting: WaitlistEntryView) -> tuple[datetime, UUID]:
    return waiting.joined_at, waiting.entry_id


async def summaries(ctx: Context, event_ids: Sequence[UUID]) -> dict[UUID, WaitlistSummary]:
    """Each event's waitlist length and the caller's position in it."""
    return await waitlist_rows.summaries(event_ids, ctx.principal.user_id)


async def purge(ctx: Context) -> int:
    """The notify run: entries of events that have started or are canceled go (nobody can be
    promoted into them any more); how many."""
    return await waitlist_rows.purge(ctx.now)


async def lock_with_waiting(
    conn: BaseDBAsyncClient, users: Iterable[UUID], event_ids: Sequence[UUID]
) -> frozenset[UUID]:
    """Before any event row lock of a transaction that may free seats in these events: the
    locks of `users` and of every athlete waiting in them, in id order. The users locked."""
    waiting = await waitlist_rows.entries(event_ids)
    locked = frozenset(users) | {w.user_id for found in waiting.values() for w in found}
    await lock_users(conn, locked)
    return locked


async def promote(
    ctx: Context, conn: BaseDBAsyncClient, events: Sequence[Event], locked: frozenset[UUID]
) -> None:
    """In the transaction that freed seats in these events (their rows locked; `locked`, the
    users `lock_with_waiting` locked): the earliest eligible waiting athletes booked until no
    seat is left."""
    live = [e for e in events if e.status is EventStatus.Scheduled and ctx.now < e.start_at]
    waiting = await waitlist_rows.entries([e.id for e in live])
    for event in sorted(live, key=lambda e: e.id):
        for candidate in waiting.get(event.id, []):
            user = candidate.user_id
            if user not in locked and not await try_lock_user(conn, user):
                continue  # busy now: keeps their place for the next freed seat
            commitments = await event_rows.commitments(user, [event], SEAT_HOLDING, ctx.now)
            if seats_left(event.capacity, commitments.held.get(event.id, 0)) < 1:
                break
            refusals, _ = booking_refusals(ctx, user, [event], commitments)
            if not refusals:
                await _book_waiting(ctx, event, candidate)


async def _book_waiting(ctx: Context, event: Event, waiting: WaitlistEntryView) -> None:
    _, bookings = await place_bookings(ctx, waiting.user_id, [event], SYSTEM, detail=PROMOTED)
    await waitlist_rows.remove_entries([waiting.entry_id])
    await enqueue(ctx, Trigger.waitlist_promoted, bookings)
