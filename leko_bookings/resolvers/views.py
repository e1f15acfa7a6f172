"""Derived values the contract shows: an order's status, a booking's serviceCardinality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from leko_bookings.models import SEAT_HOLDING, Booking, BookingStatus, Order, OrderStatus
from leko_bookings.store.sql import Params

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


class RankKey(NamedTuple):
    """What a booking's serviceCardinality depends on."""

    id: UUID
    user_id: UUID
    coach_id: UUID
    status: str
    start_at: datetime


async def ranks_of(bookings: list[RankKey]) -> dict[UUID, int | None]:
    """1-based rank of each booking among its athlete's seat-holding bookings with the same
    coach, by start (then id); None when the booking holds no seat. One query for the batch,
    ranked by the database: only the bookings asked for come back, and bookings starting after
    the last of them (which cannot precede any) are not read."""
    holding = [b for b in bookings if b.status in SEAT_HOLDING]
    result: dict[UUID, int | None] = {b.id: None for b in bookings}
    if not holding:
        return result
    p = Params()
    users = p.any_of(list({b.user_id for b in holding}), "uuid")
    coaches = p.any_of(list({b.coach_id for b in holding}), "uuid")
    statuses = p.any_of([s.value for s in SEAT_HOLDING], "text")
    last = p(max(b.start_at for b in holding))
    wanted = p.any_of([b.id for b in holding], "uuid")
    rows = await p.fetch(
        'SELECT "id", "n" FROM (SELECT "id", ROW_NUMBER() OVER '
        '(PARTITION BY "user_id", "coach_id" ORDER BY "start_at", "id") "n" FROM "booking" '
        f'WHERE "user_id" {users} AND "coach_id" {coaches} AND "status" {statuses} '
        f'AND "start_at" <= {last}) ranked WHERE "id" {wanted}'
    )
    for row in rows:
        booking_id = row["id"]
        result[booking_id if isinstance(booking_id, UUID) else UUID(booking_id)] = row["n"]
    return result
