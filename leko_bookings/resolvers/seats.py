"""The seat rules every count uses (the overbooking check, the seat cap, serviceCardinality, an
event's seats left): which bookings hold a seat, how many are free, how late an order may take
one, and how a new booking starts."""

from __future__ import annotations

from datetime import datetime, timedelta

from leko_bookings.errors import BookingError
from leko_bookings.models import BookingStatus, Event
from leko_bookings.resolvers.context import Context

# A booking holds its seat from the order until it is canceled or rejected; a session that
# happened (even disputed) keeps counting.
SEAT_HOLDING: tuple[BookingStatus, ...] = (
    BookingStatus.Pending,
    BookingStatus.Accepted,
    BookingStatus.InDispute,
    BookingStatus.DisputeDone,
)

# What the service cancels with an event ahead of its start (an event canceled, a coach erased).
LIVE_AHEAD: tuple[BookingStatus, ...] = (BookingStatus.Pending, BookingStatus.Accepted)


def initial_status(event: Event) -> BookingStatus:
    """Public slots (or ones that do not say) are accepted at once; private ones await the coach."""
    return BookingStatus.Pending if event.public is False else BookingStatus.Accepted


def seats_left(capacity: int, seats_taken: int) -> int:
    """The seats still free (never below 0: a capacity lowered under the seats held)."""
    return max(0, capacity - seats_taken)


def too_late(ctx: Context, start_at: datetime) -> BookingError | None:
    """Why an order placed now can no longer take a seat in an event starting at `start_at`
    (it has started; it starts within the lead time), or None."""
    if start_at <= ctx.now:
        return BookingError.pastEventBookAttempt
    if start_at < ctx.now + timedelta(minutes=ctx.settings.min_lead_time_minutes):
        return BookingError.tooCloseToEventStart
    return None
