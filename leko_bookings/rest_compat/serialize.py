"""Resolver results as the contract's JSON (`Booking`, `BookingOrder`, `TimeSlot`).

One shape, written over columns (`BookingRow`): the lists read rows as the database returns
them; models (orders, changed bookings) are seen as the same columns first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leko_bookings.models import Booking
from leko_bookings.resolvers.reading import BookingRow, row_of
from leko_bookings.resolvers.views import OrderView, RankKey, ranks_of
from leko_bookings.store.sql import Row


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def timeslot_json(e: Row) -> dict[str, Any]:
    slot = {
        "timeSlotId": str(e["timeslot_id"]),
        "startTime": e["slot_start_time"],
        "endTime": e["slot_end_time"],
        "numberOfParticipants": e["capacity"],
        "slotType": e["slot_type"],
        "ageFrom": e["age_from"],
        "ageTo": e["age_to"],
        "duration": e["duration"],
        "price": e["price"],
        "priceCurrency": e["price_currency"],
        "paymentMethod": e["payment_method"],
    }
    # Optional fields without a value are left out (SPEC_NOTES, Reading).
    if e["address_id"] is not None:
        slot["addressId"] = str(e["address_id"])
    for key in ("public", "level", "eligibility"):
        if e[key] is not None:
            slot[key] = e[key]
    return slot


_OPTIONAL = (
    ("canceled_by_role", "canceledByRole"),
    ("cancellation_reason_code", "cancellationReasonCode"),
    ("cancellation_reason_text", "cancellationReasonText"),
)


def booking_json(row: BookingRow, cardinality: int | None) -> dict[str, Any]:
    b, e = row.booking, row.event
    body = {
        "bookingId": str(b["id"]),
        "orderId": str(b["order_id"]),
        "userId": str(b["user_id"]),
        "coachId": str(b["coach_id"]),
        "eventId": str(b["event_id"]),
        "startAt": instant(b["start_at"]),
        "endAt": instant(b["end_at"]),
        "bookingStatus": b["status"],
        "eventStatus": e["status"],
        "completed": b["completed"],
        "note": b["note"],
        "sportId": str(e["sport_id"]),
        "serviceCardinality": cardinality,
        "timeslot": timeslot_json(e),
    }
    if b["canceled_at"] is not None:
        body["canceledAt"] = instant(b["canceled_at"])
    for key, name in _OPTIONAL:
        if b[key] is not None:
            body[name] = b[key]
    return body


async def rows_json(rows: list[BookingRow]) -> list[dict[str, Any]]:
    keys = [
        RankKey(r.id, b["user_id"], b["coach_id"], b["status"], r.start_at)
        for r in rows
        for b in (r.booking,)
    ]
    ranks = await ranks_of(keys)
    return [booking_json(r, ranks[r.id]) for r in rows]


async def bookings_json(bookings: list[Booking]) -> list[dict[str, Any]]:
    return await rows_json([row_of(b) for b in bookings])


async def orders_json(views: list[OrderView]) -> list[dict[str, Any]]:
    rows = [[row_of(b) for b in v.bookings] for v in views]
    ranks = await ranks_of(
        [
            RankKey(b.id, b.user_id, b.coach_id, b.status, b.start_at)
            for v in views
            for b in v.bookings
        ]
    )
    return [
        {
            "orderId": str(v.order.id),
            "userId": str(v.order.user_id),
            "status": v.status.value,
            "paymentStatus": v.order.payment_status.value,
            "createdAt": instant(v.order.created_at),
            "bookings": [booking_json(r, ranks[r.id]) for r in order_rows],
        }
        for v, order_rows in zip(views, rows, strict=True)
    ]
