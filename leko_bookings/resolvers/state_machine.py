"""The booking state machine (SPEC_NOTES, "Changing"): the one table of allowed moves.

Every status change goes through `check_move`; a move not in the table is refused with a
`validation` error saying what is allowed from the current status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from leko_bookings.errors import validation
from leko_bookings.models import BookingStatus, Event

S = BookingStatus


class Party(StrEnum):
    """Who moves a booking: its athlete, its event's coach, an admin, or the service itself."""

    athlete = "athlete"
    coach = "coach"
    admin = "admin"
    system = "system"


class When(StrEnum):
    before_start = "before the event starts"
    from_start = "once the event has started"
    after_end = "after the event has ended"
    any_time = "at any time"

    def holds(self, event: Event, now: datetime) -> bool:
        match self:
            case When.before_start:
                return now < event.start_at
            case When.from_start:
                return now >= event.start_at
            case When.after_end:
                return now >= event.end_at
            case When.any_time:
                return True


@dataclass(frozen=True, slots=True)
class Move:
    source: BookingStatus
    target: BookingStatus
    by: frozenset[Party]
    when: When


def _move(source: S, target: S, by: set[Party], when: When) -> Move:
    return Move(source, target, frozenset(by), when)


A, C, ADM, SYS = Party.athlete, Party.coach, Party.admin, Party.system

MOVES: tuple[Move, ...] = (
    _move(S.Pending, S.Accepted, {C, ADM}, When.before_start),
    _move(S.Pending, S.Rejected, {C, ADM}, When.before_start),
    # The system cancels before the start too: an event canceled, a coach's data erased.
    _move(S.Pending, S.Canceled, {A, C, ADM, SYS}, When.before_start),
    _move(S.Pending, S.Canceled, {SYS}, When.from_start),  # still pending at its start
    _move(S.Accepted, S.Canceled, {A, C, ADM, SYS}, When.before_start),
    _move(S.Accepted, S.InDispute, {A, C}, When.after_end),
    _move(S.InDispute, S.DisputeDone, {ADM}, When.any_time),
)


def _describe(moves: list[Move]) -> str:
    parts = [f"to {m.target} by {'/'.join(sorted(m.by))} {m.when}" for m in moves]
    return "; ".join(parts) if parts else "nothing (it is final)"


def check_move(
    status: BookingStatus, target: BookingStatus, party: Party, event: Event, now: datetime
) -> None:
    """Refuse any move the table does not allow, saying what is allowed from `status`."""
    from_here = [m for m in MOVES if m.source is status]
    for move in from_here:
        if move.target is target and party in move.by and move.when.holds(event, now):
            return
    raise validation(
        f"This booking is {status}; it cannot become {target} by the {party} now. "
        f"Allowed from {status}: {_describe(from_here)}."
    )
