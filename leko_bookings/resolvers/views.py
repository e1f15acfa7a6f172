"""Derived values the contract shows: an order's status, a booking's serviceCardinality."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from leko_bookings.models import SEAT_HOLDING, Booking, BookingStatus, Order, OrderStatus

_ENDED = {BookingStatus.Canceled, BookingStatus.Rejected}


@dataclass(slots=True)
class OrderView:
    order: Order
    bookings: list[Booking]

    @property
    def status(self) -> OrderStatus:
        return order_status(self.bookings)


def order_status(bookings: list[Booking]) -> OrderStatus:
    """Canceled when no booking is left standing; Pending while any awaits the coach."""
    if all(b.status in _ENDED for b in bookings):
        return OrderStatus.Canceled
    if any(b.status is BookingStatus.Pending for b in bookings):
        return OrderStatus.Pending
    return OrderStatus.Confirmed


async def service_cardinalities(bookings: list[Booking]) -> dict[UUID, int | None]:
    """1-based rank of each booking among its athlete's seat-holding bookings with the same
    coach, by start (then id); None when the booking holds no seat. One query for the batch."""
    holding = [b for b in bookings if b.status in SEAT_HOLDING]
    result: dict[UUID, int | None] = {b.id: None for b in bookings}
    if not holding:
        return result
    pairs = {(b.user_id, b.coach_id) for b in holding}
    rows = (
        await Booking.filter(
            user_id__in={u for u, _ in pairs},
            coach_id__in={c for _, c in pairs},
            status__in=SEAT_HOLDING,
        )
        .order_by("start_at", "id")
        .values_list("id", "user_id", "coach_id")
    )
    rank: dict[tuple[UUID, UUID], int] = defaultdict(int)
    wanted = {b.id for b in holding}
    for row_id, user_id, coach_id in rows:
        pair = (UUID(str(user_id)), UUID(str(coach_id)))
        if pair not in pairs:
            continue
        rank[pair] += 1
        booking_id = UUID(str(row_id))
        if booking_id in wanted:
            result[booking_id] = rank[pair]
    return result
