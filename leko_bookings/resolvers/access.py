"""Who may see and do what (SPEC_NOTES, "Who may do what"). Every check lives here."""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID

from leko_bookings.auth import Role
from leko_bookings.errors import NotFound, forbidden
from leko_bookings.resolvers.context import Context


class Coached(Protocol):
    """An event, or anything else with a coach."""

    @property
    def coach_id(self) -> UUID: ...


class Parties(Protocol):
    """A booking (a row or a read model): its athlete and its coach."""

    @property
    def user_id(self) -> UUID: ...

    @property
    def coach_id(self) -> UUID: ...


B = TypeVar("B", bound=Parties)


def require_roles(ctx: Context, *roles: Role) -> None:
    if not ctx.principal.has(*roles):
        names = " or ".join(r.value for r in roles)
        raise forbidden(f"This operation needs the role {names}.")


def acts_for(ctx: Context, user_id: UUID) -> bool:
    """The caller is this user, or an admin acting for anyone."""
    return ctx.principal.user_id == user_id or ctx.principal.is_admin


def ensure_acts_for(ctx: Context, user_id: UUID, action: str) -> None:
    if not acts_for(ctx, user_id):
        raise forbidden(f"You can only {action} for yourself (userId must be your own id).")


def sees_event(ctx: Context, event: Coached | None) -> bool:
    """The event's coach, or an operator (admin, scheduler)."""
    if ctx.principal.has(Role.admin, Role.scheduler):
        return True
    return event is not None and event.coach_id == ctx.principal.user_id


def sees_booking(ctx: Context, booking: Parties) -> bool:
    """The booking's athlete or coach, or an operator."""
    me = ctx.principal.user_id
    return me in (booking.user_id, booking.coach_id) or ctx.principal.has(
        Role.admin, Role.scheduler
    )


def ensure_sees_booking(ctx: Context, booking: B | None, booking_id: UUID) -> B:
    """The booking's athlete or coach, or an operator; anyone else learns nothing (404)."""
    if booking is not None and sees_booking(ctx, booking):
        return booking
    raise booking_not_found(booking_id)


def booking_not_found(booking_id: UUID) -> NotFound:
    return NotFound(f"Booking {booking_id} was not found.")
