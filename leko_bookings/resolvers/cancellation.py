"""Canceling an event, and with it every booking still holding a seat ahead of its start."""

from __future__ import annotations

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
from leko_bookings.resolvers.state_machine import Party, check_move

LIVE_AHEAD = (BookingStatus.Pending, BookingStatus.Accepted)


async def cancel_seats(
    ctx: Context, event: Event, actor: Actor, canceled_by: CanceledByRole
) -> int:
    """Inside a transaction holding the event row: cancel its Pending/Accepted bookings if the
    event is still ahead (the service moves them, as the state machine allows it). Returns how
    many were canceled."""
    if ctx.now >= event.start_at:
        return 0
    bookings = (
        await Booking.filter(event_id=event.id, status__in=LIVE_AHEAD)
        .order_by("id")
        .select_for_update()
    )
    for booking in bookings:
        check_move(booking.status, BookingStatus.Canceled, Party.system, event, ctx.now)
    if not bookings:
        return 0
    await Booking.filter(id__in=[b.id for b in bookings]).update(
        status=BookingStatus.Canceled,
        canceled_at=ctx.now,
        canceled_by_role=canceled_by,
        updated_at=ctx.now,
    )
    await record(
        [
            entry(
                b,
                ctx,
                actor,
                HistoryAction.Canceled,
                source=b.status,
                target=BookingStatus.Canceled,
            )
            for b in bookings
        ]
    )
    await enqueue(ctx, Trigger.booking_canceled, bookings, canceled_by)
    return len(bookings)


async def cancel_event(ctx: Context, event_id: UUID) -> Event:
    """An operator cancels an event ahead: its live bookings are canceled as by its coach.
    Canceling a canceled event changes nothing."""
    require_roles(ctx, Role.admin, Role.scheduler)
    async with in_transaction():
        event = await Event.filter(id=event_id).select_for_update().first()
        if event is None:
            raise NotFound(f"Event {event_id} was not found.")
        if event.status is EventStatus.Canceled:
            return event
        if ctx.now >= event.start_at:
            raise validation("The event has already started; it can no longer be canceled.")
        event.status = EventStatus.Canceled
        event.updated_at = ctx.now
        await event.save(update_fields=["status", "updated_at"])
        await cancel_seats(ctx, event, actor_of(ctx), CanceledByRole.Coach)
    return event
