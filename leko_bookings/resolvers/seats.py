"""Which bookings hold a seat, and how a new booking starts: the seat rules every count uses
(the overbooking check, the seat cap, serviceCardinality, an event's seats taken)."""

from __future__ import annotations

from leko_bookings.models import BookingStatus, Event

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
