"""Resolver results as the contract's JSON (`Booking`, `BookingOrder`, `TimeSlot`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leko_bookings.models import Booking, Event
from leko_bookings.resolvers.views import OrderView, service_cardinalities


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _present(**fields: Any) -> dict[str, Any]:
    """Optional fields without a value are left out (SPEC_NOTES, Reading)."""
    return {k: v for k, v in fields.items() if v is not None}


def timeslot_json(event: Event) -> dict[str, Any]:
    return {
        "timeSlotId": str(event.timeslot_id),
        "startTime": event.slot_start_time,
        "endTime": event.slot_end_time,
        "numberOfParticipants": event.capacity,
        "slotType": event.slot_type.value,
        "ageFrom": event.age_from,
        "ageTo": event.age_to,
        "duration": event.duration,
        "price": event.price,
        "priceCurrency": event.price_currency.value,
        "paymentMethod": event.payment_method.value,
        **_present(
            addressId=str(event.address_id) if event.address_id else None,
            public=event.public,
            level=event.level.value if event.level else None,
            eligibility=event.eligibility.value if event.eligibility else None,
        ),
    }


def booking_json(booking: Booking, cardinality: int | None) -> dict[str, Any]:
    event: Event = booking.event
    return {
        "bookingId": str(booking.id),
        "orderId": str(booking.order_id),
        "userId": str(booking.user_id),
        "coachId": str(booking.coach_id),
        "eventId": str(booking.event_id),
        "startAt": instant(booking.start_at),
        "endAt": instant(booking.end_at),
        "bookingStatus": booking.status.value,
        "eventStatus": event.status.value,
        "completed": booking.completed,
        "note": booking.note,
        "sportId": str(event.sport_id),
        "serviceCardinality": cardinality,
        "timeslot": timeslot_json(event),
        **_present(
            canceledAt=instant(booking.canceled_at) if booking.canceled_at else None,
            canceledByRole=booking.canceled_by_role.value if booking.canceled_by_role else None,
            cancellationReasonCode=(
                booking.cancellation_reason_code.value if booking.cancellation_reason_code else None
            ),
            cancellationReasonText=booking.cancellation_reason_text,
        ),
    }


async def bookings_json(bookings: list[Booking]) -> list[dict[str, Any]]:
    ranks = await service_cardinalities(bookings)
    return [booking_json(b, ranks[b.id]) for b in bookings]


async def orders_json(views: list[OrderView]) -> list[dict[str, Any]]:
    ranks = await service_cardinalities([b for v in views for b in v.bookings])
    return [
        {
            "orderId": str(v.order.id),
            "userId": str(v.order.user_id),
            "status": v.status.value,
            "paymentStatus": v.order.payment_status.value,
            "createdAt": instant(v.order.created_at),
            "bookings": [booking_json(b, ranks[b.id]) for b in v.bookings],
        }
        for v in views
    ]
