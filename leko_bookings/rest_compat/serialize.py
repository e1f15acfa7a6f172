"""Read models as the contract's JSON (`Booking`, `BookingOrder`, `TimeSlot`): each shape is
written once, over the typed views the resolvers return."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from leko_bookings.http import utc_instant
from leko_bookings.store.views import BookingView, OrderView, TimeSlotView


class Json(JSONResponse):
    """A JSON answer encoded by orjson: the bytes Starlette's JSONResponse writes (compact, UTF-8),
    in a fraction of the time (a month list is ~50 bookings)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def timeslot_json(t: TimeSlotView) -> dict[str, Any]:
    slot: dict[str, Any] = {
        "timeSlotId": str(t.time_slot_id),
        "startTime": t.start_time,
        "endTime": t.end_time,
        "numberOfParticipants": t.number_of_participants,
        "slotType": t.slot_type.value,
        "ageFrom": t.age_from,
        "ageTo": t.age_to,
        "duration": t.duration,
        "price": t.price,
        "priceCurrency": t.price_currency.value,
        "paymentMethod": t.payment_method.value,
    }
    # Optional fields without a value are left out (SPEC_NOTES, Reading).
    if t.address_id is not None:
        slot["addressId"] = str(t.address_id)
    if t.public is not None:
        slot["public"] = t.public
    if t.level is not None:
        slot["level"] = t.level.value
    if t.eligibility is not None:
        slot["eligibility"] = t.eligibility.value
    return slot


def booking_json(b: BookingView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "bookingId": str(b.booking_id),
        "orderId": str(b.order_id),
        "userId": str(b.user_id),
        "coachId": str(b.coach_id),
        "eventId": str(b.event_id),
        "startAt": utc_instant(b.start_at),
        "endAt": utc_instant(b.end_at),
        "bookingStatus": b.booking_status.value,
        "eventStatus": b.event.event_status.value,
        "completed": b.completed,
        "note": b.note,
        "sportId": str(b.event.sport_id),
        "serviceCardinality": b.service_cardinality,
        "timeslot": timeslot_json(b.event.timeslot),
    }
    if b.canceled_at is not None:
        body["canceledAt"] = utc_instant(b.canceled_at)
    if b.canceled_by_role is not None:
        body["canceledByRole"] = b.canceled_by_role.value
    if b.cancellation_reason_code is not None:
        body["cancellationReasonCode"] = b.cancellation_reason_code.value
    if b.cancellation_reason_text is not None:
        body["cancellationReasonText"] = b.cancellation_reason_text
    return body


def order_json(o: OrderView) -> dict[str, Any]:
    return {
        "orderId": str(o.order_id),
        "userId": str(o.user_id),
        "status": o.status.value,
        "paymentStatus": o.payment_status.value,
        "createdAt": utc_instant(o.created_at),
        "bookings": [booking_json(b) for b in o.bookings],
    }
