"""The objects the calendar's hot path makes per booking: read models made by `maker`
(`store/views.py`) and GraphQL objects backed by them (`schema/backed.py`). What the GraphQL
answers hold is proven through the app elsewhere (tests/test_graphql_plans.py, test_calendar_api,
test_events); here, that the fast ways of making them make the same objects."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
import strawberry
from strawberry.types import get_object_definition

from leko_bookings import models
from leko_bookings.auth import Principal
from leko_bookings.resolvers.context import Context
from leko_bookings.schema.backed import backed
from leko_bookings.schema.node import global_id
from leko_bookings.schema.types import Booking, Event, Later, TimeSlot
from leko_bookings.settings import Settings
from leko_bookings.store import views
from leko_bookings.store.views import BookingView, EventView, TimeSlotView
from tests.conftest import SECRET

START = datetime(2026, 6, 1, 9, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://:memory:", jwt_secret=SECRET)


def time_slot() -> TimeSlotView:
    return TimeSlotView(
        uuid4(),
        "09:00",
        "10:00",
        8,
        models.SlotType.Offline,
        6,
        12,
        60,
        1500,
        models.Currency.RUB,
        models.SlotPaymentMethod.Cash,
        uuid4(),
        True,
        models.Level.Beginner,
        None,
    )


def event() -> EventView:
    return EventView(
        uuid4(),
        uuid4(),
        uuid4(),
        START,
        START + timedelta(hours=1),
        models.EventStatus.Scheduled,
        time_slot(),
    )


def booking(e: EventView) -> BookingView:
    return BookingView(
        uuid4(),
        uuid4(),
        uuid4(),
        e.coach_id,
        e.event_id,
        e.start_at,
        e.end_at,
        models.BookingStatus.Accepted,
        False,
        "a note",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        e,
        2,
        uuid4(),
        None,
    )


@pytest.mark.parametrize("view_type", [TimeSlotView, EventView, BookingView])
def test_a_maker_makes_what_the_dataclass_makes_and_it_stays_frozen(view_type: type) -> None:
    e = event()
    made_by_init = {TimeSlotView: e.timeslot, EventView: e, BookingView: booking(e)}[view_type]
    values = [getattr(made_by_init, f.name) for f in dataclasses.fields(view_type)]
    make = {
        TimeSlotView: views.make_time_slot_view,
        EventView: views.make_event_view,
        BookingView: views.make_booking_view,
    }[view_type]
    made = make(*values)
    assert type(made) is view_type
    assert made == made_by_init
    assert repr(made) == repr(made_by_init)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.start_time = "10:00" if view_type is TimeSlotView else None  # type: ignore[misc]
    with pytest.raises(TypeError):  # every field, in order: no defaults taken
        make(*values[:-1])


def _plain_fields(strawberry_type: type) -> list[str]:
    definition = get_object_definition(strawberry_type, strict=True)
    return [f.python_name for f in definition.fields if f.base_resolver is None]


def test_a_booking_reads_every_plain_field_from_its_read_model() -> None:
    view = booking(event())
    shown = Booking.of(view)
    assert isinstance(shown, Booking)
    computed = {
        "id": global_id("Booking", view.booking_id),
        "event_status": view.event.event_status,
        "sport_id": view.event.sport_id,
        "timeslot": view.event.timeslot,
    }
    for name in _plain_fields(Booking):
        if name == "event":
            assert isinstance(shown.event, Event)
            assert shown.event.event_id == view.event_id
        else:
            assert getattr(shown, name) == computed.get(name, getattr(view, name, None)), name


def test_an_event_reads_its_fields_and_its_availability_given_or_loaded_later() -> None:
    view = event()
    later = Event.of(view)
    caller = Context(Principal(uuid4(), frozenset()), START - timedelta(days=2), SETTINGS)
    given = Event.of(view, 3, {}, caller)
    for shown in (later, given):
        assert shown.id == global_id("Event", view.event_id)
        assert shown.timeslot is view.timeslot
        for name in ("event_id", "coach_id", "sport_id", "start_at", "end_at", "event_status"):
            assert getattr(shown, name) == getattr(view, name)
    for name in ("seats_taken", "seats_left", "bookable", "viewer_booking"):
        assert isinstance(getattr(later, name), Later), name
    assert (given.seats_taken, given.seats_left, given.viewer_booking) == (3, 5, None)
    assert given.bookable is True
    assert isinstance(given.waitlist_length, Later)


def test_backing_refuses_a_field_read_from_nowhere() -> None:
    @strawberry.type
    class Shown:
        time_slot_id: UUID
        not_on_the_view: str

    with pytest.raises(TypeError, match="not_on_the_view"):
        backed(Shown, TimeSlotView, {})
    with pytest.raises(TypeError, match="no plain field"):
        backed(TimeSlot, TimeSlotView, {"nothing": lambda shown: None})
