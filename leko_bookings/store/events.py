"""Events (each with its one time slot): read models, the rows an order locks, what a user and
the events already hold (read once they are locked), and the catalog's writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import F, Q

from leko_bookings.models import (
    BookingStatus,
    Currency,
    Eligibility,
    Event,
    EventStatus,
    Level,
    SlotPaymentMethod,
    SlotType,
)
from leko_bookings.store.sql import (
    Params,
    Row,
    as_instant,
    as_uuid,
    column_values,
    columns_of,
    enum_of,
    model_of,
)
from leko_bookings.store.views import EventView, make_event_view, make_time_slot_view

_EVENT_STATUS = enum_of(EventStatus)
_SLOT_TYPE = enum_of(SlotType)
_CURRENCY = enum_of(Currency)
_PAYMENT = enum_of(SlotPaymentMethod)
_LEVEL = enum_of(Level)
_ELIGIBILITY = enum_of(Eligibility)


EVENT_COLUMNS = (
    "id",
    "coach_id",
    "sport_id",
    "start_at",
    "end_at",
    "status",
    "timeslot_id",
    "slot_start_time",
    "slot_end_time",
    "capacity",
    "slot_type",
    "age_from",
    "age_to",
    "duration",
    "price",
    "price_currency",
    "payment_method",
    "address_id",
    "public",
    "level",
    "eligibility",
)
"""The columns an event's read model is made of, in the order `event_view_of_values` takes."""


def event_view_of_values(values: Sequence[Any]) -> EventView:
    """An event's `EVENT_COLUMNS` values (as PostgreSQL's driver returns them, or decoded) as its
    read model: enum members looked up by their text, no row dictionary."""
    (
        event_id,
        coach_id,
        sport_id,
        start_at,
        end_at,
        status,
        timeslot_id,
        slot_start_time,
        slot_end_time,
        capacity,
        slot_type,
        age_from,
        age_to,
        duration,
        price,
        price_currency,
        payment_method,
        address_id,
        public,
        level,
        eligibility,
    ) = values
    timeslot = make_time_slot_view(
        timeslot_id,
        slot_start_time,
        slot_end_time,
        capacity,
        _SLOT_TYPE[slot_type],
        age_from,
        age_to,
        duration,
        price,
        _CURRENCY[price_currency],
        _PAYMENT[payment_method],
        address_id,
        public,
        None if level is None else _LEVEL[level],
        None if eligibility is None else _ELIGIBILITY[eligibility],
    )
    return make_event_view(
        event_id, coach_id, sport_id, start_at, end_at, _EVENT_STATUS[status], timeslot
    )


def event_view_of_row(e: Row) -> EventView:
    """An event's columns (driver values, or a model's attributes) as its read model."""
    return event_view_of_values([e[c] for c in EVENT_COLUMNS])


def event_view(event: Event) -> EventView:
    """An event model as its read model."""
    return event_view_of_row(column_values(event))


async def lock_for_order(event_ids: Sequence[UUID]) -> dict[UUID, Event]:
    """Inside a transaction: the requested events' rows locked in id order (no deadlocks between
    orders); SQLite has one writer at a time."""
    p = Params()
    ids = p.any_of(list(event_ids), "uuid")
    lock = " FOR UPDATE" if p.postgres else ""
    rows = await p.fetch(
        f'SELECT {columns_of(Event)} FROM "event" WHERE "id" {ids} ORDER BY "id"{lock}'
    )
    return {e.id: e for e in (model_of(Event, row) for row in rows)}


@dataclass(frozen=True, slots=True)
class Commitments:
    """What the user and the events already hold, read once the rows are locked."""

    busy: list[tuple[datetime, datetime]]  # the user's live bookings and coached events
    held: dict[UUID, int]  # seats held per requested event
    upcoming: int  # the user's seats in events not started yet (the seat cap)
    waiting: frozenset[UUID] = frozenset()  # requested events the user waits for (a waitlist)


async def commitments(
    user_id: UUID, events: Sequence[Event], holding: Sequence[BookingStatus], now: datetime
) -> Commitments:
    """One statement, after the locks (its snapshot sees every order committed before them):
    the user's seat-holding bookings and scheduled coached events overlapping the requested
    span, the seats held in each requested event, the user's seats starting after `now`, and
    the requested events whose waitlist the user is in."""
    p = Params()
    user, held_in = p(user_id), p.any_of([s.value for s in holding], "text")
    lo, hi = p(min(e.start_at for e in events)), p(max(e.end_at for e in events))
    ids = p.any_of([e.id for e in events], "uuid")
    scheduled, at = p(EventStatus.Scheduled.value), p(now)
    rows = await p.fetch(  # no untyped NULL opens a column: PostgreSQL types it by the first
        'SELECT 1 "kind", NULL "a", NULL "b", "event_id", COUNT(*) "n" FROM "booking" '
        f'WHERE "event_id" {ids} AND "status" {held_in} GROUP BY "event_id" '
        'UNION ALL SELECT 0, "start_at", "end_at", NULL, NULL FROM "booking" '
        f'WHERE "user_id" = {user} AND "status" {held_in} '
        f'AND "start_at" < {hi} AND "end_at" > {lo} '
        'UNION ALL SELECT 0, "start_at", "end_at", NULL, NULL FROM "event" '
        f'WHERE "coach_id" = {user} AND "status" = {scheduled} '
        f'AND "start_at" < {hi} AND "end_at" > {lo} '
        'UNION ALL SELECT 2, NULL, NULL, NULL, COUNT(*) FROM "booking" '
        f'WHERE "user_id" = {user} AND "status" {held_in} AND "start_at" > {at} '
        'UNION ALL SELECT 3, NULL, NULL, "event_id", NULL FROM "waitlist_entry" '
        f'WHERE "user_id" = {user} AND "event_id" {ids}'
    )
    busy, held, upcoming, waiting = [], {}, 0, set()
    for row in rows:
        if row["kind"] == 0:
            busy.append((as_instant(row["a"]), as_instant(row["b"])))
        elif row["kind"] == 1:
            held[as_uuid(row["event_id"])] = row["n"]
        elif row["kind"] == 2:
            upcoming = row["n"]
        else:
            waiting.add(as_uuid(row["event_id"]))
    return Commitments(busy, held, upcoming, frozenset(waiting))


async def lock_event(event_id: UUID) -> Event | None:
    """Inside a transaction: one event row, locked."""
    return await Event.filter(id=event_id).select_for_update().first()


async def lock_events(event_ids: Sequence[UUID]) -> dict[UUID, Event]:
    """Inside a transaction: these events' rows (those that exist), locked in id order."""
    found = await Event.filter(id__in=list(event_ids)).order_by("id").select_for_update()
    return {e.id: e for e in found}


async def lock_coached(coach_id: UUID, also: Sequence[UUID] = ()) -> list[Event]:
    """Inside a transaction: a coach's events, and those of `also`, locked in id order."""
    mine = Q(coach_id=coach_id)
    found = Event.filter(mine | Q(id__in=list(also)) if also else mine)
    return list(await found.order_by("id").select_for_update())


def next_revision() -> Any:
    """Every write of an event row counts one more revision (the calendar feeds' SEQUENCE is
    made of it and of the history of the event's bookings)."""
    return F("revision") + 1


async def set_status(event: Event, status: EventStatus, now: datetime) -> None:
    event.status = status
    event.updated_at = now
    await Event.filter(id=event.id).update(status=status, updated_at=now, revision=next_revision())


async def create(events: Sequence[tuple[UUID, dict[str, Any]]], now: datetime) -> None:
    """New events from their columns (see `resolvers/catalog.py`)."""
    created = [Event(id=event_id, created_at=now, **columns) for event_id, columns in events]
    if created:
        await Event.bulk_create(created)


async def replace(event_id: UUID, columns: dict[str, Any]) -> None:
    await Event.filter(id=event_id).update(**columns, revision=next_revision())


async def add_revisions(counts: dict[UUID, int], now: datetime) -> None:
    """Inside a transaction: count `counts[event]` more revisions of each of these events (rows
    locked in id order first; one statement per distinct count)."""
    if not counts:
        return
    await lock_events(list(counts))
    for n in sorted(set(counts.values())):
        ids = [event_id for event_id, count in counts.items() if count == n]
        await Event.filter(id__in=ids).update(revision=F("revision") + n, updated_at=now)


async def views(event_ids: Sequence[UUID]) -> list[EventView]:
    """These events as read models, in the order given."""
    by_id = {e.id: e for e in await Event.filter(id__in=list(event_ids))}
    return [event_view(by_id[i]) for i in event_ids]


async def get(event_id: UUID) -> Event | None:
    return await Event.get_or_none(id=event_id)
