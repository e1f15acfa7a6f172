"""GraphQL object types: the contract's names, each mapped from one read model in one place.

Every field but `Booking.history` is a plain attribute (no resolver): Strawberry reads it as it
is. serviceCardinality comes with the booking (the store reads the ranks of a page at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from leko_bookings import models
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import Info
from leko_bookings.store.views import (
    BookingView,
    EventView,
    HistoryEntryView,
    OrderView,
    TimeSlotView,
)


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
    def of(cls, t: TimeSlotView) -> TimeSlot:
        return cls(
            time_slot_id=t.time_slot_id,
            start_time=t.start_time,
            end_time=t.end_time,
            number_of_participants=t.number_of_participants,
            slot_type=t.slot_type,
            age_from=t.age_from,
            age_to=t.age_to,
            duration=t.duration,
            price=t.price,
            price_currency=t.price_currency,
            payment_method=t.payment_method,
            address_id=t.address_id,
            public=t.public,
            level=t.level,
            eligibility=t.eligibility,
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
    def of(cls, e: EventView) -> Event:
        return cls(
            event_id=e.event_id,
            coach_id=e.coach_id,
            sport_id=e.sport_id,
            start_at=e.start_at,
            end_at=e.end_at,
            event_status=e.event_status,
            timeslot=TimeSlot.of(e.timeslot),
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
    def of(cls, h: HistoryEntryView) -> BookingHistoryEntry:
        return cls(
            at=h.at,
            actor_id=h.actor_id,
            actor_role=h.actor_role,
            action=h.action,
            from_status=h.from_status,
            to_status=h.to_status,
            detail=h.detail,
        )


async def _history(root: Booking, info: Info) -> list[BookingHistoryEntry]:
    return [BookingHistoryEntry.of(h) for h in await info.context.history.load(root.booking_id)]


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
    service_cardinality: int | None = strawberry.field(
        description="1-based rank among the athlete's seat-holding bookings with this coach."
    )
    history: list[BookingHistoryEntry] = strawberry.field(
        resolver=_history,
        description="Append-only: who did what to this booking, oldest first.",
    )
    timeslot: TimeSlot
    event: Event

    @classmethod
    def of(cls, b: BookingView) -> Booking:
        event = Event.of(b.event)
        return cls(
            booking_id=b.booking_id,
            order_id=b.order_id,
            user_id=b.user_id,
            coach_id=b.coach_id,
            event_id=b.event_id,
            start_at=b.start_at,
            end_at=b.end_at,
            booking_status=b.booking_status,
            event_status=event.event_status,
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
            service_cardinality=b.service_cardinality,
            timeslot=event.timeslot,
            event=event,
        )


@strawberry.type
class BookingOrder:
    order_id: UUID
    user_id: UUID
    status: models.OrderStatus
    payment_status: models.PaymentStatus
    created_at: datetime
    bookings: list[Booking]

    @classmethod
    def of(cls, o: OrderView) -> BookingOrder:
        return cls(
            order_id=o.order_id,
            user_id=o.user_id,
            status=o.status,
            payment_status=o.payment_status,
            created_at=o.created_at,
            bookings=[Booking.of(b) for b in o.bookings],
        )


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


def selects(info: Info, *path: str) -> bool:
    """Whether the query selects `path` (GraphQL field names) below the current field, through
    fragments and aliases (directives not judged: a field under @skip counts as selected): a
    reader's lookahead, so the store reads only what is shown."""
    return _selects([s for f in info.selected_fields for s in f.selections], path)


def _selects(selections: Iterable[Selection], path: tuple[str, ...]) -> bool:
    name, rest = path[0], path[1:]
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name and (not rest or _selects(selection.selections, rest)):
                return True
        elif _selects(selection.selections, path):
            return True
    return False
