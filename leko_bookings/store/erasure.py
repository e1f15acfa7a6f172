"""Erasing a user's data: what is held of them, and the statements that remove or anonymise it
(the rules of what goes and what stays: `resolvers/erasure.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Subquery

from leko_bookings.models import (
    Booking,
    BookingHistory,
    BookingStatus,
    CalendarFeed,
    Event,
    EventStatus,
    Notification,
    Order,
)
from leko_bookings.store import idempotency
from leko_bookings.store.events import next_revision
from leko_bookings.store.sql import Params, as_uuid
from leko_bookings.store.views import NIL


@dataclass(frozen=True, slots=True)
class Held:
    """What the service holds of one user."""

    own_bookings: int  # as the athlete
    coached_bookings: list[UUID]  # as the coach
    acted: bool  # named in some booking's history
    orders: bool
    told: bool  # a notification's recipient
    feed: bool  # a calendar feed
    keys: bool  # an order's Idempotency-Key, theirs or for them

    @property
    def anything(self) -> bool:
        return bool(
            self.own_bookings
            or self.coached_bookings
            or self.acted
            or self.orders
            or self.told
            or self.feed
            or self.keys
        )


async def held_of(user_id: UUID) -> Held:
    return Held(
        own_bookings=await Booking.filter(user_id=user_id).count(),
        coached_bookings=[b.id for b in await Booking.filter(coach_id=user_id).only("id")],
        acted=await BookingHistory.filter(actor_id=user_id).exists(),
        orders=await Order.filter(user_id=user_id).exists(),
        told=await Notification.filter(recipient_id=user_id).exists(),
        feed=await CalendarFeed.filter(user_id=user_id).exists(),
        keys=await idempotency.held_of(user_id),
    )


async def seat_events(user_id: UUID, holding: Sequence[BookingStatus]) -> list[UUID]:
    """The events in which the user holds a seat (`holding`: the statuses that do)."""
    found = Booking.filter(user_id=user_id, status__in=list(holding)).distinct()
    return [as_uuid(e) for e in await found.values_list("event_id", flat=True)]


async def history_sizes_by_event(user_id: UUID) -> dict[UUID, int]:
    """For each event the user booked: how many history entries their bookings in it hold."""
    p = Params()
    rows = await p.rows(
        'SELECT b."event_id", COUNT(h."id") FROM "booking" b '
        'LEFT JOIN "booking_history" h ON h."booking_id" = b."id" '
        f'WHERE b."user_id" = {p(user_id)} GROUP BY b."event_id"'
    )
    return {as_uuid(event_id): int(n) for event_id, n in rows}


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
        coach_id=NIL, status=EventStatus.Canceled, updated_at=now, revision=next_revision()
    )
    await BookingHistory.filter(actor_id=user_id).update(actor_id=None)
    await Notification.filter(recipient_id=user_id).delete()
