"""Erasing a user's data: what is held of them, and the statements that remove or anonymise it
(the rules of what goes and what stays: `resolvers/erasure.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Subquery

from leko_bookings.models import Booking, BookingHistory, Event, EventStatus, Notification, Order
from leko_bookings.store.views import NIL


@dataclass(frozen=True, slots=True)
class Held:
    """What the service holds of one user."""

    own_bookings: int  # as the athlete
    coached_bookings: list[UUID]  # as the coach
    acted: bool  # named in some booking's history
    orders: bool
    told: bool  # a notification's recipient

    @property
    def anything(self) -> bool:
        return bool(
            self.own_bookings or self.coached_bookings or self.acted or self.orders or self.told
        )


async def held_of(user_id: UUID) -> Held:
    return Held(
        own_bookings=await Booking.filter(user_id=user_id).count(),
        coached_bookings=[b.id for b in await Booking.filter(coach_id=user_id).only("id")],
        acted=await BookingHistory.filter(actor_id=user_id).exists(),
        orders=await Order.filter(user_id=user_id).exists(),
        told=await Notification.filter(recipient_id=user_id).exists(),
    )


async def delete_as_athlete(user_id: UUID) -> None:
    """The user's bookings with their notifications and history (cascade), and their orders."""
    own_ids = Booking.filter(user_id=user_id).values("id")
    await Notification.filter(booking_id__in=Subquery(own_ids)).delete()
    await Booking.filter(user_id=user_id).delete()
    await Order.filter(user_id=user_id).delete()


async def coached(user_id: UUID) -> list[Booking]:
    return list(await Booking.filter(coach_id=user_id))


async def anonymise(user_id: UUID, now: datetime) -> None:
    """No trace of the user as a coach, actor or recipient: the nil id on their bookings (notes
    cleared) and events (Canceled), no name in any history, no notification addressed to them."""
    await Booking.filter(coach_id=user_id).update(coach_id=NIL, note=None, updated_at=now)
    await Event.filter(coach_id=user_id).update(
        coach_id=NIL, status=EventStatus.Canceled, updated_at=now
    )
    await BookingHistory.filter(actor_id=user_id).update(actor_id=None)
    await Notification.filter(recipient_id=user_id).delete()
