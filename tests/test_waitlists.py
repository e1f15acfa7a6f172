"""Waitlists (issue 17, part 3) on both databases: joining and its refusals, leaving, positions,
an event's waitlist for its coach, and promotion in the transaction that frees a seat (cancel,
reject, reschedule away, erasure over REST and GraphQL, a capacity raised), skipping athletes
who no longer pass the booking rules; the notify run's purge. Across processes:
tests/test_concurrency.py (simultaneous cancellations).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from leko_bookings.models import Booking, BookingHistory, Notification, WaitlistEntry
from tests.conftest import NOW
from tests.factories import book, create_event, event_json, gql
from tests.test_erasure import erase_headers
from tests.test_lifecycle import CANCEL, REJECT, UPSERT, cancel_event, run

IN_A_DAY = NOW + timedelta(days=1)

JOIN = """
mutation J($eventId: UUID!) {
  joinWaitlist(eventId: $eventId) {
    __typename
    ... on WaitlistEntry { eventId userId position joinedAt }
    ... on Error { code message }
  }
}
"""
LEAVE = """
mutation L($eventId: UUID!) {
  leaveWaitlist(eventId: $eventId) {
    __typename
    ... on WaitlistLeft { eventId wasWaiting }
    ... on Error { code message }
  }
}
"""
WAITLIST = """
query W($eventId: UUID!, $first: Int, $after: String) {
  waitlist(eventId: $eventId, first: $first, after: $after) {
    totalCount
    nodes { userId position }
    pageInfo { hasNextPage endCursor }
  }
}
"""
EVENT = """
query E($eventId: UUID!) {
  event(eventId: $eventId) { waitlistLength viewerWaitlistPosition seatsLeft }
}
"""
INBOX = "query { notifications { nodes { rule message } } }"
RESCHEDULE = """
mutation R($bookingId: UUID!, $eventId: UUID!) {
  rescheduleBooking(bookingId: $bookingId, eventId: $eventId) {
    __typename
    ... on Error { code message }
  }
}
"""


class Crowd:
    """Athletes of a test: their ids and bearer headers."""

    def __init__(self, users: Any, n: int) -> None:
        self.ids = [uuid.uuid4() for _ in range(n)]
        self.users = users

    def headers(self, i: int) -> dict[str, str]:
        return self.users.headers(self.ids[i], "athlete")


async def full_event(
    client, users, settings, capacity: int = 1, start=IN_A_DAY, **kwargs: Any
) -> uuid.UUID:
    """An event of the coach, its seats taken by fresh athletes."""
    event = await create_event(
        settings, NOW, coach=users.coach, start=start, capacity=capacity, **kwargs
    )
    for _ in range(capacity):
        taker = uuid.uuid4()
        r = await book(client, users.headers(taker, "athlete"), taker, event)
        assert r.status_code == 201, r.text
    return event


async def join(client, headers, event_id) -> dict[str, Any]:
    return await run(client, headers, JOIN, eventId=str(event_id))


async def holders(event_id: uuid.UUID) -> set[uuid.UUID]:
    found = await Booking.filter(event_id=event_id, status__in=["Pending", "Accepted"])
    return {b.user_id for b in found}


async def test_athletes_wait_in_joining_order(client, users, settings, clock):
    event = await full_event(client, users, settings)
    crowd = Crowd(users, 3)
    for i in range(3):
        joined = await join(client, crowd.headers(i), event)
        assert joined["__typename"] == "WaitlistEntry", joined
        assert (joined["position"], joined["userId"]) == (i + 1, str(crowd.ids[i]))
        clock.advance(seconds=1)
    again = await join(client, crowd.headers(0), event)  # joining again keeps the place
    assert again["position"] == 1
    shown = await run(client, crowd.headers(1), EVENT, eventId=str(event))
    assert shown == {"waitlistLength": 3, "viewerWaitlistPosition": 2, "seatsLeft": 0}
    outsider = await run(client, users.as_other_athlete, EVENT, eventId=str(event))
    assert outsider["viewerWaitlistPosition"] is None

    left = await run(client, crowd.headers(0), LEAVE, eventId=str(event))
    assert left == {"__typename": "WaitlistLeft", "eventId": str(event), "wasWaiting": True}
    again = await run(client, crowd.headers(0), LEAVE, eventId=str(event))
    assert again["wasWaiting"] is False
    shown = await run(client, crowd.headers(1), EVENT, eventId=str(event))
    assert (shown["waitlistLength"], shown["viewerWaitlistPosition"]) == (2, 1)


async def test_the_coach_and_operators_page_through_the_waitlist(client, users, settings, clock):
    event = await full_event(client, users, settings)
    crowd = Crowd(users, 3)
    for i in range(3):
        await join(client, crowd.headers(i), event)
        clock.advance(seconds=1)
    first = await run(client, users.as_coach, WAITLIST, eventId=str(event), first=2)
    assert first["totalCount"] == 3
    assert [n["position"] for n in first["nodes"]] == [1, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await run(
        client, users.as_admin, WAITLIST, eventId=str(event), after=first["pageInfo"]["endCursor"]
    )
    assert [(n["userId"], n["position"]) for n in rest["nodes"]] == [(str(crowd.ids[2]), 3)]
    for bad in (0, -1, 501):  # the page sizes every list takes: 1..500
        data = await gql(client, users.as_coach, WAITLIST, eventId=str(event), first=bad)
        assert data["errors"][0]["extensions"]["code"] == "validation", data
    data = await gql(client, users.as_coach, WAITLIST, eventId=str(event), after="not-a-cursor")
    assert data["errors"][0]["extensions"]["code"] == "validation", data
    for stranger in (users.as_other_coach, crowd.headers(0)):
        data = await gql(client, stranger, WAITLIST, eventId=str(event))
        assert data["errors"][0]["extensions"]["code"] == "forbidden", data


@pytest.mark.parametrize(
    "case",
    ["seats left", "holds a seat", "own event", "conflict", "too close", "canceled", "unknown"],
)
async def test_joining_is_refused_with_the_reason(client, users, settings, clock, case):
    event = await full_event(client, users, settings)
    headers, expected = users.as_athlete, ("ValidationError", "validation")
    if case == "seats left":
        event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    elif case == "holds a seat":
        event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
        await book(client, headers, users.athlete, event)
    elif case == "own event":
        headers = users.headers(users.coach, "athlete", "coach")
    elif case == "conflict":
        other = await create_event(settings, NOW, coach=users.other_coach, start=IN_A_DAY)
        await book(client, headers, users.athlete, other)
    elif case == "too close":
        clock.advance(days=1, minutes=-10)  # the full event starts in 10 minutes
    elif case == "canceled":
        await cancel_event(client, users.as_scheduler, event)
    else:
        event, expected = uuid.uuid4(), ("NotFoundError", "notFound")
    result = await join(client, headers, event)
    assert (result["__typename"], result.get("code")) == expected, result
    assert not await WaitlistEntry.filter(user_id=users.athlete).exists()


async def test_waitlists_are_bounded(client, users, settings):
    settings.max_waitlist_per_event, settings.max_waitlists_per_user = 2, 2
    event = await full_event(client, users, settings)
    crowd = Crowd(users, 3)
    assert [(await join(client, crowd.headers(i), event))["__typename"] for i in range(3)] == [
        "WaitlistEntry",
        "WaitlistEntry",
        "ValidationError",
    ]
    events = [await full_event(client, users, settings) for _ in range(2)]
    # crowd 0 waits in `event` and events[0]; a third waitlist is refused
    assert (await join(client, crowd.headers(0), events[0]))["__typename"] == "WaitlistEntry"
    refused = await join(client, crowd.headers(0), events[1])
    assert refused["__typename"] == "ValidationError"
    assert "2 waitlists" in refused["message"]


async def one_seat_two_waiting(client, users, settings, clock) -> tuple[uuid.UUID, str, Crowd]:
    """A one-seat event held by the athlete (their booking's id) and two athletes waiting."""
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    r = await book(client, users.as_athlete, users.athlete, event)
    crowd = Crowd(users, 2)
    for i in range(2):
        await join(client, crowd.headers(i), event)
        clock.advance(seconds=1)
    return event, r.json()["bookings"][0]["bookingId"], crowd


async def test_a_cancel_books_the_first_waiting_athlete(client, users, settings, clock):
    event, booking_id, crowd = await one_seat_two_waiting(client, users, settings, clock)
    canceled = await run(
        client, users.as_athlete, CANCEL, bookingId=booking_id, reasonCode="NoTime"
    )
    assert canceled["bookingStatus"] == "Canceled"
    promoted = await Booking.get(event_id=event, user_id=crowd.ids[0])
    assert promoted.status == "Accepted"  # public slot
    assert await holders(event) == {crowd.ids[0]}
    assert not await WaitlistEntry.filter(user_id=crowd.ids[0]).exists()
    shown = await run(client, crowd.headers(1), EVENT, eventId=str(event))
    assert (shown["waitlistLength"], shown["viewerWaitlistPosition"]) == (1, 1)
    [history] = await BookingHistory.filter(booking_id=promoted.id)
    assert (history.actor_role, history.action, history.detail) == (
        "System",
        "Booked",
        "Promoted from the waitlist",
    )
    sent = {(n.rule, n.recipient_id) for n in await Notification.filter(booking_id=promoted.id)}
    assert sent == {("waitlistPromoted", crowd.ids[0]), ("bookingCreated", users.coach)}
    inbox = await run(client, crowd.headers(0), INBOX)
    assert [n["message"][:37] for n in inbox["nodes"]] == ["A seat freed up: you are booked for t"]


async def test_promotion_skips_athletes_who_no_longer_pass(client, users, settings, clock):
    event, booking_id, crowd = await one_seat_two_waiting(client, users, settings, clock)
    busy = await create_event(settings, NOW, coach=users.other_coach, start=IN_A_DAY)
    assert (await book(client, crowd.headers(0), crowd.ids[0], busy)).status_code == 201
    await run(client, users.as_athlete, CANCEL, bookingId=booking_id, reasonCode="NoTime")
    assert await holders(event) == {crowd.ids[1]}
    shown = await run(client, crowd.headers(0), EVENT, eventId=str(event))
    assert (shown["waitlistLength"], shown["viewerWaitlistPosition"]) == (1, 1)  # still waits


async def test_a_reject_books_the_next_one_pending_on_a_private_slot(client, users, settings):
    event = await create_event(
        settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1, public=False
    )
    r = await book(client, users.as_athlete, users.athlete, event)
    booking_id = r.json()["bookings"][0]["bookingId"]
    crowd = Crowd(users, 1)
    await join(client, crowd.headers(0), event)
    await run(client, users.as_coach, REJECT, bookingId=booking_id)
    promoted = await Booking.get(event_id=event, user_id=crowd.ids[0])
    assert promoted.status == "Pending"
    rules = {n.rule for n in await Notification.filter(booking_id=promoted.id)}
    assert rules == {"waitlistPromoted", "bookingCreated", "bookingPendingApproval"}


async def test_a_reschedule_away_frees_the_seat_for_the_waitlist(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    later = await create_event(
        settings, NOW, coach=users.coach, start=IN_A_DAY + timedelta(hours=3)
    )
    r = await book(client, users.as_athlete, users.athlete, event)
    booking_id = r.json()["bookings"][0]["bookingId"]
    crowd = Crowd(users, 1)
    await join(client, crowd.headers(0), event)
    moved = await run(
        client, users.as_athlete, RESCHEDULE, bookingId=booking_id, eventId=str(later)
    )
    assert moved["__typename"] == "BookingRescheduled", moved
    assert await holders(event) == {crowd.ids[0]}


@pytest.mark.parametrize("transport", ["rest", "graphql"])
async def test_an_erasure_frees_its_seats_for_the_waitlist(client, users, settings, transport):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    await book(client, users.as_athlete, users.athlete, event)
    crowd = Crowd(users, 1)
    await join(client, crowd.headers(0), event)
    other = await full_event(client, users, settings)
    await join(client, users.as_athlete, other)  # the erased athlete's own entry goes too
    if transport == "rest":
        r = await client.delete("/v1/users", headers=erase_headers(users.as_athlete, users.athlete))
        assert r.status_code == 204, r.text
    else:
        erased = await run(
            client,
            users.as_athlete,
            "mutation D($u: UUID!) { deleteUserFromBookings(userId: $u) { __typename } }",
            u=str(users.athlete),
        )
        assert erased["__typename"] == "UserDataDeleted", erased
    assert await holders(event) == {crowd.ids[0]}
    assert not await WaitlistEntry.filter(user_id=users.athlete).exists()


async def test_a_capacity_raised_books_waiting_athletes(client, users, settings, clock):
    data = event_json(coach=users.coach, start=IN_A_DAY, capacity=1)
    await run(client, users.as_scheduler, UPSERT, events=[data])
    event = uuid.UUID(data["eventId"])
    taker = uuid.uuid4()
    await book(client, users.headers(taker, "athlete"), taker, event)
    crowd = Crowd(users, 3)
    for i in range(3):
        await join(client, crowd.headers(i), event)
        clock.advance(seconds=1)
    data["timeslot"]["numberOfParticipants"] = 3
    await run(client, users.as_scheduler, UPSERT, events=[data])
    assert await holders(event) == {taker, crowd.ids[0], crowd.ids[1]}
    shown = await run(client, crowd.headers(2), EVENT, eventId=str(event))
    assert (shown["waitlistLength"], shown["viewerWaitlistPosition"]) == (1, 1)


async def test_the_notify_run_removes_entries_of_started_and_canceled_events(
    client, users, settings, clock
):
    started = await full_event(client, users, settings)
    canceled = await full_event(client, users, settings, start=IN_A_DAY + timedelta(hours=5))
    kept = await full_event(client, users, settings, start=IN_A_DAY + timedelta(days=2))
    crowd = Crowd(users, 1)
    for event in (started, canceled, kept):
        assert (await join(client, crowd.headers(0), event))["__typename"] == "WaitlistEntry"
    await cancel_event(client, users.as_scheduler, canceled)
    clock.advance(days=1, minutes=1)  # `started` has started
    r = await client.post("/v1/bookings/notify", headers=users.as_scheduler)
    assert r.status_code == 204, r.text
    left = {e.event_id for e in await WaitlistEntry.filter(user_id=crowd.ids[0])}
    assert left == {kept}


async def test_booking_the_event_directly_ends_the_wait(client, users, settings):
    """Skipped (busy elsewhere), the athlete frees themself and books the seat left free: they
    no longer wait for it."""
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, capacity=1)
    held = await book(client, users.as_athlete, users.athlete, event)
    crowd = Crowd(users, 1)
    await join(client, crowd.headers(0), event)
    busy = await create_event(settings, NOW, coach=users.other_coach, start=IN_A_DAY)
    elsewhere = await book(client, crowd.headers(0), crowd.ids[0], busy)
    first = held.json()["bookings"][0]["bookingId"]
    await run(client, users.as_athlete, CANCEL, bookingId=first, reasonCode="NoTime")
    assert await holders(event) == set()  # skipped: the seat stays free
    other = elsewhere.json()["bookings"][0]["bookingId"]
    await run(client, crowd.headers(0), CANCEL, bookingId=other, reasonCode="NoTime")
    assert (await book(client, crowd.headers(0), crowd.ids[0], event)).status_code == 201
    assert not await WaitlistEntry.filter(user_id=crowd.ids[0]).exists()
