"""Erasing a user's data (SPEC_NOTES, DELETE /users): nothing of theirs is left anywhere.

As an athlete, their bookings go with their orders, notes, disputes and history. As a coach,
the athletes' bookings stay theirs but lose every trace of the coach: the coach id becomes the
nil UUID on those bookings and on the coach's events, notes are cleared, the events become
Canceled, and bookings still ahead are canceled by the system. As an actor in other bookings'
histories, they become anonymous. Their calendar feed is deleted, and every Idempotency-Key
naming them (theirs, those of orders for them, those whose kept answer shows them).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings.errors import Forbidden, NotFound
from leko_bookings.models import CanceledByRole, HistoryAction
from leko_bookings.resolvers import calendar_feeds, rate_limits, waitlists
from leko_bookings.resolvers.cancellation import cancel_seats
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import SYSTEM, entry, record
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.store import erasure as erasure_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store import idempotency as key_rows
from leko_bookings.store import ranks as rank_rows
from leko_bookings.store import waitlists as waitlist_rows

NIL = erasure_rows.NIL


@dataclass(frozen=True, slots=True)
class Erasure:
    user_id: UUID
    deleted_bookings: int
    anonymized_bookings: int
    canceled_events: int


def target_of(ctx: Context, current_user_id: UUID, user_id: UUID | None) -> UUID:
    """Whom to erase: the current user (the token's subject), or anyone for an admin."""
    if current_user_id != ctx.principal.user_id:
        raise Forbidden("x-current-user-id must be the id of the token's subject.")
    target = user_id or current_user_id
    if target != ctx.principal.user_id and not ctx.principal.is_admin:
        raise Forbidden("Only an admin can delete another user's data.")
    if target == NIL:
        raise NotFound("The nil id stands for erased users; it holds no one's data.")
    return target


async def erase_user(ctx: Context, current_user_id: UUID, user_id: UUID | None = None) -> Erasure:
    target = target_of(ctx, current_user_id, user_id)
    async with in_transaction() as conn:
        seats_in = await erasure_rows.seat_events(target, SEAT_HOLDING)
        users = await waitlists.lock_with_waiting(conn, [target], seats_in)
        locked = await event_rows.lock_coached(target, also=seats_in)  # one batch, id order
        events = [e for e in locked if e.coach_id == target]
        freed = [e for e in locked if e.coach_id != target]
        held = await erasure_rows.held_of(target)
        waiting = await waitlist_rows.waiting_count(target)
        if not (events or held.anything or waiting):
            raise NotFound(f"No data of user {target} is held here.")
        await calendar_feeds.before_erasure(target, ctx.now)  # their feed goes
        await waitlist_rows.erase_user(target)
        await erasure_rows.delete_as_athlete(target)  # their history goes with them
        await waitlists.promote(ctx, conn, freed, users)  # their seats go to the waitlists
        for event in events:
            await cancel_seats(ctx, event, SYSTEM, CanceledByRole.System)
        remaining = await erasure_rows.coached(target)
        await erasure_rows.anonymise(target, ctx.now)
        await rate_limits.forget(target)  # the keys of their rate buckets hold their id
        await rank_rows.forget(target)  # no booking ranked under their id is left
        await key_rows.erase(target)  # their orders' Idempotency-Keys and kept answers
        await record([entry(b, ctx, SYSTEM, HistoryAction.CoachErased) for b in remaining])
    return Erasure(target, held.own_bookings, len(held.coached_bookings), len(events))
