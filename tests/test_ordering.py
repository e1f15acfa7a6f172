"""POST /v1/bookings and GraphQL bookEvents: every booking rule, all-or-nothing, both transports."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from leko_bookings.models import Booking, Order
from tests.conftest import NOW
from tests.factories import book, create_event, gql, order_body

IN_A_DAY = NOW + timedelta(days=1)

BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!, $type: PaymentType!) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: $type}) {
    __typename
    ... on BookingOrder {
      orderId status paymentStatus
      bookings { bookingId bookingStatus serviceCardinality }
    }
    ... on BookingRefused { code message errors { eventId bookingError } }
    ... on Error { code message }
  }
}
"""


async def test_order_books_public_event_accepted(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, price=2100)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["userId"] == str(users.athlete)
    assert body["paymentStatus"] == "Cash"
    assert body["status"] == "Confirmed"
    assert body["createdAt"] == "2026-06-01T09:00:00Z"
    [booking] = body["bookings"]
    assert booking["eventId"] == str(event)
    assert booking["coachId"] == str(users.coach)
    assert booking["bookingStatus"] == "Accepted"
    assert booking["serviceCardinality"] == 1
    assert booking["timeslot"]["price"] == 2100
    assert booking["note"] is None
    assert booking["completed"] is False
    assert await Booking.filter(user_id=users.athlete).count() == 1


async def test_private_slot_books_pending_and_order_pending(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, public=False)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 201
    assert r.json()["bookings"][0]["bookingStatus"] == "Pending"
    assert r.json()["status"] == "Pending"


async def test_slot_without_public_flag_is_accepted(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, public=None)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.json()["bookings"][0]["bookingStatus"] == "Accepted"


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(0), "pastEventBookAttempt"),
        (-timedelta(hours=2), "pastEventBookAttempt"),
        (timedelta(minutes=29, seconds=59), "tooCloseToEventStart"),
    ],
)
async def test_time_rules(client, users, settings, offset, expected):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + offset)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation"
    assert body["endpoint"] == "POST /bookings"
    assert body["errors"] == [{"eventId": str(event), "bookingError": expected}]


async def test_exactly_thirty_minutes_ahead_is_bookable(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(minutes=30))
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 201, r.text


async def test_self_booking_refused(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    r = await book(client, users.as_coach, users.coach, event)
    assert r.status_code == 400
    assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "selfBookAttempt"}]


async def test_overbooked_when_capacity_reached(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    assert (await book(client, users.as_athlete, users.athlete, event)).status_code == 201
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 400
    assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]


async def test_conflicts_with_own_booking_and_coached_event_and_each_other(client, users, settings):
    first = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    assert (await book(client, users.as_athlete, users.athlete, first)).status_code == 201
    overlapping = await create_event(
        settings, NOW, coach=users.other_coach, start=IN_A_DAY + timedelta(minutes=30)
    )
    r = await book(client, users.as_athlete, users.athlete, overlapping)
    assert r.json()["errors"] == [
        {"eventId": str(overlapping), "bookingError": "conflictingUserSchedules"}
    ]

    # The athlete also coaches an event later that day: booking over it conflicts.
    later = IN_A_DAY + timedelta(hours=5)
    await create_event(settings, NOW, coach=users.athlete, start=later)
    over_coached = await create_event(
        settings, NOW, coach=users.coach, start=later + timedelta(minutes=15)
    )
    r = await book(client, users.as_athlete, users.athlete, over_coached)
    assert r.json()["errors"][0]["bookingError"] == "conflictingUserSchedules"

    # Two requested events overlapping each other: both refused, nothing booked.
    a = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY + timedelta(days=1))
    b = await create_event(
        settings, NOW, coach=users.other_coach, start=IN_A_DAY + timedelta(days=1, minutes=59)
    )
    r = await book(client, users.as_athlete, users.athlete, a, b)
    assert r.status_code == 400
    assert {e["bookingError"] for e in r.json()["errors"]} == {"conflictingUserSchedules"}
    assert len(r.json()["errors"]) == 2


async def test_back_to_back_events_do_not_conflict(client, users, settings):
    a = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, minutes=60)
    b = await create_event(
        settings, NOW, coach=users.other_coach, start=IN_A_DAY + timedelta(minutes=60)
    )
    r = await book(client, users.as_athlete, users.athlete, a, b)
    assert r.status_code == 201, r.text
    assert len(r.json()["bookings"]) == 2


async def test_first_failing_rule_wins_and_one_entry_per_event(client, users, settings):
    past = await create_event(settings, NOW, coach=users.athlete, start=NOW - timedelta(hours=1))
    close = await create_event(
        settings, NOW, coach=users.athlete, start=NOW + timedelta(minutes=10)
    )
    own = await create_event(settings, NOW, coach=users.athlete, start=IN_A_DAY)
    fine = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY + timedelta(days=2))
    r = await book(client, users.as_athlete, users.athlete, past, close, own, fine)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"eventId": str(past), "bookingError": "pastEventBookAttempt"},
        {"eventId": str(close), "bookingError": "tooCloseToEventStart"},
        {"eventId": str(own), "bookingError": "selfBookAttempt"},
    ]
    # All or nothing: the bookable event was not booked either.
    assert await Order.all().count() == 0
    assert await Booking.all().count() == 0


async def test_seats_freed_by_canceled_bookings_are_bookable(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    r = await book(client, users.as_athlete, users.athlete, event)
    await Booking.filter(id=r.json()["bookings"][0]["bookingId"]).update(status="Canceled")
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda ids: [], "between 1 and 20"),
        (lambda ids: [str(uuid.uuid4()) for _ in range(21)], "between 1 and 20"),
        (lambda ids: [ids[0], ids[0]], "distinct"),
        (lambda ids: [str(uuid.uuid4())], "Unknown event"),
    ],
)
async def test_event_id_list_rules(client, users, settings, mutate, fragment):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    body = order_body(users.athlete, event)
    body["eventIds"] = mutate([str(event)])
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert r.status_code == 400
    assert r.json()["code"] == "validation"
    assert fragment in r.json()["message"]
    assert r.json()["errors"] == []


async def test_canceled_event_is_named(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, status="Canceled")
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 400
    assert str(event) in r.json()["message"]
    assert "canceled" in r.json()["message"]


@pytest.mark.parametrize(
    ("payment", "fragment"),
    [
        ({"type": "Card"}, "methodId is required"),
        ({"type": "Card", "methodId": str(uuid.uuid4())}, "not enabled"),
    ],
)
async def test_card_payment_refused_with_reason(client, users, settings, payment, fragment):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    body = order_body(users.athlete, event, payment=payment)
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert r.status_code == 400
    assert fragment in r.json()["message"]
    assert await Booking.all().count() == 0


async def test_ordering_for_someone_else_is_forbidden_but_admin_may(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    r = await book(client, users.as_other_athlete, users.athlete, event)
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "forbidden"
    r = await book(client, users.as_admin, users.athlete, event)
    assert r.status_code == 201
    assert r.json()["userId"] == str(users.athlete)


async def test_graphql_book_events_success_and_refusal(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    data = await gql(
        client,
        users.as_athlete,
        BOOK,
        userId=str(users.athlete),
        eventIds=[str(event)],
        type="Cash",
    )
    result = data["data"]["bookEvents"]
    assert result["__typename"] == "BookingOrder"
    assert result["status"] == "Confirmed"
    assert result["paymentStatus"] == "Cash"
    assert result["bookings"][0]["bookingStatus"] == "Accepted"

    data = await gql(
        client,
        users.as_other_athlete,
        BOOK,
        userId=str(users.other_athlete),
        eventIds=[str(event)],
        type="Cash",
    )
    result = data["data"]["bookEvents"]
    assert result["__typename"] == "BookingRefused"
    assert result["code"] == "validation"
    assert result["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]


async def test_graphql_book_events_typed_errors(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    data = await gql(
        client,
        users.as_athlete,
        BOOK,
        userId=str(users.athlete),
        eventIds=[str(event)],
        type="Card",
    )
    assert data["data"]["bookEvents"]["__typename"] == "ValidationError"
    assert "methodId" in data["data"]["bookEvents"]["message"]
    data = await gql(
        client,
        users.as_other_athlete,
        BOOK,
        userId=str(users.athlete),
        eventIds=[str(event)],
        type="Cash",
    )
    assert data["data"]["bookEvents"]["__typename"] == "ForbiddenError"
    assert data["data"]["bookEvents"]["code"] == "forbidden"
