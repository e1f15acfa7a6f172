"""Rescheduling a booking (issue 17, part 2): moving it to another event in one step.

The booking's athlete, or an admin, moves a Pending or Accepted booking whose event has not
started. Every booking rule of an order (`ordering.booking_refusals`) applies to the new event,
the booking being moved left out of the schedule conflicts and the seat cap. One transaction
with the locks an order takes (the athlete's lock, then both events' rows in id order, then the
booking's row): a new booking of the new event in the same order, its status by the new slot;
the old booking Canceled (`Other`, "Rescheduled"; by the Athlete, or by the System when an
admin moves it); both linked (`rescheduled_to`, `rescheduled_from`) and each with a history
entry. The old booking, now Canceled, cannot be moved again; the new one can. The seat freed in
the old event goes to its waitlist (`waitlists.promote`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast
from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings.errors import Forbidden, OrderRefused, validation
from leko_bookings.models import (
    Booking,
    BookingStatus,
    CancellationReasonCode,
    Event,
    EventStatus,
    HistoryAction,
)
from leko_bookings.resolvers import rate_limits, waitlists
from leko_bookings.resolvers.access import ensure_sees_booking
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import actor_of, entry, record
from leko_bookings.resolvers.lifecycle import cancel_fields
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.ordering import booking_refusals, new_booking
from leko_bookings.resolvers.outbox import enqueue
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.resolvers.state_machine import Party, check_move
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store import waitlists as waitlist_rows
from leko_bookings.store.events import Commitments
from leko_bookings.store.views import BookingView

MOVABLE = (BookingStatus.Pending, BookingStatus.Accepted)
REASON_TEXT = "Rescheduled"


@dataclass(frozen=True, slots=True)
class _About:
    """A booking as a notification addresses it (`notification_rules.Parties`)."""

    id: UUID
    user_id: UUID
    coach_id: UUID


def _told(old: Booking, new: Booking) -> list[_About]:
    """Whom `bookingRescheduled` tells, about which booking: the new booking's coach about it;
    the old booking's coach, when another, about the old booking. A notification is one per
    (booking, rule, recipient) (the outbox's key): an old booking that itself came from a
    reschedule already had this rule's notification for its coach, so that coach is told about
    the new booking instead (or the second move would go untold)."""
    told = [_About(new.id, new.user_id, new.coach_id)]
    if old.coach_id != new.coach_id:
        about = old.id if old.rescheduled_from is None else new.id
        told.append(_About(about, old.user_id, old.coach_id))
    return told


@dataclass(frozen=True, slots=True)
class Rescheduled:
    booking: BookingView  # the new booking, in the new event
    previous: BookingView  # the booking moved, now Canceled


def _party(ctx: Context, booking: Booking) -> Party:
    if ctx.principal.user_id == booking.user_id:
        return Party.athlete
    if ctx.principal.is_admin:
        return Party.admin
    raise Forbidden("Only the booking's athlete or an admin can reschedule it.")


def _check_movable(ctx: Context, booking: Booking, event: Event, target: UUID) -> None:
    if booking.rescheduled_to is not None:
        raise validation(
            f"This booking was already rescheduled (to booking {booking.rescheduled_to}); "
            "reschedule that one instead."
        )
    if booking.status not in MOVABLE:
        raise validation(
            f"This booking is {booking.status}; only a Pending or Accepted booking can be "
            "rescheduled."
        )
    if ctx.now >= event.start_at:
        raise validation("The booking's event has started; it can no longer be rescheduled.")
    if target == event.id:
        raise validation(f"The booking is already in event {target}.")


def _target(events: dict[UUID, Event], event_id: UUID) -> Event:
    event = events.get(event_id)
    if event is None:
        raise validation(f"Unknown event id: {event_id}.")
    if event.status is EventStatus.Canceled:
        raise validation(f"Event {event_id} is canceled and cannot be booked.")
    return event


def _without(commitments: Commitments, moved: Booking, ctx: Context) -> Commitments:
    """What the athlete holds but the booking being moved: its time out of their schedule (if
    the read found it: it overlaps the new event), its seat out of their upcoming seats."""
    busy = list(commitments.busy)
    own = (moved.start_at, moved.end_at)
    if own in busy:
        busy.remove(own)
    upcoming = commitments.upcoming
    if moved.status in SEAT_HOLDING and moved.start_at > ctx.now:
        upcoming -= 1
    return replace(commitments, busy=busy, upcoming=upcoming)


async def reschedule_booking(ctx: Context, booking_id: UUID, event_id: UUID) -> Rescheduled:
    """Move a booking to the event `event_id` (see the module's docstring). Who may: its athlete
    or an admin (anyone else who sees it: forbidden; who does not: not found). It makes a new
    booking, so it takes a token of the caller's order limit."""
    found = ensure_sees_booking(ctx, await booking_rows.get_booking(booking_id), booking_id)
    party = _party(ctx, found)
    await rate_limits.take_order(ctx)
    async with in_transaction() as conn:
        # The athlete's lock and those of the old event's waiting athletes, before the rows.
        users = await waitlists.lock_with_waiting(
            conn, [found.user_id], [cast(UUID, found.event_id)]
        )
        ids = list({cast(UUID, found.event_id), event_id})
        events = await event_rows.lock_for_order(ids)  # in id order
        old = await booking_rows.lock_booking(booking_id)
        old_event = events[cast(UUID, old.event_id)]
        _check_movable(ctx, old, old_event, event_id)
        new_event = _target(events, event_id)
        held = await event_rows.commitments(old.user_id, [new_event], SEAT_HOLDING, ctx.now)
        refusals, why = booking_refusals(ctx, old.user_id, [new_event], _without(held, old, ctx))
        if refusals:
            raise OrderRefused(
                f"Booking {booking_id} cannot move to event {event_id}: "
                f"{refusals[0].booking_error.value}; nothing changed.{why}",
                refusals=refusals,
            )
        order_id = cast(UUID, old.order_id)
        new = new_booking(ctx, order_id, new_event, old.user_id, rescheduled_from=old.id)
        await booking_rows.create([new])
        if held.waiting:  # a seat now: no longer waiting for it
            await waitlist_rows.remove_user_from(old.user_id, [new_event.id])
        source = old.status
        check_move(source, BookingStatus.Canceled, party, old_event, ctx.now)
        old.status = BookingStatus.Canceled
        cancel_fields(old, ctx, party)
        old.cancellation_reason_code = CancellationReasonCode.Other
        old.cancellation_reason_text = REASON_TEXT
        old.rescheduled_to = new.id
        old.updated_at = ctx.now
        await booking_rows.save(old)
        actor = actor_of(ctx, party)
        await record(
            [
                entry(
                    old,
                    ctx,
                    actor,
                    HistoryAction.Rescheduled,
                    source=source,
                    target=BookingStatus.Canceled,
                    detail=f"to {new.id}",
                ),
                entry(
                    new,
                    ctx,
                    actor,
                    HistoryAction.Booked,
                    target=new.status,
                    detail=f"rescheduled from {old.id}",
                ),
            ]
        )
        await enqueue(ctx, Trigger.booking_rescheduled, _told(old, new))
        if new.status is BookingStatus.Pending:
            await enqueue(ctx, Trigger.pending_approval, [new])
        await waitlists.promote(ctx, conn, [old_event], users)  # the seat left behind
    views = await booking_rows.views_of([(new, new_event), (old, old_event)], SEAT_HOLDING)
    return Rescheduled(booking=views[0], previous=views[1])
