"""GraphQL rescheduleBooking (issue 17, part 2): every rule and every refusal, on SQLite and
PostgreSQL. The operation is GraphQL only; what it leaves is read back over REST too (the
contract's bodies, checked by the client's hook). Two simultaneous reschedules on 2 workers:
tests/test_concurrency.py; the lifecycle invariants: tests/test_lifecycle_properties.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from leko_bookings.models import Booking, BookingHistory, Notification
from tests.conftest import NOW
from tests.factories import book, create_event, gql

DAY = NOW + timedelta(days=1)

RESCHEDULE = """
mutation R($id: UUID!, $eventId: UUID!) {
  rescheduleBooking(bookingId: $id, eventId: $eventId) {
    __typename
    ... on BookingRescheduled {
      booking {
        bookingId orderId eventId bookingStatus serviceCardinality
        rescheduledFrom rescheduledTo
        history { actorRole action fromStatus toStatus detail }
      }
      previousBooking {
        bookingId orderId eventId bookingStatus canceledByRole cancellationReasonCode
        cancellationReasonText canceledAt serviceCardinality
        rescheduledTo rescheduledFrom
        history { actorRole action fromStatus toStatus detail }
      }
    }
    ... on BookingRefused { code message errors { eventId bookingError } }
    ... on TooManyRequestsError { retryAfter }
    ... on Error { code message }
  }
}
"""
SEATS = "query S($id: UUID!) { event(eventId: $id) { seatsTaken } }"


async def move(
    client: httpx.AsyncClient, headers: dict[str, str], booking: Any, event: uuid.UUID
) -> dict[str, Any]:
    data = await gql(client, headers, RESCHEDULE, id=str(booking), eventId=str(event))
    assert "errors" not in data, data
    return data["data"]["rescheduleBooking"]


async def event(settings: Any, users: Any, hours: float = 0, **kwargs: Any) -> uuid.UUID:
    """An event of the coach a day ahead, `hours` later (other fields: `kwargs`)."""
    start = DAY + timedelta(hours=hours)
    return await create_event(settings, NOW, **{"coach": users.coach, "start": start, **kwargs})


async def booked(client: httpx.AsyncClient, users: Any, event_id: uuid.UUID) -> str:
    r = await book(client, users.as_athlete, users.athlete, event_id)
    assert r.status_code == 201, r.text
    return str(r.json()["bookings"][0]["bookingId"])


async def seats(client: httpx.AsyncClient, users: Any, event_id: uuid.UUID) -> int:
    data = await gql(client, users.as_athlete, SEATS, id=str(event_id))
    return int(data["data"]["event"]["seatsTaken"])


async def unchanged(booking: str, event_id: uuid.UUID) -> None:
    """A refused reschedule changed nothing: the booking as it was, nothing booked there."""
    row = await Booking.get(id=booking)
    assert row.rescheduled_to is None
    assert row.status.value in ("Accepted", "Pending")
    assert await Booking.filter(event_id=event_id, user_id=row.user_id).count() == 0


# --- the move ---------------------------------------------------------------------------------


async def test_the_athlete_moves_a_booking_in_one_step(client, users, settings):
    old_event, new_event = await event(settings, users), await event(settings, users, hours=4)
    old = await booked(client, users, old_event)
    done = await move(client, users.as_athlete, old, new_event)
    assert done["__typename"] == "BookingRescheduled"
    new, prev = done["booking"], done["previousBooking"]
    assert (new["eventId"], new["bookingStatus"]) == (str(new_event), "Accepted")
    assert new["orderId"] == prev["orderId"]  # in the same order
    assert new["rescheduledFrom"] == old
    assert new["rescheduledTo"] is None
    assert new["serviceCardinality"] == 1
    assert prev["bookingId"] == old
    assert prev["bookingStatus"] == "Canceled"
    assert (prev["canceledByRole"], prev["cancellationReasonCode"]) == ("Athlete", "Other")
    assert prev["cancellationReasonText"] == "Rescheduled"
    assert prev["canceledAt"] == "2026-06-01T09:00:00Z"
    assert prev["serviceCardinality"] is None
    assert prev["rescheduledTo"] == new["bookingId"]
    assert prev["history"][-1] == {
        "actorRole": "Athlete",
        "action": "Rescheduled",
        "fromStatus": "Accepted",
        "toStatus": "Canceled",
        "detail": f"to {new['bookingId']}",
    }
    assert new["history"] == [
        {
            "actorRole": "Athlete",
            "action": "Booked",
            "fromStatus": None,
            "toStatus": "Accepted",
            "detail": f"rescheduled from {old}",
        }
    ]
    # Stored both ways; the old event's seat is free, the new one's taken.
    row = await Booking.get(id=old)
    assert str(row.rescheduled_to) == new["bookingId"]
    assert str((await Booking.get(id=new["bookingId"])).rescheduled_from) == old
    assert (await seats(client, users, old_event), await seats(client, users, new_event)) == (0, 1)


async def test_rest_shows_what_a_reschedule_left(client, users, settings):
    """The contract's bodies: the old booking Canceled (by the Athlete, Other, "Rescheduled"),
    the new one in the same order, which stays Confirmed."""
    old_event, new_event = await event(settings, users), await event(settings, users, hours=4)
    old = await booked(client, users, old_event)
    new = (await move(client, users.as_athlete, old, new_event))["booking"]["bookingId"]
    r = await client.get(f"/v1/bookings/{old}", headers=users.as_athlete)
    assert r.status_code == 200
    body = r.json()
    assert body["bookingStatus"] == "Canceled"
    assert (body["canceledByRole"], body["cancellationReasonCode"]) == ("Athlete", "Other")
    assert body["cancellationReasonText"] == "Rescheduled"
    orders = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    [order] = orders.json()
    assert order["status"] == "Confirmed"
    assert {b["bookingId"]: b["bookingStatus"] for b in order["bookings"]} == {
        old: "Canceled",
        new: "Accepted",
    }


async def test_a_private_slot_makes_the_new_booking_pending(client, users, settings):
    old_event = await event(settings, users)
    new_event = await event(settings, users, hours=4, public=False)
    old = await booked(client, users, old_event)
    done = await move(client, users.as_athlete, old, new_event)
    assert done["booking"]["bookingStatus"] == "Pending"
    # ... and a Pending booking moves too (back to a public slot: Accepted).
    again = await move(client, users.as_athlete, done["booking"]["bookingId"], old_event)
    assert again["__typename"] == "BookingRescheduled"
    assert again["booking"]["bookingStatus"] == "Accepted"
    assert again["previousBooking"]["history"][-1]["fromStatus"] == "Pending"


async def test_an_admin_moves_it_as_the_system(client, users, settings):
    old_event, new_event = await event(settings, users), await event(settings, users, hours=4)
    old = await booked(client, users, old_event)
    done = await move(client, users.as_admin, old, new_event)
    prev = done["previousBooking"]
    assert prev["canceledByRole"] == "System"
    assert prev["history"][-1]["actorRole"] == "Admin"
    assert done["booking"]["history"][0]["actorRole"] == "Admin"


async def test_a_booking_is_rescheduled_once_and_the_new_one_again(client, users, settings):
    a, b, c = [await event(settings, users, hours=h) for h in (0, 4, 8)]
    first = await booked(client, users, a)
    second = (await move(client, users.as_athlete, first, b))["booking"]["bookingId"]
    refused = await move(client, users.as_athlete, first, c)
    assert (refused["__typename"], refused["code"]) == ("ValidationError", "validation")
    assert "already rescheduled" in refused["message"]
    third = await move(client, users.as_athlete, second, c)
    assert third["__typename"] == "BookingRescheduled"
    assert third["previousBooking"]["rescheduledFrom"] == first
    assert third["previousBooking"]["rescheduledTo"] == third["booking"]["bookingId"]
    assert await Booking.filter(user_id=users.athlete).count() == 3
    assert await Booking.filter(user_id=users.athlete, status="Accepted").count() == 1


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "typename"),
    [
        ("as_coach", "ForbiddenError"),
        ("as_scheduler", "ForbiddenError"),
        ("as_other_athlete", "NotFoundError"),
        ("as_other_coach", "NotFoundError"),
    ],
)
async def test_only_the_athlete_or_an_admin(client, users, settings, who, typename):
    old_event, new_event = await event(settings, users), await event(settings, users, hours=4)
    old = await booked(client, users, old_event)
    answer = await move(client, getattr(users, who), old, new_event)
    assert answer["__typename"] == typename
    await unchanged(old, new_event)


async def test_unknown_booking_and_no_token(client, users, settings):
    new_event = await event(settings, users)
    answer = await move(client, users.as_athlete, uuid.uuid4(), new_event)
    assert answer["__typename"] == "NotFoundError"
    query = {"query": RESCHEDULE, "variables": {"id": str(uuid.uuid4()), "eventId": str(new_event)}}
    assert (await client.post("/graphql", json=query)).status_code == 401


# --- what may move, and where ----------------------------------------------------------------


async def test_canceled_rejected_started_bookings_do_not_move(client, users, settings, clock):
    events = [await event(settings, users, hours=4 * i, public=i != 1) for i in range(4)]
    target = await event(settings, users, hours=20)
    canceled, rejected, started = [await booked(client, users, e) for e in events[:3]]
    cancel = (
        "mutation($id: UUID!) { cancelBooking(bookingId: $id, reasonCode: NoTime) { __typename } }"
    )
    reject = "mutation($id: UUID!) { rejectBooking(bookingId: $id) { __typename } }"
    await gql(client, users.as_athlete, cancel, id=canceled)
    await gql(client, users.as_coach, reject, id=rejected)
    for booking, why in ((canceled, "is Canceled"), (rejected, "is Rejected")):
        answer = await move(client, users.as_athlete, booking, target)
        assert answer["__typename"] == "ValidationError"
        assert why in answer["message"]
    clock.now = DAY + timedelta(hours=8)  # the third event starts
    answer = await move(client, users.as_athlete, started, target)
    assert answer["__typename"] == "ValidationError"
    assert "has started" in answer["message"]
    await unchanged(started, target)


async def test_the_new_event_must_exist_be_scheduled_and_be_another(client, users, settings):
    old_event = await event(settings, users)
    canceled = await event(settings, users, hours=4, status="Canceled")
    old = await booked(client, users, old_event)
    for target, why in (
        (uuid.uuid4(), "Unknown event"),
        (canceled, "is canceled"),
        (old_event, "already in event"),
    ):
        answer = await move(client, users.as_athlete, old, target)
        assert answer["__typename"] == "ValidationError", answer
        assert why in answer["message"]
    assert (await Booking.get(id=old)).status.value == "Accepted"


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (-timedelta(hours=1), "pastEventBookAttempt"),
        (timedelta(0), "pastEventBookAttempt"),
        (timedelta(minutes=29), "tooCloseToEventStart"),
    ],
)
async def test_the_time_rules_apply_to_the_new_event(client, users, settings, start, error):
    old = await booked(client, users, await event(settings, users))
    target = await create_event(settings, NOW, coach=users.other_coach, start=NOW + start)
    answer = await move(client, users.as_athlete, old, target)
    assert answer["__typename"] == "BookingRefused"
    assert answer["code"] == "validation"
    assert answer["errors"] == [{"eventId": str(target), "bookingError": error}]
    await unchanged(old, target)


async def test_no_self_booking(client, users, settings):
    old = await booked(client, users, await event(settings, users))
    own = await create_event(settings, NOW, coach=users.athlete, start=DAY + timedelta(hours=5))
    answer = await move(client, users.as_athlete, old, own)
    assert answer["errors"] == [{"eventId": str(own), "bookingError": "selfBookAttempt"}]
    await unchanged(old, own)


async def test_conflicts_ignore_the_booking_being_moved(client, users, settings):
    old_event = await event(settings, users)
    old = await booked(client, users, old_event)
    other = await booked(client, users, await event(settings, users, hours=4))
    # Overlapping the athlete's other booking: refused.
    clash = await event(settings, users, hours=4.5)
    answer = await move(client, users.as_athlete, old, clash)
    assert answer["errors"] == [{"eventId": str(clash), "bookingError": "conflictingUserSchedules"}]
    await unchanged(old, clash)
    # Overlapping only the booking being moved (30 minutes later than it): moved.
    later = await create_event(
        settings, NOW, coach=users.other_coach, start=DAY + timedelta(minutes=30)
    )
    assert (await move(client, users.as_athlete, old, later))["__typename"] == "BookingRescheduled"
    # Overlapping an event the athlete coaches: refused.
    await create_event(settings, NOW, coach=users.athlete, start=DAY + timedelta(hours=10))
    coached_clash = await event(settings, users, hours=10.25)
    answer = await move(client, users.as_athlete, other, coached_clash)
    assert answer["errors"][0]["bookingError"] == "conflictingUserSchedules"


async def test_a_full_event_is_overbooked(client, users, settings):
    old = await booked(client, users, await event(settings, users))
    full = await event(settings, users, hours=4, capacity=1)
    r = await book(client, users.as_other_athlete, users.other_athlete, full)
    assert r.status_code == 201
    answer = await move(client, users.as_athlete, old, full)
    assert answer["errors"] == [{"eventId": str(full), "bookingError": "overbooked"}]
    await unchanged(old, full)


async def test_the_seat_cap_counts_the_moved_seat_once(client, users, settings):
    """At the cap, a move keeps the athlete's seat count: allowed. Over it (the cap lowered
    since), the move is refused as overbooked, saying why."""
    settings.max_upcoming_seats_per_user = 2
    first = await booked(client, users, await event(settings, users))
    await booked(client, users, await event(settings, users, hours=4))
    target = await event(settings, users, hours=8)
    done = await move(client, users.as_athlete, first, target)
    assert done["__typename"] == "BookingRescheduled"
    settings.max_upcoming_seats_per_user = 1
    again = await move(
        client,
        users.as_athlete,
        done["booking"]["bookingId"],
        await event(settings, users, hours=12),
    )
    assert again["__typename"] == "BookingRefused"
    assert again["errors"][0]["bookingError"] == "overbooked"
    assert "at most 1 seats" in again["message"]


async def test_a_reschedule_takes_an_order_token(client, users, settings):
    settings.order_rate_limit_per_minute = 1
    settings.order_rate_limit_burst = 1
    old = await booked(client, users, await event(settings, users))
    answer = await move(client, users.as_athlete, old, await event(settings, users, hours=4))
    assert (answer["__typename"], answer["retryAfter"]) == ("TooManyRequestsError", 60)
    assert (await Booking.get(id=old)).status.value == "Accepted"


# --- what it tells, and the seat it frees -----------------------------------------------------


async def told() -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(booking, recipient) of every bookingRescheduled notification."""
    rows = await Notification.filter(rule="bookingRescheduled").values_list(
        "booking_id", "recipient_id"
    )
    return {(uuid.UUID(str(b)), uuid.UUID(str(r))) for b, r in rows}


async def test_the_coach_is_told_once_when_the_coach_stays(client, users, settings):
    old = await booked(client, users, await event(settings, users))
    moved = await move(client, users.as_athlete, old, await event(settings, users, hours=4))
    new = uuid.UUID(moved["booking"]["bookingId"])
    assert await told() == {(new, users.coach)}
    assert await Notification.filter(rule="bookingRescheduled").count() == 1
    # Neither bookingCreated (but the first order's) nor bookingCanceled for a reschedule.
    assert await Notification.filter(rule="bookingCanceled").count() == 0
    assert await Notification.filter(rule="bookingCreated").count() == 1


async def test_both_coaches_are_told_when_they_differ(client, users, settings):
    old = await booked(client, users, await event(settings, users))
    elsewhere = await create_event(
        settings, NOW, coach=users.other_coach, start=DAY + timedelta(hours=4), public=False
    )
    moved = await move(client, users.as_athlete, old, elsewhere)
    new = uuid.UUID(moved["booking"]["bookingId"])
    assert await told() == {(new, users.other_coach), (uuid.UUID(old), users.coach)}
    # The new booking awaits the other coach: they are asked to decide too.
    pending = await Notification.filter(rule="bookingPendingApproval").values_list(
        "booking_id", "recipient_id"
    )
    assert [(uuid.UUID(str(b)), uuid.UUID(str(r))) for b, r in pending] == [
        (new, users.other_coach)
    ]


async def test_every_move_of_a_chain_is_told(client, users, settings):
    """A booking that came from a reschedule, moved to another coach: its coach is told again
    (about the new booking: the outbox keeps one notification per booking, rule and recipient,
    and they were told about this one when it came)."""
    first = await booked(client, users, await event(settings, users))
    second = await move(client, users.as_athlete, first, await event(settings, users, hours=4))
    middle = uuid.UUID(second["booking"]["bookingId"])
    elsewhere = await create_event(
        settings, NOW, coach=users.other_coach, start=DAY + timedelta(hours=8)
    )
    third = await move(client, users.as_athlete, str(middle), elsewhere)
    last = uuid.UUID(third["booking"]["bookingId"])
    assert await told() == {
        (middle, users.coach),  # the first move
        (last, users.other_coach),  # the second, to the other coach
        (last, users.coach),  # ... and to the coach it left
    }


async def test_history_rows_are_written_for_both(client, users, settings):
    old = await booked(client, users, await event(settings, users))
    new = await move(client, users.as_athlete, old, await event(settings, users, hours=4))
    actions = await BookingHistory.filter(
        booking_id__in=[old, new["booking"]["bookingId"]]
    ).values_list("action", flat=True)
    assert sorted(a.value for a in actions) == ["Booked", "Booked", "Rescheduled"]
