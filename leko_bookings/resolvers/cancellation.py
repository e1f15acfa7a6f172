"""Canceling an event, and the service's own bulk cancel of bookings (an event canceled, a
pending booking that reached its start, a coach's data erased)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings.auth import Role
from leko_bookings.errors import NotFound, validation
from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    Event,
    EventStatus,
    HistoryAction,
)
from leko_bookings.resolvers.access import require_roles
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import Actor, actor_of, entry, record
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.outbox import enqueue
from leko_bookings.resolvers.seats import LIVE_AHEAD
from leko_bookings.resolvers.state_machine import Party, check_move
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store.views import EventView


async def cancel_by_system(
    ctx: Context,
    locked: Sequence[tuple[Booking, Event]],
    actor: Actor,
    canceled_by: CanceledByRole,
    trigger: Trigger,
) -> int:
    """Inside a transaction holding these bookings' rows: the service cancels them (each move
    checked by the state machine as the system's), records who asked, and queues what `trigger`'s
    rules say. Returns how many were canceled."""
    for booking, event in locked:
        check_move(booking.status, BookingStatus.Canceled, Party.system, event, ctx.now)
    bookings = [booking for booking, _ in locked]
    if not bookings:
        return 0
    await booking_rows.set_canceled(bookings, ctx.now, canceled_by)
    canceled = BookingStatus.Canceled
    await record(
        [
            entry(b, ctx, actor, HistoryAction.Canceled, source=b.status, target=canceled)
            for b in bookings
        ]
    )
    await enqueue(ctx, trigger, bookings, canceled_by)
    return len(bookings)


async def cancel_seats(
    ctx: Context, event: Event, actor: Actor, canceled_by: CanceledByRole
) -> int:
    """Inside a transaction holding the event row: cancel its live bookings if the event is
    still ahead. Returns how many were canceled."""
    if ctx.now >= event.start_at:
        return 0
    live = await booking_rows.lock_live_ahead(event.id, LIVE_AHEAD)
    return await cancel_by_system(
        ctx, [(b, event) for b in live], actor, canceled_by, Trigger.booking_canceled
    )


async def cancel_event(ctx: Context, event_id: UUID) -> EventView:
    """An operator cancels an event ahead: its live bookings are canceled as by its coach.
    Canceling a canceled event changes nothing."""
    require_roles(ctx, Role.admin, Role.scheduler)
    async with in_transaction():
        event = await event_rows.lock_event(event_id)
        if event is None:
            raise NotFound(f"Event {event_id} was not found.")
        if event.status is not EventStatus.Canceled:
            if ctx.now >= event.start_at:
                raise validation("The event has already started; it can no longer be canceled.")
            await event_rows.set_status(event, EventStatus.Canceled, ctx.now)
            await cancel_seats(ctx, event, actor_of(ctx), CanceledByRole.Coach)
    return event_rows.event_view(event)
