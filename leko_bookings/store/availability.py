"""Events with their availability: the catalog listing (events and the seats held in each, one
statement), events by id, the seats held in given events, and a user's seat-holding bookings in
given events. Which statuses hold a seat is a rule (`resolvers/seats.py`), passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leko_bookings.models import BookingStatus, Event, EventStatus
from leko_bookings.store.events import event_view, event_view_of_row
from leko_bookings.store.sql import (
    PageBounds,
    Params,
    Row,
    as_uuid,
    columns_of,
    model_of,
    page_clause,
)
from leko_bookings.store.views import EventSeatsView

Holding = Sequence[BookingStatus]


@dataclass(frozen=True, slots=True)
class EventSelection:
    """Events overlapping [start, end) (half-open: touching ends do not overlap), of a coach
    and/or a sport when given, canceled ones only when asked."""

    start: datetime
    end: datetime
    coach_id: UUID | None = None
    sport_id: UUID | None = None
    include_canceled: bool = False


def _select(p: Params, holding: Holding) -> str:
    """The events' columns and the seats held in each (a correlated COUNT on the booking
    (event_id, status) index, evaluated for the rows returned)."""
    held = p.any_of([s.value for s in holding], "text")
    return (
        f'SELECT {columns_of(Event)}, (SELECT COUNT(*) FROM "booking" b '
        f'WHERE b."event_id" = e."id" AND b."status" {held}) "seats_taken" FROM "event" e'
    )


def _conditions(p: Params, s: EventSelection) -> list[str]:
    found = [f'"start_at" < {p(s.end)}', f'"end_at" > {p(s.start)}']
    if s.coach_id is not None:
        found.append(f'"coach_id" = {p(s.coach_id)}')
    if s.sport_id is not None:
        found.append(f'"sport_id" = {p(s.sport_id)}')
    if not s.include_canceled:
        found.append(f'"status" <> {p(EventStatus.Canceled.value)}')
    return found


def _seats_view(p: Params, row: Row) -> EventSeatsView:
    """A row of `_select` as its read model (SQLite's stored text decoded by the model)."""
    taken = int(row.pop("seats_taken"))
    event = event_view_of_row(row) if p.postgres else event_view(model_of(Event, row))
    return EventSeatsView(event, taken)


async def list_events(
    selection: EventSelection, bounds: PageBounds, holding: Holding
) -> list[EventSeatsView]:
    """A page of the selected events, by start then id, each with its seats taken."""
    p = Params()
    sql = _select(p, holding) + page_clause(p, _conditions(p, selection), bounds)
    return [_seats_view(p, row) for row in await p.fetch(sql)]


async def count_events(selection: EventSelection) -> int:
    p = Params()
    where = " AND ".join(_conditions(p, selection))
    rows = await p.fetch(f'SELECT COUNT(*) "n" FROM "event" WHERE {where}')
    return int(rows[0]["n"])


async def events_by_id(event_ids: Sequence[UUID], holding: Holding) -> list[EventSeatsView]:
    """These events (those that exist), each with its seats taken."""
    p = Params()
    sql = f'{_select(p, holding)} WHERE "id" {p.any_of(list(event_ids), "uuid")}'
    return [_seats_view(p, row) for row in await p.fetch(sql)]


async def seats_taken(event_ids: Sequence[UUID], holding: Holding) -> dict[UUID, int]:
    """The seats held in each of these events (absent: none)."""
    p = Params()
    ids, held = p.any_of(list(event_ids), "uuid"), p.any_of([s.value for s in holding], "text")
    rows = await p.fetch(
        f'SELECT "event_id", COUNT(*) "n" FROM "booking" WHERE "event_id" {ids} '
        f'AND "status" {held} GROUP BY "event_id"'
    )
    return {as_uuid(row["event_id"]): int(row["n"]) for row in rows}
