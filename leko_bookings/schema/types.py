"""GraphQL object types: the contract's names, each mapped from one read model in one place.

The fields a calendar shows are plain attributes (no resolver): Strawberry reads them as they
are, and compiled plans (`plans.py`) complete them in one pass. serviceCardinality comes with
the booking (the store reads the ranks of a page at once). An event's availability (`seatsTaken`,
`seatsLeft`, `bookable`, `viewerBooking`) is plain values where `events` reads it with the event,
and awaitable values (`Later`) filled by the request's loaders elsewhere. Fields with a resolver,
each batched per request by a loader of the context: `Booking.history`, `Booking.order`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator, Iterable, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from leko_bookings import models
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.events import bookable, event_seats_left
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.backed import backed
from leko_bookings.schema.context import Info, current
from leko_bookings.schema.node import Node, global_id
from leko_bookings.store.views import (
    BookingView,
    EventView,
    HistoryEntryView,
    OrderView,
    TimeSlotView,
)

V = TypeVar("V")


@strawberry.type
class TimeSlot:
    """The shape of an event's time slot. Its objects are the read models themselves
    (`TimeSlotView`, the same attribute names): the type implements no interface, so graphql-core
    and compiled plans read any object's attributes, and nothing is copied per booking."""

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


class Later(Generic[V]):
    """An availability field's value for an event not read with it (a booking's event, ...):
    graphql-core awaits it when the query selects the field, through the request's loaders;
    nothing is read otherwise. A compiled plan gives such a value back to graphql-core."""

    __slots__ = ("event", "field")

    def __init__(self, event: EventView, field: str) -> None:
        self.event = event
        self.field = field

    def __await__(self) -> Generator[Any, None, V]:
        return self._value().__await__()

    async def _value(self) -> Any:
        context, event = current(), self.event
        if self.field in ("waitlist_length", "viewer_waitlist_position"):
            summary = await context.waitlist.load(event.event_id)
            return getattr(
                summary, "length" if self.field == "waitlist_length" else "viewer_position"
            )
        if self.field == "viewer_booking":
            key = (event.event_id, True)
            return _booking_or_none(await context.viewer_booking.load(key))
        taken = await context.seats_taken.load(event.event_id)
        if self.field == "seats_left":
            return event_seats_left(event, taken)
        return bookable(context.ctx, event, taken) if self.field == "bookable" else taken


def _booking_or_none(found: BookingView | None) -> Booking | None:
    return None if found is None else Booking.of(found)


@strawberry.type
class Event(Node):
    """A catalog event. Its availability is read with the events query's listing (plain values),
    and through per-request loaders elsewhere (a booking's event: `Later`): a constant number of
    statements either way."""

    event_id: UUID
    coach_id: UUID
    sport_id: UUID
    start_at: datetime
    end_at: datetime
    event_status: models.EventStatus
    timeslot: TimeSlotView = strawberry.field(graphql_type=TimeSlot)
    seats_taken: int | Later[int] = strawberry.field(
        graphql_type=int, description="Seats held: bookings Pending, Accepted or disputed."
    )
    seats_left: int | Later[int] = strawberry.field(
        graphql_type=int, description="numberOfParticipants - seatsTaken, never below 0."
    )
    bookable: bool | Later[bool] = strawberry.field(
        graphql_type=bool,
        description="Scheduled, starting at least the order lead time from now, a seat left.",
    )
    viewer_booking: Booking | Later[Booking | None] | None = strawberry.field(
        graphql_type=Annotated["Booking", strawberry.lazy("leko_bookings.schema.types")] | None,
        description="Your own seat-holding booking in this event.",
    )
    waitlist_length: Later[int] = strawberry.field(
        graphql_type=int, description="Athletes waiting for a seat (joinWaitlist)."
    )
    viewer_waitlist_position: Later[int | None] = strawberry.field(
        graphql_type=int | None,
        description="Your place in the waitlist (1: the next to get a seat), or null.",
    )

    @classmethod
    def of(
        cls,
        e: EventView,
        seats_taken: int | None = None,
        viewer_bookings: Mapping[UUID, BookingView] | None = None,
        now: Context | None = None,
    ) -> Event:
        """An event as GraphQL shows it; its availability given (`seats_taken`, the caller's
        `viewer_bookings` and context when read with the event: plain values a plan completes)
        or left to the request's loaders (`Later`). Fields are read from `e` when selected
        (`backed.py`)."""
        event: Any = _EVENT(e)
        event.given_seats, event.viewer_bookings, event.now = seats_taken, viewer_bookings, now
        return event


def _seats_taken(event: Any) -> int | Later[int]:
    seats: int | None = event.given_seats
    return Later(event.view, "seats_taken") if seats is None else seats


def _seats_left(event: Any) -> int | Later[int]:
    seats: int | None = event.given_seats
    return Later(event.view, "seats_left") if seats is None else event_seats_left(event.view, seats)


def _bookable(event: Any) -> bool | Later[bool]:
    seats: int | None = event.given_seats
    if seats is None or event.now is None:
        return Later(event.view, "bookable")
    return bookable(event.now, event.view, seats)


def _viewer_booking(event: Any) -> Booking | Later[Booking | None] | None:
    viewer: Mapping[UUID, BookingView] | None = event.viewer_bookings
    if viewer is None:
        return Later(event.view, "viewer_booking")
    return _booking_or_none(viewer.get(event.view.event_id))


_EVENT = backed(
    Event,
    EventView,
    {
        "id": lambda event: global_id("Event", event.view.event_id),
        "seats_taken": _seats_taken,
        "seats_left": _seats_left,
        "bookable": _bookable,
        "viewer_booking": _viewer_booking,
        "waitlist_length": lambda event: Later(event.view, "waitlist_length"),
        "viewer_waitlist_position": lambda event: Later(event.view, "viewer_waitlist_position"),
    },
    slots=("given_seats", "viewer_bookings", "now"),
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


async def _order(root: Booking, info: Info) -> BookingOrder:
    ranked = selects(info, "bookings", "serviceCardinality")
    return BookingOrder.of(await info.context.orders.load((root.order_id, ranked)))


@strawberry.type
class Booking(Node):
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
    timeslot: TimeSlotView = strawberry.field(graphql_type=TimeSlot)
    event: Event
    order: BookingOrder = strawberry.field(
        resolver=_order, description="The order this booking belongs to."
    )
    rescheduled_to: UUID | None = strawberry.field(
        description="The bookingId of the booking that replaced this one when it was rescheduled "
        "(this one is then Canceled); null when it was not."
    )
    rescheduled_from: UUID | None = strawberry.field(
        description="The bookingId of the booking this one replaced by a reschedule; null when "
        "it replaced none."
    )

    @classmethod
    def of(cls, b: BookingView) -> Booking:
        """A booking as GraphQL shows it: fields read from `b` when selected (`backed.py`)."""
        return _BOOKING(b)


_BOOKING = backed(
    Booking,
    BookingView,
    {
        "id": lambda booking: global_id("Booking", booking.view.booking_id),
        "event": lambda booking: Event.of(booking.view.event),
        # the event's, read in C rather than through BookingView's properties
        "event_status": attrgetter("view.event.event_status"),
        "sport_id": attrgetter("view.event.sport_id"),
        "timeslot": attrgetter("view.event.timeslot"),
    },
)


@strawberry.type
class BookingOrder(Node):
    order_id: UUID
    user_id: UUID
    status: models.OrderStatus
    payment_status: models.PaymentStatus
    created_at: datetime
    bookings: list[Booking]

    @classmethod
    def of(cls, o: OrderView) -> BookingOrder:
        return cls(
            id=global_id("BookingOrder", o.order_id),
            order_id=o.order_id,
            user_id=o.user_id,
            status=o.status,
            payment_status=o.payment_status,
            created_at=o.created_at,
            bookings=[Booking.of(b) for b in o.bookings],
        )


LOOKAHEADS = 1024  # answers of `selects` kept across requests (least recently used dropped)
_LOOKAHEAD: OrderedDict[tuple[int, tuple[str, ...], tuple[str, ...]], tuple[Any, bool]] = (
    OrderedDict()
)


def selects(info: Info, *path: str) -> bool:
    """Whether the query selects `path` (GraphQL field names) below the current field, through
    fragments and aliases (directives not judged: a field under @skip counts as selected): a
    reader's lookahead, so the store reads only what is shown. The answer depends only on the
    document and where the field is in it, so it is kept for the next request with the same
    document (the parser cache gives it the same operation node, kept alive here)."""
    operation = info.operation
    where = tuple(k for k in info.path.as_list() if isinstance(k, str))
    key = (id(operation), where, path)
    known = _LOOKAHEAD.get(key)
    if known is not None and known[0] is operation:
        _LOOKAHEAD.move_to_end(key)
        return known[1]
    found = _selects([s for f in info.selected_fields for s in f.selections], path)
    _LOOKAHEAD[key] = (operation, found)
    if len(_LOOKAHEAD) > LOOKAHEADS:
        _LOOKAHEAD.popitem(last=False)
    return found


def _selects(selections: Iterable[Selection], path: tuple[str, ...]) -> bool:
    name, rest = path[0], path[1:]
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name and (not rest or _selects(selection.selections, rest)):
                return True
        elif _selects(selection.selections, path):
            return True
    return False
