"""The event catalog: GraphQL upsertEvents (admin, scheduler), validation, moved events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from leko_bookings.models import Booking, Event
from tests.conftest import NOW
from tests.factories import book, event_json, gql

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) {
    __typename
    ... on UpsertEventsSuccess {
      events {
        eventId coachId startAt endAt eventStatus
        timeslot { price numberOfParticipants public }
      }
    }
    ... on Error { code message }
  }
}
"""
IN_A_DAY = NOW + timedelta(days=1)


async def upsert(client, headers, *events: dict) -> dict:
    data = await gql(client, headers, UPSERT, events=list(events))
    return data["data"]["upsertEvents"]


@pytest.mark.parametrize("role", ["admin", "scheduler"])
async def test_operators_create_and_replace_events(client, users, role):
    headers = users.headers(uuid.uuid4(), role)
    event = event_json(coach=users.coach, start=IN_A_DAY, capacity=4, price=900)
    result = await upsert(client, headers, event)
    assert result["__typename"] == "UpsertEventsSuccess"
    [saved] = result["events"]
    assert saved["eventId"] == event["eventId"]
    assert saved["timeslot"] == {"price": 900, "numberOfParticipants": 4, "public": True}

    event["timeslot"]["price"] = 1100
    result = await upsert(client, headers, event)
    assert result["events"][0]["timeslot"]["price"] == 1100
    assert await Event.all().count() == 1


@pytest.mark.parametrize("role", ["athlete", "coach"])
async def test_athletes_and_coaches_cannot_upsert(client, users, role):
    result = await upsert(
        client, users.headers(users.coach, role), event_json(coach=users.coach, start=IN_A_DAY)
    )
    assert result["__typename"] == "ForbiddenError"
    assert result["code"] == "forbidden"
    assert await Event.all().count() == 0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda e: e.update(endAt=e["startAt"]), "endAt must be after startAt"),
        (lambda e: e.update(startAt="2026-06-02T10:00:00"), "offset"),
        (lambda e: e["timeslot"].update(numberOfParticipants=0), "numberOfParticipants"),
        (lambda e: e["timeslot"].update(ageFrom=40, ageTo=30), "ageFrom must not exceed ageTo"),
        (lambda e: e["timeslot"].update(ageFrom=17), "ageFrom"),
        (lambda e: e["timeslot"].update(duration=10), "duration"),
        (lambda e: e["timeslot"].update(startTime="9 o'clock"), "startTime"),
        (lambda e: e["timeslot"].update(price=-1), "price"),
    ],
)
async def test_invalid_events_are_refused_whole(client, users, change, fragment):
    good = event_json(coach=users.coach, start=IN_A_DAY)
    bad = event_json(coach=users.coach, start=IN_A_DAY + timedelta(days=1))
    change(bad)
    result = await upsert(client, users.as_scheduler, good, bad)
    assert result["__typename"] == "ValidationError"
    assert fragment in result["message"]
    assert await Event.all().count() == 0


async def test_same_event_twice_in_one_upsert_is_refused(client, users):
    event = event_json(coach=users.coach, start=IN_A_DAY)
    result = await upsert(client, users.as_scheduler, event, event)
    assert result["__typename"] == "ValidationError"
    assert "once" in result["message"]


async def test_moving_an_event_moves_its_bookings_and_keeps_their_price(client, users):
    event = event_json(coach=users.coach, start=IN_A_DAY, price=1000)
    await upsert(client, users.as_scheduler, event)
    r = await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    booking_id = r.json()["bookings"][0]["bookingId"]

    moved = IN_A_DAY + timedelta(days=2, hours=3)
    event.update(
        startAt=moved.isoformat(),
        endAt=(moved + timedelta(minutes=90)).isoformat(),
        coachId=str(users.other_coach),
    )
    event["timeslot"]["price"] = 1300
    await upsert(client, users.as_scheduler, event)

    r = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
    body = r.json()
    assert body["startAt"] == "2026-06-04T12:00:00Z"
    assert body["endAt"] == "2026-06-04T13:30:00Z"
    assert body["coachId"] == str(users.other_coach)
    assert body["timeslot"]["price"] == 1300  # the event's current slot
    stored = await Booking.get(id=booking_id)
    assert stored.price == 1000  # what the athlete booked at
    # The new coach sees it in the event listing; the calendar window follows the move.
    r = await client.get(
        "/v1/bookings", params={"eventId": event["eventId"]}, headers=users.as_other_coach
    )
    assert [b["bookingId"] for b in r.json()] == [booking_id]
    day_of_move = {
        "userId": str(users.athlete),
        "startAt": "2026-06-04T00:00:00Z",
        "endAt": "2026-06-05T00:00:00Z",
    }
    r = await client.get("/v1/bookings", params=day_of_move, headers=users.as_athlete)
    assert [b["bookingId"] for b in r.json()] == [booking_id]


async def test_lower_capacity_keeps_bookings_and_refuses_new_ones(client, users):
    event = event_json(coach=users.coach, start=IN_A_DAY, capacity=2)
    await upsert(client, users.as_scheduler, event)
    assert (
        await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    ).status_code == 201
    event["timeslot"]["numberOfParticipants"] = 1
    await upsert(client, users.as_scheduler, event)
    r = await book(client, users.as_other_athlete, users.other_athlete, uuid.UUID(event["eventId"]))
    assert r.json()["errors"][0]["bookingError"] == "overbooked"
    assert await Booking.filter(event_id=event["eventId"]).count() == 1
