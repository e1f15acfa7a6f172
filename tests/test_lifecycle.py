"""The booking lifecycle on GraphQL: accept, reject, cancel, disputes, event cancellation, history.

Every move of SPEC_NOTES' state machine table, every refusal with what is allowed instead, who may
act (strangers learn nothing: NotFound), seats freed and kept, the event-cancel cascade (cancelEvent
and upsertEvents), the history with injected times, and one cancel racing ten orders.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from leko_bookings.models import Booking, BookingHistory, Event
from leko_bookings.resolvers.seats import SEAT_HOLDING
from tests.conftest import NOW
from tests.factories import book, create_event, event_json, gql

IN_A_DAY = NOW + timedelta(days=1)
END = IN_A_DAY + timedelta(minutes=60)  # create_event's default length

RESULT = """
  __typename
  ... on Booking {
    bookingId userId bookingStatus canceledAt canceledByRole cancellationReasonCode
    cancellationReasonText disputeReason disputeResolution eventStatus
  }
  ... on Error { code message }
"""
ACCEPT = "mutation A($bookingId: UUID!) { acceptBooking(bookingId: $bookingId) {" + RESULT + "} }"
REJECT = "mutation R($bookingId: UUID!) { rejectBooking(bookingId: $bookingId) {" + RESULT + "} }"
CANCEL = (
    "mutation C($bookingId: UUID!, $reasonCode: CancellationReasonCode!, $reasonText: String) {"
    " cancelBooking(bookingId: $bookingId, reasonCode: $reasonCode, reasonText: $reasonText) {"
    + RESULT
    + "} }"
)
DISPUTE = (
    "mutation D($bookingId: UUID!, $reason: String!) {"
    " openDispute(bookingId: $bookingId, reason: $reason) {" + RESULT + "} }"
)
RESOLVE = (
    "mutation S($bookingId: UUID!, $resolution: String!) {"
    " resolveDispute(bookingId: $bookingId, resolution: $resolution) {" + RESULT + "} }"
)
CANCEL_EVENT = """
mutation E($eventId: UUID!) {
  cancelEvent(eventId: $eventId) {
    __typename
    ... on Event { eventId eventStatus }
    ... on Error { code message }
  }
}
"""
UPSERT = """
mutation U($events: [EventInput!]!) {
  upsertEvents(events: $events) {
    __typename
    ... on UpsertEventsSuccess { events { eventId eventStatus } }
    ... on Error { code message }
  }
}
"""
HISTORY = """
query H($bookingId: UUID!) {
  booking(bookingId: $bookingId) {
    bookingStatus
    history { at actorId actorRole action fromStatus toStatus detail }
  }
}
"""

# Every booking mutation with arguments that would be fine in themselves.
OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "acceptBooking": (ACCEPT, {}),
    "rejectBooking": (REJECT, {}),
    "cancelBooking": (CANCEL, {"reasonCode": "NoTime"}),
    "openDispute": (DISPUTE, {"reason": "The coach never came."}),
    "resolveDispute": (RESOLVE, {"resolution": "Refunded."}),
}


# --- helpers ------------------------------------------------------------------------------------


async def run(client, headers, query: str, **variables: Any) -> dict[str, Any]:
    """The one root field's value of a GraphQL answer without top-level errors."""
    data = await gql(client, headers, query, **variables)
    assert "errors" not in data, data
    [result] = data["data"].values()
    return result


async def act(client, headers, operation: str, booking_id: Any, **extra: Any) -> dict[str, Any]:
    query, defaults = OPERATIONS[operation]
    return await run(client, headers, query, bookingId=str(booking_id), **{**defaults, **extra})


async def cancel(client, headers, booking_id: Any, code: str = "NoTime", text: str | None = None):
    return await act(client, headers, "cancelBooking", booking_id, reasonCode=code, reasonText=text)


async def cancel_event(client, headers, event_id: Any) -> dict[str, Any]:
    return await run(client, headers, CANCEL_EVENT, eventId=str(event_id))


def assert_error(result: dict[str, Any], typename: str, code: str, *fragments: str) -> None:
    assert result["__typename"] == typename, result
    assert result["code"] == code
    for fragment in fragments:
        assert fragment in result["message"], result["message"]


def assert_refused(result: dict[str, Any], *fragments: str) -> None:
    """A state-machine refusal: a validation error saying what is allowed from here."""
    assert_error(result, "ValidationError", "validation", "Allowed from", *fragments)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def order(client, headers, user: uuid.UUID, event: uuid.UUID) -> uuid.UUID:
    r = await book(client, headers, user, event)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["bookings"][0]["bookingId"])


async def pending(client, users, settings, **event: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A private slot of the coach tomorrow, booked by the athlete: (event, Pending booking)."""
    event_id = await create_event(
        settings, NOW, coach=users.coach, start=IN_A_DAY, **{"public": False, **event}
    )
    booking = await order(client, users.as_athlete, users.athlete, event_id)
    assert (await Booking.get(id=booking)).status == "Pending"
    return event_id, booking


async def accepted(client, users, settings, **event: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A public slot of the coach tomorrow, booked by the athlete: (event, Accepted booking)."""
    event_id = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY, **event)
    booking = await order(client, users.as_athlete, users.athlete, event_id)
    assert (await Booking.get(id=booking)).status == "Accepted"
    return event_id, booking


async def status_of(booking_id: uuid.UUID) -> str:
    return (await Booking.get(id=booking_id)).status.value


def headers_of(users, who: str) -> dict[str, str]:
    return getattr(users, f"as_{who}")


# --- 1. happy paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coach", "admin"])
@pytest.mark.parametrize(
    ("operation", "target"), [("acceptBooking", "Accepted"), ("rejectBooking", "Rejected")]
)
async def test_coach_or_admin_decides_a_pending_booking(
    client, users, settings, clock, who, operation, target
):
    _, booking = await pending(client, users, settings)
    clock.now = IN_A_DAY - timedelta(seconds=1)  # the last moment before the start
    result = await act(client, headers_of(users, who), operation, booking)
    assert result["__typename"] == "Booking", result
    assert result["bookingId"] == str(booking)
    assert result["bookingStatus"] == target
    assert result["canceledAt"] is None
    assert await status_of(booking) == target


@pytest.mark.parametrize(
    ("who", "canceled_by", "actor_role"),
    [
        ("athlete", "Athlete", "Athlete"),
        ("coach", "Coach", "Coach"),
        # CanceledByRole has no Admin: an operator cancels on the platform's behalf (System);
        # the history still names the admin.
        ("admin", "System", "Admin"),
    ],
)
async def test_cancel_accepted_before_start(
    client, users, settings, clock, who, canceled_by, actor_role
):
    _, booking = await accepted(client, users, settings)
    clock.advance(hours=3)
    result = await cancel(client, headers_of(users, who), booking, "NotFeelingWell")
    assert result["__typename"] == "Booking", result
    assert result["bookingStatus"] == "Canceled"
    assert result["canceledByRole"] == canceled_by
    assert instant(result["canceledAt"]) == clock.now
    assert result["cancellationReasonCode"] == "NotFeelingWell"
    assert result["cancellationReasonText"] is None
    stored = await Booking.get(id=booking)
    assert stored.status == "Canceled"
    assert stored.canceled_at == clock.now
    last = await BookingHistory.filter(booking_id=booking).order_by("-at").first()
    assert last.actor_role == actor_role
    assert last.actor_id == getattr(users, who)


async def test_athlete_cancels_a_pending_booking(client, users, settings):
    _, booking = await pending(client, users, settings)
    result = await cancel(client, users.as_athlete, booking, "NoTime")
    assert result["bookingStatus"] == "Canceled"
    assert result["canceledByRole"] == "Athlete"


async def test_bad_reason_text_is_refused(client, users, settings):
    _, booking = await accepted(client, users, settings)
    for code, text, fragment in [
        ("Other", None, "reasonText must not be empty"),
        ("Other", "", "reasonText must not be empty"),
        ("Other", "   \n\t", "reasonText must not be empty"),
        ("Other", "x" * 2001, "at most 2000 characters (got 2001)"),
        ("NoTime", "y" * 2001, "at most 2000 characters (got 2001)"),  # any code
    ]:
        result = await cancel(client, users.as_athlete, booking, code, text)
        assert_error(result, "ValidationError", "validation", fragment)
    stored = await Booking.get(id=booking)
    assert stored.status == "Accepted"
    assert stored.cancellation_reason_code is None


async def test_other_with_exactly_2000_characters_is_accepted(client, users, settings):
    _, booking = await accepted(client, users, settings)
    text = "é" * 1999 + "!"
    result = await cancel(client, users.as_coach, booking, "Other", text)
    assert result["__typename"] == "Booking", result
    assert result["cancellationReasonCode"] == "Other"
    assert result["cancellationReasonText"] == text
    assert (await Booking.get(id=booking)).cancellation_reason_text == text


@pytest.mark.parametrize("who", ["athlete", "coach"])
async def test_dispute_after_the_end_then_admin_resolves(client, users, settings, clock, who):
    _, booking = await accepted(client, users, settings)
    clock.now = END  # the event has just ended
    result = await act(
        client, headers_of(users, who), "openDispute", booking, reason="Session cut short."
    )
    assert result["__typename"] == "Booking", result
    assert result["bookingStatus"] == "InDispute"
    assert result["disputeReason"] == "Session cut short."
    assert await status_of(booking) == "InDispute"

    clock.advance(days=10)  # an admin resolves at any time
    result = await act(client, users.as_admin, "resolveDispute", booking, resolution="Half back.")
    assert result["__typename"] == "Booking", result
    assert result["bookingStatus"] == "DisputeDone"
    assert result["disputeReason"] == "Session cut short."
    assert result["disputeResolution"] == "Half back."
    assert await status_of(booking) == "DisputeDone"


async def test_dispute_texts_are_required(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    clock.now = END
    for reason, fragment in [("  ", "reason must not be empty"), ("r" * 2001, "at most 2000")]:
        result = await act(client, users.as_athlete, "openDispute", booking, reason=reason)
        assert_error(result, "ValidationError", "validation", fragment)
    assert await status_of(booking) == "Accepted"
    opened = await act(client, users.as_athlete, "openDispute", booking, reason="r" * 2000)
    assert opened["disputeReason"] == "r" * 2000
    for resolution in ("", " "):
        result = await act(client, users.as_admin, "resolveDispute", booking, resolution=resolution)
        assert_error(result, "ValidationError", "validation", "resolution must not be empty")
    assert await status_of(booking) == "InDispute"


# --- 2. refusals along the state machine --------------------------------------------------------


async def test_no_decision_once_the_event_has_started(client, users, settings, clock):
    _, booking = await pending(client, users, settings)
    for late in (timedelta(0), timedelta(minutes=30)):  # from the start itself
        clock.now = IN_A_DAY + late
        for operation, headers in [
            ("acceptBooking", users.as_coach),
            ("rejectBooking", users.as_coach),
            ("acceptBooking", users.as_admin),
        ]:
            result = await act(client, headers, operation, booking)
            assert_refused(
                result,
                "is Pending; it cannot become",
                "Allowed from Pending: to Accepted by admin/coach before the event starts",
            )
    assert await status_of(booking) == "Pending"


async def test_accepting_an_accepted_booking_is_refused(client, users, settings):
    _, booking = await accepted(client, users, settings)
    result = await act(client, users.as_coach, "acceptBooking", booking)
    assert_refused(
        result,
        "is Accepted; it cannot become Accepted",
        "Allowed from Accepted: to Canceled",
        "to InDispute by athlete/coach after the event has ended",
    )
    assert await status_of(booking) == "Accepted"


async def test_rejecting_an_accepted_booking_is_refused(client, users, settings):
    _, booking = await accepted(client, users, settings)
    result = await act(client, users.as_admin, "rejectBooking", booking)
    assert_refused(result, "cannot become Rejected", "Allowed from Accepted")
    assert await status_of(booking) == "Accepted"


async def test_no_cancel_once_the_event_has_started(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    clock.now = IN_A_DAY
    for who in ("athlete", "coach", "admin"):
        result = await cancel(client, headers_of(users, who), booking)
        assert_refused(
            result,
            f"is Accepted; it cannot become Canceled by the {who} now",
            "to Canceled by admin/athlete/coach/system before the event starts",
        )
    stored = await Booking.get(id=booking)
    assert stored.status == "Accepted"
    assert stored.canceled_at is None


@pytest.mark.parametrize("final", ["Canceled", "Rejected"])
async def test_a_canceled_or_rejected_booking_is_final(client, users, settings, final):
    _, booking = await pending(client, users, settings)
    if final == "Canceled":
        first = await cancel(client, users.as_athlete, booking, "NoTime")
    else:
        first = await act(client, users.as_coach, "rejectBooking", booking)
    assert first["bookingStatus"] == final
    for operation in OPERATIONS:
        headers = users.as_admin if operation == "resolveDispute" else users.as_coach
        result = await act(client, headers, operation, booking)
        assert_refused(result, f"This booking is {final}", f"Allowed from {final}: nothing")
    result = await cancel(client, users.as_athlete, booking, "NotFeelingWell")
    assert_refused(result, "it is final")
    stored = await Booking.get(id=booking)
    assert stored.status == final
    assert stored.cancellation_reason_code == ("NoTime" if final == "Canceled" else None)


async def test_no_dispute_before_the_end(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    for moment in (IN_A_DAY - timedelta(hours=1), IN_A_DAY, END - timedelta(seconds=1)):
        clock.now = moment
        for headers in (users.as_athlete, users.as_coach):
            result = await act(client, headers, "openDispute", booking)
            assert_refused(
                result,
                "cannot become InDispute",
                "to InDispute by athlete/coach after the event has ended",
            )
    assert await status_of(booking) == "Accepted"


async def test_no_dispute_on_a_pending_booking(client, users, settings, clock):
    _, booking = await pending(client, users, settings)
    clock.now = END + timedelta(hours=1)
    result = await act(client, users.as_athlete, "openDispute", booking)
    assert_refused(result, "is Pending; it cannot become InDispute", "Allowed from Pending")
    assert await status_of(booking) == "Pending"


@pytest.mark.parametrize("kind", ["pending", "accepted"])
async def test_only_a_booking_in_dispute_is_resolved(client, users, settings, clock, kind):
    _, booking = await (pending if kind == "pending" else accepted)(client, users, settings)
    clock.now = END + timedelta(hours=1)
    result = await act(client, users.as_admin, "resolveDispute", booking)
    assert_refused(result, "cannot become DisputeDone", "Allowed from")
    assert (await Booking.get(id=booking)).dispute_resolution is None


async def test_a_resolved_dispute_is_final(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    clock.now = END
    await act(client, users.as_coach, "openDispute", booking)
    await act(client, users.as_admin, "resolveDispute", booking, resolution="First.")
    result = await act(client, users.as_admin, "resolveDispute", booking, resolution="Second.")
    assert_refused(result, "Allowed from DisputeDone: nothing")
    result = await act(client, users.as_athlete, "openDispute", booking)
    assert_refused(result, "Allowed from DisputeDone: nothing")
    assert (await Booking.get(id=booking)).dispute_resolution == "First."


async def test_the_athlete_cannot_decide(client, users, settings):
    _, booking = await pending(client, users, settings)
    for operation in ("acceptBooking", "rejectBooking"):
        result = await act(client, users.as_athlete, operation, booking)
        assert_error(result, "ForbiddenError", "forbidden", "Only the booking's admin or coach")
    assert await status_of(booking) == "Pending"


async def test_only_an_admin_resolves_a_dispute(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    clock.now = END
    assert (await act(client, users.as_athlete, "openDispute", booking))["__typename"] == "Booking"
    for headers in (users.as_athlete, users.as_coach):
        result = await act(client, headers, "resolveDispute", booking)
        assert_error(result, "ForbiddenError", "forbidden", "Only the booking's admin")
    stored = await Booking.get(id=booking)
    assert stored.status == "InDispute"
    assert stored.dispute_resolution is None


async def test_an_admin_cannot_open_a_dispute(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    clock.now = END
    result = await act(client, users.as_admin, "openDispute", booking)
    assert_error(result, "ForbiddenError", "forbidden", "athlete or coach")
    assert await status_of(booking) == "Accepted"


async def test_strangers_learn_nothing(client, users, settings):
    _, booking = await pending(client, users, settings)
    unknown = uuid.uuid4()
    for headers in (users.as_other_athlete, users.as_other_coach):
        for operation in OPERATIONS:
            result = await act(client, headers, operation, booking)
            assert_error(result, "NotFoundError", "notFound", str(booking))
            # The very answer an id that does not exist gets: nothing leaks.
            missing = await act(client, headers, operation, unknown)
            assert result["message"].replace(str(booking), "<id>") == missing["message"].replace(
                str(unknown), "<id>"
            )
    assert await status_of(booking) == "Pending"
    assert await BookingHistory.filter(booking_id=booking).count() == 1


async def test_roles_do_not_widen_what_a_stranger_sees(client, users, settings):
    """Roles do not widen what an athlete or coach sees: a coach-athlete of another event."""
    _, booking = await pending(client, users, settings)
    headers = users.headers(users.other_coach, "coach", "athlete")
    result = await act(client, headers, "acceptBooking", booking)
    assert_error(result, "NotFoundError", "notFound")
    assert await status_of(booking) == "Pending"


async def test_the_scheduler_sees_but_cannot_act(client, users, settings):
    _, booking = await pending(client, users, settings)
    seen = await run(client, users.as_scheduler, HISTORY, bookingId=str(booking))
    assert seen["bookingStatus"] == "Pending"
    for operation in OPERATIONS:
        result = await act(client, users.as_scheduler, operation, booking)
        assert_error(result, "ForbiddenError", "forbidden", "Only the booking's")
    assert await status_of(booking) == "Pending"


async def test_unknown_booking_is_not_found(client, users):
    unknown = uuid.uuid4()
    for operation in OPERATIONS:
        result = await act(client, users.as_admin, operation, unknown)
        assert_error(result, "NotFoundError", "notFound", f"Booking {unknown} was not found")


# --- 3. seats -----------------------------------------------------------------------------------


async def test_canceling_frees_the_seat(client, users, settings):
    event, booking = await accepted(client, users, settings, capacity=1)
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 400
    assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]
    assert (await cancel(client, users.as_athlete, booking))["bookingStatus"] == "Canceled"
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 201, r.text


async def test_rejecting_frees_the_seat(client, users, settings):
    event, booking = await pending(client, users, settings, capacity=1)
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]
    assert (await act(client, users.as_coach, "rejectBooking", booking))["bookingStatus"] == (
        "Rejected"
    )
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 201, r.text
    assert r.json()["bookings"][0]["bookingStatus"] == "Pending"


async def test_accepting_keeps_the_seat_it_holds(client, users, settings):
    event, booking = await pending(client, users, settings, capacity=2)
    assert (await act(client, users.as_coach, "acceptBooking", booking))["bookingStatus"] == (
        "Accepted"
    )
    # The accepted booking still holds exactly one seat: one more fits, then none.
    r = await book(client, users.as_other_athlete, users.other_athlete, event)
    assert r.status_code == 201, r.text
    third = uuid.uuid4()
    r = await book(client, users.headers(third, "athlete"), third, event)
    assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]
    assert await Booking.filter(event_id=event, status__in=SEAT_HOLDING).count() == 2


# --- 4. canceling an event ----------------------------------------------------------------------


async def test_cancel_event_needs_an_operator(client, users, settings):
    event, booking = await accepted(client, users, settings)
    for headers in (users.as_athlete, users.as_coach, users.headers(users.coach, "athlete")):
        result = await cancel_event(client, headers, event)
        assert_error(result, "ForbiddenError", "forbidden", "admin or scheduler")
    assert (await Event.get(id=event)).status == "Scheduled"
    assert await status_of(booking) == "Accepted"


async def test_cancel_unknown_event(client, users):
    unknown = uuid.uuid4()
    result = await cancel_event(client, users.as_scheduler, unknown)
    assert_error(result, "NotFoundError", "notFound", str(unknown))


async def test_a_started_event_cannot_be_canceled(client, users, settings, clock):
    event, booking = await accepted(client, users, settings)
    for late in (timedelta(0), timedelta(hours=2)):
        clock.now = IN_A_DAY + late
        result = await cancel_event(client, users.as_admin, event)
        assert_error(result, "ValidationError", "validation", "already started")
    assert (await Event.get(id=event)).status == "Scheduled"
    assert await status_of(booking) == "Accepted"


async def test_canceling_an_event_twice_changes_nothing_more(client, users, settings, clock):
    event, booking = await accepted(client, users, settings)
    first = await cancel_event(client, users.as_scheduler, event)
    assert first == {"__typename": "Event", "eventId": str(event), "eventStatus": "Canceled"}
    entries = await BookingHistory.filter(booking_id=booking).count()
    clock.advance(hours=1)
    again = await cancel_event(client, users.as_admin, event)
    assert again == first
    stored = await Booking.get(id=booking)
    assert stored.canceled_at == NOW
    assert await BookingHistory.filter(booking_id=booking).count() == entries
    clock.now = END  # even once it has passed, a canceled event stays canceled quietly
    assert await cancel_event(client, users.as_admin, event) == first


async def test_a_canceled_event_cannot_be_booked(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    assert (await cancel_event(client, users.as_admin, event))["eventStatus"] == "Canceled"
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation"
    assert str(event) in body["message"]
    assert "canceled" in body["message"]
    assert await Booking.filter(event_id=event).count() == 0


@pytest.mark.parametrize(
    ("how", "operator", "actor_role"),
    [
        ("cancelEvent", "admin", "Admin"),
        ("cancelEvent", "scheduler", "Scheduler"),
        ("upsertEvents", "scheduler", "Scheduler"),
        ("upsertEvents", "admin", "Admin"),
    ],
)
async def test_event_cancellation_cascades(client, users, clock, how, operator, actor_role):
    operator_headers = headers_of(users, operator)
    target = event_json(coach=users.coach, start=IN_A_DAY, public=False)
    other = event_json(coach=users.coach, start=IN_A_DAY + timedelta(days=1))
    done = await run(client, users.as_scheduler, UPSERT, events=[target, other])
    assert done["__typename"] == "UpsertEventsSuccess", done
    event, other_event = uuid.UUID(target["eventId"]), uuid.UUID(other["eventId"])

    live_pending = await order(client, users.as_athlete, users.athlete, event)
    live_accepted = await order(client, users.as_other_athlete, users.other_athlete, event)
    assert (await act(client, users.as_coach, "acceptBooking", live_accepted))["__typename"] == (
        "Booking"
    )
    quitter, refused = uuid.uuid4(), uuid.uuid4()
    canceled_before = await order(client, users.headers(quitter, "athlete"), quitter, event)
    await cancel(client, users.headers(quitter, "athlete"), canceled_before, "NoTime")
    rejected = await order(client, users.headers(refused, "athlete"), refused, event)
    await act(client, users.as_coach, "rejectBooking", rejected)
    elsewhere = await order(client, users.as_athlete, users.athlete, other_event)

    clock.advance(hours=2)
    if how == "cancelEvent":
        result = await cancel_event(client, operator_headers, event)
        assert result == {"__typename": "Event", "eventId": str(event), "eventStatus": "Canceled"}
    else:
        target["eventStatus"] = "Canceled"
        result = await run(client, operator_headers, UPSERT, events=[target])
        assert result["events"] == [{"eventId": str(event), "eventStatus": "Canceled"}]

    assert (await Event.get(id=event)).status == "Canceled"
    for booking, source in ((live_pending, "Pending"), (live_accepted, "Accepted")):
        stored = await Booking.get(id=booking)
        assert stored.status == "Canceled"
        assert stored.canceled_by_role == "Coach"
        assert stored.canceled_at == clock.now
        seen = await run(client, users.as_admin, HISTORY, bookingId=str(booking))
        last = seen["history"][-1]
        assert last["action"] == "Canceled"
        assert last["actorRole"] == actor_role
        assert last["actorId"] == str(getattr(users, operator))
        assert (last["fromStatus"], last["toStatus"]) == (source, "Canceled")
        assert instant(last["at"]) == clock.now

    untouched = await Booking.get(id=canceled_before)
    assert untouched.canceled_by_role == "Athlete"
    assert untouched.canceled_at == NOW
    assert untouched.cancellation_reason_code == "NoTime"
    assert await BookingHistory.filter(booking_id=canceled_before).count() == 2
    assert await status_of(rejected) == "Rejected"
    assert (await Booking.get(id=rejected)).canceled_at is None
    assert await status_of(elsewhere) == "Accepted"
    assert (await Event.get(id=other_event)).status == "Scheduled"
    # The athletes see their booking canceled with its event.
    shown = await run(client, users.as_athlete, HISTORY, bookingId=str(live_pending))
    assert shown["bookingStatus"] == "Canceled"


# --- 5. history ---------------------------------------------------------------------------------


async def test_history_of_order_accept_cancel(client, users, settings, clock):
    _, booking = await pending(client, users, settings)
    booked_at = clock.now
    clock.advance(hours=1, minutes=7)
    accepted_at = clock.now
    assert (await act(client, users.as_coach, "acceptBooking", booking))["__typename"] == "Booking"
    clock.advance(hours=2, seconds=13)
    canceled_at = clock.now
    result = await cancel(client, users.as_athlete, booking, "NotFeelingWell")
    assert result["bookingStatus"] == "Canceled"

    for viewer in (users.as_athlete, users.as_coach):
        seen = await run(client, viewer, HISTORY, bookingId=str(booking))
        history = seen["history"]
        assert [h["action"] for h in history] == ["Booked", "Accepted", "Canceled"]
        booked, accept, canceled = history
        assert [instant(h["at"]) for h in history] == [booked_at, accepted_at, canceled_at]
        assert booked["actorId"] == str(users.athlete)
        assert booked["actorRole"] == "Athlete"
        assert (booked["fromStatus"], booked["toStatus"]) == (None, "Pending")
        assert accept["actorId"] == str(users.coach)
        assert accept["actorRole"] == "Coach"
        assert (accept["fromStatus"], accept["toStatus"]) == ("Pending", "Accepted")
        assert canceled["actorId"] == str(users.athlete)
        assert canceled["actorRole"] == "Athlete"
        assert (canceled["fromStatus"], canceled["toStatus"]) == ("Accepted", "Canceled")
        assert "NotFeelingWell" in canceled["detail"]

    for stranger in (users.as_other_athlete, users.as_other_coach):
        data = await gql(client, stranger, HISTORY, bookingId=str(booking))
        assert data == {"data": {"booking": None}}


async def test_refused_moves_leave_no_history(client, users, settings, clock):
    _, booking = await accepted(client, users, settings)
    await act(client, users.as_coach, "acceptBooking", booking)  # refused: already Accepted
    await act(client, users.as_other_athlete, "cancelBooking", booking)  # a stranger
    await act(client, users.as_scheduler, "cancelBooking", booking)  # no party to it
    clock.now = IN_A_DAY
    await cancel(client, users.as_athlete, booking)  # too late
    seen = await run(client, users.as_athlete, HISTORY, bookingId=str(booking))
    assert [h["action"] for h in seen["history"]] == ["Booked"]


async def test_history_of_an_event_canceled_by_a_scheduler(client, users, settings, clock):
    event, booking = await accepted(client, users, settings)
    clock.advance(minutes=45)
    await cancel_event(client, users.as_scheduler, event)
    seen = await run(client, users.as_athlete, HISTORY, bookingId=str(booking))
    assert [h["action"] for h in seen["history"]] == ["Booked", "Canceled"]
    last = seen["history"][-1]
    assert last["actorRole"] == "Scheduler"
    assert last["actorId"] == str(users.scheduler)
    assert instant(last["at"]) == NOW + timedelta(minutes=45)


# --- 6. concurrency -----------------------------------------------------------------------------


async def test_cancel_racing_ten_orders_never_overbooks(client, users, settings):
    event, booking = await accepted(client, users, settings, capacity=1)
    others = [uuid.uuid4() for _ in range(10)]
    answers = await asyncio.gather(
        cancel(client, users.as_athlete, booking, "NoTime"),
        *(book(client, users.headers(u, "athlete"), u, event) for u in others),
    )
    canceled, responses = answers[0], answers[1:]
    assert canceled["bookingStatus"] == "Canceled"
    booked = [r for r in responses if r.status_code == 201]
    assert len(booked) <= 1
    for r in responses:
        if r.status_code != 201:
            assert r.status_code == 400, r.text
            assert r.json()["errors"] == [{"eventId": str(event), "bookingError": "overbooked"}]
    held = await Booking.filter(event_id=event, status__in=SEAT_HOLDING).count()
    assert held == len(booked)
    assert held <= 1
    assert await status_of(booking) == "Canceled"
