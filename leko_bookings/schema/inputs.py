"""GraphQL input types, named as the contract and the import file name their fields."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings.models import (
    Currency,
    Eligibility,
    EventStatus,
    Level,
    PaymentType,
    SlotPaymentMethod,
    SlotType,
)
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names


@strawberry.input
class PaymentMethodInput:
    type: PaymentType
    method_id: UUID | None = None


@strawberry.input
class TimeSlotInput:
    time_slot_id: UUID
    start_time: str
    end_time: str
    number_of_participants: int
    slot_type: SlotType
    age_from: int
    age_to: int
    duration: int
    price: int
    price_currency: Currency
    payment_method: SlotPaymentMethod
    address_id: UUID | None = None
    public: bool | None = None
    level: Level | None = None
    eligibility: Eligibility | None = None


@strawberry.input
class EventInput:
    event_id: UUID
    coach_id: UUID
    sport_id: UUID
    start_at: datetime
    end_at: datetime
    timeslot: TimeSlotInput
    event_status: EventStatus = EventStatus.Scheduled
