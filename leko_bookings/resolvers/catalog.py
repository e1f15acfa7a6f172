"""The event catalog: events and their time slots, upserted by operators and the CLI."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from tortoise.transactions import in_transaction

from leko_bookings.auth import Role
from leko_bookings.errors import validation
from leko_bookings.models import (
    CanceledByRole,
    Currency,
    Eligibility,
    EventStatus,
    HistoryAction,
    Level,
    SlotPaymentMethod,
    SlotType,
)
from leko_bookings.resolvers import waitlists
from leko_bookings.resolvers.access import require_roles
from leko_bookings.resolvers.cancellation import cancel_seats
from leko_bookings.resolvers.common import utc
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import actor_of, entry, record
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store.views import EventView

MAX_EVENTS_PER_UPSERT = 1000


class TimeSlotData(BaseModel):
    """The contract's `TimeSlot`, with its constraints."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    time_slot_id: UUID = Field(alias="timeSlotId")
    start_time: str = Field(alias="startTime")
    end_time: str = Field(alias="endTime")
    number_of_participants: int = Field(alias="numberOfParticipants", ge=1, le=100_000)
    slot_type: SlotType = Field(alias="slotType")
    age_from: int = Field(alias="ageFrom", ge=18, le=99)
    age_to: int = Field(alias="ageTo", ge=18, le=99)
    duration: int = Field(ge=15, le=7 * 24 * 60)
    price: int = Field(ge=0, le=10**12)
    price_currency: Currency = Field(alias="priceCurrency")
    payment_method: SlotPaymentMethod = Field(alias="paymentMethod")
    address_id: UUID | None = Field(default=None, alias="addressId")
    public: bool | None = None
    level: Level | None = None
    eligibility: Eligibility | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _rfc3339_time(cls, value: str) -> str:
        try:
            parsed = time.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("must be an RFC 3339 time such as 12:09:53+00:00") from exc
        if parsed.tzinfo is None:
            raise ValueError("must carry an offset, e.g. 12:09:53+00:00")
        return value

    @model_validator(mode="after")
    def _ages(self) -> TimeSlotData:
        if self.age_from > self.age_to:
            raise ValueError("ageFrom must not exceed ageTo")
        return self


class EventData(BaseModel):
    """One event of the catalog, as `upsertEvents` and `events import` take it."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    event_id: UUID = Field(alias="eventId")
    coach_id: UUID = Field(alias="coachId")
    sport_id: UUID = Field(alias="sportId")
    start_at: datetime = Field(alias="startAt")
    end_at: datetime = Field(alias="endAt")
    event_status: EventStatus = Field(default=EventStatus.Scheduled, alias="eventStatus")
    timeslot: TimeSlotData


EVENT_LIST = TypeAdapter(list[EventData])


def parse_events(raw: Any) -> list[EventData]:
    """Validate a JSON-like list of events (the import file, GraphQL input) into EventData."""
    try:
        return EVENT_LIST.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        raise validation(
            f"events.{where}: {reason} ({exc.error_count()} problem(s) in all)."
        ) from exc


def _check(data: EventData) -> tuple[datetime, datetime]:
    start = utc(data.start_at, f"event {data.event_id} startAt")
    end = utc(data.end_at, f"event {data.event_id} endAt")
    if end <= start:
        raise validation(f"event {data.event_id}: endAt must be after startAt.")
    return start, end


def _columns(data: EventData, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    slot = data.timeslot
    return {
        "coach_id": data.coach_id,
        "sport_id": data.sport_id,
        "start_at": start,
        "end_at": end,
        "status": data.event_status,
        "timeslot_id": slot.time_slot_id,
        "slot_start_time": slot.start_time,
        "slot_end_time": slot.end_time,
        "capacity": slot.number_of_participants,
        "slot_type": slot.slot_type,
        "age_from": slot.age_from,
        "age_to": slot.age_to,
        "duration": slot.duration,
        "price": slot.price,
        "price_currency": slot.price_currency,
        "payment_method": slot.payment_method,
        "address_id": slot.address_id,
        "public": slot.public,
        "level": slot.level,
        "eligibility": slot.eligibility,
        "updated_at": now,
    }


async def upsert_events(ctx: Context, events: list[EventData]) -> list[EventView]:
    """Create or replace events by eventId, in one transaction.

    A moved event moves its bookings (they show the event's current times); a booking keeps
    the price it was booked at. An event that becomes Canceled cancels its live bookings ahead,
    exactly as `cancel_event` does. An event sent again unchanged is not written (its revision,
    which the calendar feeds' SEQUENCE counts, stays).
    """
    require_roles(ctx, Role.admin, Role.scheduler)
    if not 1 <= len(events) <= MAX_EVENTS_PER_UPSERT:
        raise validation(f"Give between 1 and {MAX_EVENTS_PER_UPSERT} events per upsert.")
    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise validation("Each eventId may appear once per upsert.")
    rows = {e.event_id: _columns(e, *_check(e), ctx.now) for e in events}
    async with in_transaction() as conn:
        waiting = await waitlists.lock_with_waiting(conn, (), ids)  # before the rows: see there
        existing = await event_rows.lock_events(ids)
        raised = []
        await event_rows.create(
            [(i, cols) for i, cols in rows.items() if i not in existing], ctx.now
        )
        for event_id in sorted(existing):
            event, cols = existing[event_id], rows[event_id]
            if all(getattr(event, k) == v for k, v in cols.items() if k != "updated_at"):
                continue  # the same event again (a catalog sync): nothing to write, no revision
            moved = any(getattr(event, k) != cols[k] for k in ("start_at", "end_at", "coach_id"))
            await event_rows.replace(event_id, cols)
            if moved:
                followed = await booking_rows.follow_event(
                    event_id, cols["start_at"], cols["end_at"], cols["coach_id"], ctx.now
                )
                detail = f"{event.start_at.isoformat()} -> {cols['start_at'].isoformat()}"
                await record(
                    [
                        entry(b, ctx, actor_of(ctx), HistoryAction.Moved, detail=detail)
                        for b in followed
                    ]
                )
            if cols["capacity"] > event.capacity:
                raised.append(event)
            was = event.status
            event.update_from_dict(cols)
            if event.status is EventStatus.Canceled and was is not EventStatus.Canceled:
                await cancel_seats(ctx, event, actor_of(ctx), CanceledByRole.Coach)
        if raised:  # seats added: the waitlists' first athletes get them
            await waitlists.promote(ctx, conn, raised, waiting)
    return await event_rows.views(ids)
