"""The append-only booking history: recording what happened, and reading it back."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from leko_bookings.auth import Role
from leko_bookings.models import ActorRole, Booking, BookingHistory, BookingStatus, HistoryAction
from leko_bookings.resolvers.common import time_ordered_uuid
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.state_machine import Party
from leko_bookings.store import history as history_rows
from leko_bookings.store.views import HistoryEntryView


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: UUID | None
    role: ActorRole


SYSTEM = Actor(None, ActorRole.System)
_ROLE_OF_PARTY = {
    Party.athlete: ActorRole.Athlete,
    Party.coach: ActorRole.Coach,
    Party.admin: ActorRole.Admin,
    Party.system: ActorRole.System,
}


def actor_of(ctx: Context, party: Party | None = None) -> Actor:
    """The caller as the history names them (an operator acting for the system is named)."""
    if party is not None:
        return Actor(ctx.principal.user_id, _ROLE_OF_PARTY[party])
    if ctx.principal.is_admin:
        return Actor(ctx.principal.user_id, ActorRole.Admin)
    if ctx.principal.has(Role.scheduler):
        return Actor(ctx.principal.user_id, ActorRole.Scheduler)
    return Actor(ctx.principal.user_id, ActorRole.Athlete)


def entry(
    booking: Booking,
    ctx: Context,
    actor: Actor,
    action: HistoryAction,
    *,
    source: BookingStatus | None = None,
    target: BookingStatus | None = None,
    detail: str | None = None,
) -> BookingHistory:
    return BookingHistory(
        id=time_ordered_uuid(),
        booking_id=booking.id,
        at=ctx.now,
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        from_status=source,
        to_status=target,
        detail=detail,
    )


async def record(entries: list[BookingHistory]) -> None:
    await history_rows.append(entries)


async def history_of(booking_ids: list[UUID]) -> dict[UUID, list[HistoryEntryView]]:
    """The history of many bookings at once, oldest first (bookings the caller was shown)."""
    return await history_rows.history_of(booking_ids)
