"""GraphQL object types: the contract's names, built from the models (no rules here)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings import models
from leko_bookings.errors import BookingError, ErrorCode
from leko_bookings.schema.context import Info

BookingStatus = strawberry.enum(models.BookingStatus)
EventStatus = strawberry.enum(models.EventStatus)
CanceledByRole = strawberry.enum(models.CanceledByRole)
CancellationReasonCode = strawberry.enum(models.CancellationReasonCode)
SlotType = strawberry.enum(models.SlotType)
Level = strawberry.enum(models.Level)
Eligibility = strawberry.enum(models.Eligibility)
Currency = strawberry.enum(models.Currency)
SlotPaymentMethod = strawberry.enum(models.SlotPaymentMethod)
PaymentType = strawberry.enum(models.PaymentType)
PaymentStatus = strawberry.enum(models.PaymentStatus)
OrderStatus = strawberry.enum(models.OrderStatus)
BookingErrorCode = strawberry.enum(BookingError, name="BookingErrorCode")
ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode")


@strawberry.type
class TimeSlot:
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
    address_id: UUID | None
    public: bool | None
    level: Level | None
    eligibility: Eligibility | None

    @classmethod
    def of(cls, e: models.Event) -> TimeSlot:
        return cls(
            time_slot_id=e.timeslot_id,
            start_time=e.slot_start_time,
            end_time=e.slot_end_time,
            number_of_participants=e.capacity,
            slot_type=e.slot_type,
            age_from=e.age_from,
            age_to=e.age_to,
            duration=e.duration,
            price=e.price,
            price_currency=e.price_currency,
            payment_method=e.payment_method,
            address_id=e.address_id,
            public=e.public,
            level=e.level,
            eligibility=e.eligibility,
        )


@strawberry.type
class Event:
    event_id: UUID
    coach_id: UUID
    sport_id: UUID
    start_at: datetime
    end_at: datetime
    event_status: EventStatus
    timeslot: TimeSlot

    @classmethod
    def of(cls, e: models.Event) -> Event:
        return cls(
            event_id=e.id,
            coach_id=e.coach_id,
            sport_id=e.sport_id,
            start_at=e.start_at,
            end_at=e.end_at,
            event_status=e.status,
            timeslot=TimeSlot.of(e),
        )


@strawberry.type
class Booking:
    booking_id: UUID
    order_id: UUID
    user_id: UUID
    coach_id: UUID
    event_id: UUID
    start_at: datetime
    end_at: datetime
    booking_status: BookingStatus
    event_status: EventStatus | None
    completed: bool
    note: str | None
    canceled_at: datetime | None
    canceled_by_role: CanceledByRole | None
    cancellation_reason_code: CancellationReasonCode | None
    cancellation_reason_text: str | None
    sport_id: UUID
    model: strawberry.Private[models.Booking]

    @classmethod
    def of(cls, b: models.Booking) -> Booking:
        event: models.Event = b.event  # type: ignore[assignment]
        return cls(
            booking_id=b.id,
            order_id=b.order_id,  # type: ignore[arg-type]
            user_id=b.user_id,
            coach_id=b.coach_id,
            event_id=b.event_id,  # type: ignore[arg-type]
            start_at=b.start_at,
            end_at=b.end_at,
            booking_status=b.status,
            event_status=event.status,
            completed=b.completed,
            note=b.note,
            canceled_at=b.canceled_at,
            canceled_by_role=b.canceled_by_role,
            cancellation_reason_code=b.cancellation_reason_code,
            cancellation_reason_text=b.cancellation_reason_text,
            sport_id=event.sport_id,
            model=b,
        )

    @strawberry.field(
        description="1-based rank among the athlete's seat-holding bookings with this coach."
    )
    async def service_cardinality(self, info: Info) -> int | None:
        return await info.context.cardinality.load(self.model)

    @strawberry.field
    def timeslot(self) -> TimeSlot:
        return TimeSlot.of(self.model.event)  # type: ignore[arg-type]

    @strawberry.field
    def event(self) -> Event:
        return Event.of(self.model.event)  # type: ignore[arg-type]


@strawberry.type
class BookingOrder:
    order_id: UUID
    user_id: UUID
    status: OrderStatus
    payment_status: PaymentStatus
    created_at: datetime
    bookings: list[Booking]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class BookingConnection:
    nodes: list[Booking]
    page_info: PageInfo


@strawberry.type
class BookingOrderConnection:
    nodes: list[BookingOrder]
    page_info: PageInfo
