"""What is recorded about a session: completed, a note, and an athlete dismissing a canceled one.

None of these moves a booking's status or its seat; each locks the booking row only.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings.errors import Forbidden, validation
from leko_bookings.models import Booking, BookingStatus, Event, HistoryAction
from leko_bookings.resolvers.access import booking_not_found, ensure_sees_booking
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import actor_of, entry, record
from leko_bookings.resolvers.lifecycle import party_of, required_text, shown
from leko_bookings.resolvers.state_machine import Party
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store.views import BookingView


async def _locked(ctx: Context, booking_id: UUID) -> Booking:
    """The booking row locked, with its event; 404 unless the caller may see it."""
    booking = await booking_rows.lock_booking_with_event(booking_id)
    return ensure_sees_booking(ctx, booking, booking_id)


def _ended(booking: Booking, ctx: Context) -> bool:
    event: Event = booking.event
    return ctx.now >= event.end_at


async def mark_completed(ctx: Context, booking_id: UUID, completed: bool) -> BookingView:
    """The event's coach (or an admin) marks an accepted, ended session completed, or undoes it."""
    async with in_transaction():
        booking = await _locked(ctx, booking_id)
        party = party_of(ctx, booking)
        if party not in (Party.coach, Party.admin):
            raise Forbidden("Only the event's coach or an admin can mark a booking completed.")
        if booking.status is not BookingStatus.Accepted:
            raise validation(
                f"Only an Accepted booking can be marked completed; this one is {booking.status}."
            )
        if not _ended(booking, ctx):
            raise validation("A booking can be marked completed only after its event has ended.")
        if booking.completed != completed:
            booking.completed = completed
            booking.updated_at = ctx.now
            await booking_rows.save(booking, "completed", "updated_at")
            action = HistoryAction.Completed if completed else HistoryAction.CompletionUndone
            await record([entry(booking, ctx, actor_of(ctx, party), action)])
    return await shown(booking, booking.event)


async def add_note(ctx: Context, booking_id: UUID, note: str) -> BookingView:
    """The athlete, the coach or an admin writes the session's note (replacing it) after the end."""
    text = required_text(note, "note")
    async with in_transaction():
        booking = await _locked(ctx, booking_id)
        party = party_of(ctx, booking)
        if party is None:
            raise Forbidden("Only the booking's athlete or coach, or an admin, can write its note.")
        if not _ended(booking, ctx):
            raise validation("A note can be added only after the event has ended.")
        booking.note = text
        booking.updated_at = ctx.now
        await booking_rows.save(booking, "note", "updated_at")
        await record([entry(booking, ctx, actor_of(ctx, party), HistoryAction.NoteChanged)])
    return await shown(booking, booking.event)


async def dismiss_booking(ctx: Context, booking_id: UUID, user_id: UUID) -> BookingView:
    """The athlete hides a canceled booking from their calendar; a second time changes nothing."""
    async with in_transaction():
        booking = await booking_rows.lock_booking_with_event(booking_id)
        if booking is None:
            raise booking_not_found(booking_id)
        if user_id != booking.user_id:
            raise Forbidden("userId must be the booking's athlete.")
        if user_id != ctx.principal.user_id and not ctx.principal.is_admin:
            raise Forbidden("You can only dismiss your own bookings (userId must be your own id).")
        if booking.status is not BookingStatus.Canceled:
            raise validation(
                f"Only a Canceled booking can be dismissed; this one is {booking.status}."
            )
        if booking.dismissed_at is None:
            booking.dismissed_at = ctx.now
            await booking_rows.save(booking, "dismissed_at")
            party = Party.athlete if user_id == ctx.principal.user_id else Party.admin
            await record([entry(booking, ctx, actor_of(ctx, party), HistoryAction.Dismissed)])
    return await shown(booking, booking.event)
