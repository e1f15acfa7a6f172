"""GraphQL object types: the contract's names, built from the models (no rules here)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from leko_bookings import models
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import Info


@strawberry.type
class TimeSlot:
    time_slot_id: UUID
    start_time: str
    end_time: str
    number_of_participants: int
    slot_type: models.SlotType
    age_from: int
    age_to: int
    duration: int
    price: int
    price_currency: models.Currency
    payment_method: models.SlotPaymentMethod
    address_id: UUID | None
    public: bool | None
    level: models.Level | None
    eligibility: models.Eligibility | None

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
    event_status: models.EventStatus
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


@strawberry.type(description="One step of a booking's history: who did what, when.")
class BookingHistoryEntry:
    at: datetime
    actor_id: UUID | None
    actor_role: models.ActorRole
    action: models.HistoryAction
    from_status: models.BookingStatus | None
    to_status: models.BookingStatus | None
    detail: str | None

    @classmethod
    def of(cls, h: models.BookingHistory) -> BookingHistoryEntry:
        return cls(
            at=h.at,
            actor_id=h.actor_id,
            actor_role=h.actor_role,
            action=h.action,
            from_status=h.from_status,
            to_status=h.to_status,
            detail=h.detail,
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
    booking_status: models.BookingStatus
    event_status: models.EventStatus | None
    completed: bool
    note: str | None
    canceled_at: datetime | None
    canceled_by_role: models.CanceledByRole | None
    cancellation_reason_code: models.CancellationReasonCode | None
    cancellation_reason_text: str | None
    sport_id: UUID
    dismissed_at: datetime | None
    dispute_reason: str | None
    dispute_resolution: str | None
    model: strawberry.Private[models.Booking]

    @classmethod
    def of(cls, b: models.Booking) -> Booking:
        event: models.Event = b.event
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
            dismissed_at=b.dismissed_at,
            dispute_reason=b.dispute_reason,
            dispute_resolution=b.dispute_resolution,
            model=b,
        )

    @strawberry.field(
        description="1-based rank among the athlete's seat-holding bookings with this coach."
    )
    async def service_cardinality(self, info: Info) -> int | None:
        return await info.context.cardinality.load(self.model)

    @strawberry.field(description="Append-only: who did what to this booking, oldest first.")
    async def history(self, info: Info) -> list[BookingHistoryEntry]:
        return [BookingHistoryEntry.of(h) for h in await info.context.history.load(self.booking_id)]

    @strawberry.field
    def timeslot(self) -> TimeSlot:
        return TimeSlot.of(self.model.event)

    @strawberry.field
    def event(self) -> Event:
        return Event.of(self.model.event)


@strawberry.type
class BookingOrder:
    order_id: UUID
    user_id: UUID
    status: models.OrderStatus
    payment_status: models.PaymentStatus
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
