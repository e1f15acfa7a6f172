"""GraphQL object types: the contract's names, built from the models (no rules here)."""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import Selection

from leko_bookings import models
from leko_bookings.resolvers.reading import BookingRow, columns, row_of
from leko_bookings.resolvers.views import RankKey, ranks_of
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import GraphQLContext, Info
from leko_bookings.store.sql import Row

E = TypeVar("E", bound=Enum)


def _maybe(kind: type[E], value: Any) -> E | None:
    return None if value is None else kind(value)


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
    def of(cls, e: Row) -> TimeSlot:
        """From an event's columns (enum columns as their values or members)."""
        return cls(
            time_slot_id=e["timeslot_id"],
            start_time=e["slot_start_time"],
            end_time=e["slot_end_time"],
            number_of_participants=e["capacity"],
            slot_type=models.SlotType(e["slot_type"]),
            age_from=e["age_from"],
            age_to=e["age_to"],
            duration=e["duration"],
            price=e["price"],
            price_currency=models.Currency(e["price_currency"]),
            payment_method=models.SlotPaymentMethod(e["payment_method"]),
            address_id=e["address_id"],
            public=e["public"],
            level=_maybe(models.Level, e["level"]),
            eligibility=_maybe(models.Eligibility, e["eligibility"]),
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
        return cls.of_row(columns(e))

    @classmethod
    def of_row(cls, e: Row, timeslot: TimeSlot | None = None) -> Event:
        return cls(
            event_id=e["id"],
            coach_id=e["coach_id"],
            sport_id=e["sport_id"],
            start_at=e["start_at"],
            end_at=e["end_at"],
            event_status=models.EventStatus(e["status"]),
            timeslot=timeslot or TimeSlot.of(e),
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


class _Cardinality:
    """A booking's serviceCardinality, loaded (batched with the other bookings of the request)
    only if a query awaits it: graphql-core awaits a field value that is awaitable."""

    __slots__ = ("_key", "_loader")

    def __init__(self, loader: DataLoader[RankKey, int | None], key: RankKey) -> None:
        self._loader = loader
        self._key = key

    def __await__(self) -> Generator[Any, None, int | None]:
        return self._loader.load(self._key).__await__()


async def _history(root: Booking, info: Info) -> list[BookingHistoryEntry]:
    return [BookingHistoryEntry.of(h) for h in await info.context.history.load(root.booking_id)]


# The booking's columns shown as they are, under their own names.
_PLAIN_COLUMNS = (
    "order_id",
    "user_id",
    "coach_id",
    "event_id",
    "start_at",
    "end_at",
    "completed",
    "note",
    "canceled_at",
    "cancellation_reason_text",
    "dismissed_at",
    "dispute_reason",
    "dispute_resolution",
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
    rank_key: strawberry.Private[RankKey]

    @classmethod
    def of(cls, b: models.Booking, context: GraphQLContext) -> Booking:
        """From a model with its event loaded."""
        return cls.of_row(row_of(b), context)

    @classmethod
    def of_row(cls, row: BookingRow, context: GraphQLContext) -> Booking:
        b, event = row.booking, row.event
        timeslot = TimeSlot.of(event)
        status = models.BookingStatus(b["status"])
        rank_key = RankKey(b["id"], b["user_id"], b["coach_id"], status, b["start_at"])
        return cls(
            booking_id=b["id"],
            **{column: b[column] for column in _PLAIN_COLUMNS},
            booking_status=status,
            event_status=models.EventStatus(event["status"]),
            canceled_by_role=_maybe(models.CanceledByRole, b["canceled_by_role"]),
            cancellation_reason_code=_maybe(
                models.CancellationReasonCode, b["cancellation_reason_code"]
            ),
            sport_id=event["sport_id"],
            rank_key=rank_key,
            service_cardinality=_Cardinality(context.cardinality, rank_key),
            timeslot=timeslot,
            event=Event.of_row(event, timeslot),
        )

    # A plain attribute: the rank itself when the list resolver computed the page's ranks at
    # once (see `with_cardinalities`), else the awaitable `_Cardinality`.
    service_cardinality: int | Awaitable[int | None] | None = strawberry.field(
        graphql_type=int | None,
        description="1-based rank among the athlete's seat-holding bookings with this coach.",
    )
    history: list[BookingHistoryEntry] = strawberry.field(
        resolver=_history,
        description="Append-only: who did what to this booking, oldest first.",
    )
    # Plain attributes (built with the booking): Strawberry reads them without a resolver call.
    timeslot: TimeSlot
    event: Event


def _selects(selections: Iterable[Selection], path: tuple[str, ...]) -> bool:
    """Whether `path` (GraphQL field names) is selected below `selections`, through fragments
    (directives not judged: a field under @skip counts as selected)."""
    name, rest = path[0], path[1:]
    for selection in selections:
        if isinstance(selection, strawberry.types.nodes.SelectedField):
            if selection.name == name and (not rest or _selects(selection.selections, rest)):
                return True
        elif _selects(selection.selections, path):
            return True
    return False


async def with_cardinalities(info: Info, bookings: list[Booking], *path: str) -> None:
    """When the query selects `serviceCardinality` at `path` (below the current field), the
    ranks of all `bookings` at once (one query, as the dataloader would batch them), set as
    plain values: no awaitable per booking for the executor to gather."""
    if not bookings:
        return
    below = [s for field in info.selected_fields for s in field.selections]  # the current field's
    if not _selects(below, (*path, "serviceCardinality")):
        return
    ranks = await ranks_of([b.rank_key for b in bookings])
    for booking in bookings:
        booking.service_cardinality = ranks[booking.booking_id]


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
