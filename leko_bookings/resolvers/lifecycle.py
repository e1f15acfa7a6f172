"""Status changes of one booking: accept, reject, cancel, open and resolve a dispute.

Each is one transaction that takes the locks ordering takes (the athlete, then the event row),
checks the state machine, changes the booking and appends to its history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from tortoise import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from leko_bookings.errors import Forbidden, validation
from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Event,
    HistoryAction,
)
from leko_bookings.resolvers import waitlists
from leko_bookings.resolvers.access import ensure_sees_booking
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import actor_of, entry, record
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.outbox import enqueue
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.resolvers.state_machine import Party, check_move
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store.locks import lock_user
from leko_bookings.store.views import BookingView

MAX_TEXT = 2000
CANCELED_BY: dict[Party, CanceledByRole] = {
    Party.athlete: CanceledByRole.Athlete,
    Party.coach: CanceledByRole.Coach,
    Party.admin: CanceledByRole.System,  # an operator cancels on the platform's behalf
    Party.system: CanceledByRole.System,
}


def party_of(ctx: Context, booking: Booking) -> Party | None:
    me = ctx.principal.user_id
    if me == booking.user_id:
        return Party.athlete
    if me == booking.coach_id:
        return Party.coach
    if ctx.principal.is_admin:
        return Party.admin
    return None


def required_text(value: str | None, name: str) -> str:
    """1..2000 characters, not only spaces."""
    if value is None or not value.strip():
        raise validation(f"{name} must not be empty.")
    if len(value) > MAX_TEXT:
        raise validation(f"{name} must be at most {MAX_TEXT} characters (got {len(value)}).")
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):  # unstorable: 500 otherwise
        raise validation(f"{name} must not contain NUL or unpaired surrogate characters.")
    return value


def optional_text(value: str | None, name: str) -> str | None:
    return required_text(value, name) if value is not None and value.strip() else None


@dataclass(slots=True)
class Locked:
    booking: Booking
    event: Event
    party: Party
    users: frozenset[UUID]  # the user locks held


async def locked_booking(
    ctx: Context,
    conn: BaseDBAsyncClient,
    booking_id: UUID,
    parties: set[Party],
    frees_seat: bool = False,
) -> Locked:
    """Inside a transaction: the athlete's lock (and, when the change may free a seat, those of
    the event's waiting athletes: `waitlists.lock_with_waiting`), the event row, the booking row,
    in that order (the order ordering uses, so no deadlock), then who the caller is to the
    booking."""
    found = ensure_sees_booking(ctx, await booking_rows.get_booking(booking_id), booking_id)
    event_id = cast(UUID, found.event_id)
    users = frozenset([found.user_id])
    if frees_seat:
        users = await waitlists.lock_with_waiting(conn, users, [event_id])
    else:
        await lock_user(conn, found.user_id)
    event = await event_rows.lock_event(event_id)
    booking = await booking_rows.lock_booking(booking_id)
    assert event is not None  # a booking's event is never deleted (RESTRICT)
    booking.event = event
    party = party_of(ctx, booking)
    if party not in parties:
        allowed = " or ".join(sorted(p.value for p in parties if p is not Party.system))
        raise Forbidden(f"Only the booking's {allowed} can do this.")
    return Locked(booking, event, party, users)


async def _move(
    ctx: Context,
    booking_id: UUID,
    target: BookingStatus,
    action: HistoryAction,
    parties: set[Party],
    change: Callable[[Booking, Party], None] | None = None,
    detail: str | None = None,
) -> BookingView:
    async with in_transaction() as conn:
        frees_seat = target not in SEAT_HOLDING
        locked = await locked_booking(ctx, conn, booking_id, parties, frees_seat)
        booking = locked.booking
        source = booking.status
        check_move(source, target, locked.party, locked.event, ctx.now)
        booking.status = target
        booking.updated_at = ctx.now
        if change is not None:
            change(booking, locked.party)
        await booking_rows.save(booking)
        actor = actor_of(ctx, locked.party)
        await record(
            [entry(booking, ctx, actor, action, source=source, target=target, detail=detail)]
        )
        if target is BookingStatus.Canceled:
            await enqueue(ctx, Trigger.booking_canceled, [booking], booking.canceled_by_role)
        if frees_seat and source in SEAT_HOLDING:  # the seat goes to the waitlist, if any
            await waitlists.promote(ctx, conn, [locked.event], locked.users)
    return await shown(booking, locked.event)


async def shown(booking: Booking, event: Event) -> BookingView:
    """A booking a rule just changed, as its read model."""
    return (await booking_rows.views_of([(booking, event)], SEAT_HOLDING))[0]


EVERYONE = {Party.athlete, Party.coach, Party.admin}
DECIDERS = {Party.coach, Party.admin}


async def accept_booking(ctx: Context, booking_id: UUID) -> BookingView:
    return await _move(ctx, booking_id, BookingStatus.Accepted, HistoryAction.Accepted, DECIDERS)


async def reject_booking(ctx: Context, booking_id: UUID) -> BookingView:
    return await _move(ctx, booking_id, BookingStatus.Rejected, HistoryAction.Rejected, DECIDERS)


@dataclass(frozen=True, slots=True)
class CancelInput:
    booking_id: UUID
    reason_code: CancellationReasonCode
    reason_text: str | None = None


def cancel_fields(booking: Booking, ctx: Context, party: Party) -> None:
    booking.canceled_at = ctx.now
    booking.canceled_by_role = CANCELED_BY[party]


async def cancel_booking(ctx: Context, data: CancelInput) -> BookingView:
    """The athlete, the coach or an admin cancels before the start, giving a reason."""
    other = data.reason_code is CancellationReasonCode.Other
    text = (required_text if other else optional_text)(data.reason_text, "reasonText")

    def change(booking: Booking, party: Party) -> None:
        cancel_fields(booking, ctx, party)
        booking.cancellation_reason_code = data.reason_code
        booking.cancellation_reason_text = text

    return await _move(
        ctx,
        data.booking_id,
        BookingStatus.Canceled,
        HistoryAction.Canceled,
        EVERYONE,
        change,
        detail=data.reason_code.value,
    )


async def open_dispute(ctx: Context, booking_id: UUID, reason: str) -> BookingView:
    """The athlete or the coach disputes an accepted session after it ended."""
    text = required_text(reason, "reason")

    def change(booking: Booking, _: Party) -> None:
        booking.dispute_reason = text

    return await _move(
        ctx,
        booking_id,
        BookingStatus.InDispute,
        HistoryAction.DisputeOpened,
        {Party.athlete, Party.coach},
        change,
    )


async def resolve_dispute(ctx: Context, booking_id: UUID, resolution: str) -> BookingView:
    text = required_text(resolution, "resolution")

    def change(booking: Booking, _: Party) -> None:
        booking.dispute_resolution = text

    return await _move(
        ctx,
        booking_id,
        BookingStatus.DisputeDone,
        HistoryAction.DisputeResolved,
        {Party.admin},
        change,
    )
