"""Reading bookings and orders (SPEC_NOTES, "Reading"): REST and GraphQL, filters, windows,
who may read what, serviceCardinality, cursor pagination, the calendar query's statement count
and the 401s. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bench.sqlcount import counting_statements
from leko_bookings.http import utc_instant
from leko_bookings.models import Booking
from tests.conftest import NOW
from tests.factories import book, create_event, gql

DAY = NOW.replace(hour=10) + timedelta(days=1)  # 2026-06-02T10:00:00Z
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def book_event(client, settings, headers, user, *, coach, start, **event_kwargs) -> dict:
    """Create one event and book it for `user`; the booking's JSON."""
    event = await create_event(settings, NOW, coach=coach, start=start, **event_kwargs)
    r = await book(client, headers, user, event)
    assert r.status_code == 201, r.text
    [booking] = r.json()["bookings"]
    return booking


async def book_each(client, settings, users, starts: list[datetime]) -> list[str]:
    """The athlete books one event of the coach at each start; returns the booking ids."""
    return [
        (
            await book_event(
                client, settings, users.as_athlete, users.athlete, coach=users.coach, start=s
            )
        )["bookingId"]
        for s in starts
    ]


async def list_ids(client, headers, **params: Any) -> list[str]:
    r = await client.get("/v1/bookings", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [b["bookingId"] for b in r.json()]


def assert_single_error(r, code: str, endpoint: str) -> dict:
    """The contract's single `Error` body (no `errors` list), tied to the request id."""
    body = r.json()
    assert "errors" not in body
    assert body["code"] == code
    assert body["endpoint"] == endpoint
    assert body["requestId"] == r.headers["x-request-id"]
    assert body["message"]
    return body


def assert_errors(r, status: int, code: str, endpoint: str) -> dict:
    """The contract's `Errors` body with one entry."""
    assert r.status_code == status, r.text
    [error] = r.json()["errors"]
    assert error["code"] == code
    assert error["endpoint"] == endpoint
    assert error["requestId"] == r.headers["x-request-id"]
    return error


# --------------------------------------------------------------------------------------------
# GET /v1/bookings/{bookingId}


async def test_booking_by_id_readable_by_its_parties_and_operators(client, users, settings):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    for headers in (users.as_athlete, users.as_coach, users.as_admin, users.as_scheduler):
        r = await client.get(f"/v1/bookings/{booking['bookingId']}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["bookingId"] == booking["bookingId"]
        assert body["userId"] == str(users.athlete)
        assert body["coachId"] == str(users.coach)
        assert body["startAt"] == iso(DAY)
        assert body["serviceCardinality"] == 1


@pytest.mark.parametrize("who", ["other_athlete", "other_coach", "unknown"])
async def test_booking_by_id_is_404_for_strangers_and_unknown_ids(client, users, settings, who):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    if who == "unknown":
        booking_id, headers = str(uuid.uuid4()), users.as_admin
    else:
        booking_id, headers = booking["bookingId"], getattr(users, f"as_{who}")
    r = await client.get(f"/v1/bookings/{booking_id}", headers=headers)
    assert r.status_code == 404, r.text
    body = assert_single_error(r, "notFound", "GET /bookings/{bookingId}")
    assert "serviceCardinality" not in body


async def test_booking_by_id_request_id_follows_traceparent(client, users, settings):
    r = await client.get(
        f"/v1/bookings/{uuid.uuid4()}",
        headers={**users.as_athlete, "traceparent": TRACEPARENT},
    )
    assert r.status_code == 404
    assert r.headers["x-request-id"] == TRACE_ID
    assert assert_single_error(r, "notFound", "GET /bookings/{bookingId}")["requestId"] == TRACE_ID


async def test_booking_by_id_with_a_bad_uuid_is_400_not_422(client, users):
    r = await client.get("/v1/bookings/not-a-uuid", headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings/{bookingId}")


# --------------------------------------------------------------------------------------------
# GET /v1/bookings: filters, window, order


async def test_list_by_user_event_or_both(client, users, settings):
    e1 = await create_event(settings, NOW, coach=users.coach, start=DAY)
    e2 = await create_event(settings, NOW, coach=users.other_coach, start=DAY + timedelta(hours=2))
    r = await book(client, users.as_athlete, users.athlete, e1, e2)
    mine = {b["eventId"]: b["bookingId"] for b in r.json()["bookings"]}
    r = await book(client, users.as_other_athlete, users.other_athlete, e1)
    theirs = r.json()["bookings"][0]["bookingId"]

    by_user = await list_ids(client, users.as_athlete, userId=str(users.athlete))
    assert by_user == [mine[str(e1)], mine[str(e2)]]

    by_event = await list_ids(client, users.as_coach, eventId=str(e1))
    assert sorted(by_event) == sorted([mine[str(e1)], theirs])

    both = await list_ids(client, users.as_athlete, userId=str(users.athlete), eventId=str(e1))
    assert both == [mine[str(e1)]]
    both = await list_ids(client, users.as_athlete, userId=str(users.athlete), eventId=str(e2))
    assert both == [mine[str(e2)]]


async def test_list_needs_user_or_event(client, users):
    r = await client.get("/v1/bookings", headers=users.as_admin)
    error = assert_errors(r, 400, "validation", "GET /bookings")
    assert "userId" in error["message"]


async def test_window_keeps_overlapping_bookings_touching_ends_excluded(client, users, settings):
    # Three one-hour bookings: A [10:00, 11:00), B [12:00, 13:00), C [14:00, 15:00).
    starts = [DAY, DAY + timedelta(hours=2), DAY + timedelta(hours=4)]
    a, b, c = [
        (
            await book_event(
                client, settings, users.as_athlete, users.athlete, coach=users.coach, start=s
            )
        )["bookingId"]
        for s in starts
    ]
    me = {"userId": str(users.athlete)}
    h = users.as_athlete

    def window(start: timedelta | None = None, end: timedelta | None = None) -> dict:
        params = dict(me)
        if start is not None:
            params["startAt"] = iso(DAY + start)
        if end is not None:
            params["endAt"] = iso(DAY + end)
        return params

    # A ends exactly at startAt, C starts exactly at endAt: neither overlaps.
    assert await list_ids(client, h, **window(timedelta(hours=1), timedelta(hours=4))) == [b]
    second = timedelta(seconds=1)
    wide = window(timedelta(hours=1) - second, timedelta(hours=4) + second)
    assert await list_ids(client, h, **wide) == [a, b, c]
    assert await list_ids(client, h, **window(start=timedelta(hours=3))) == [c]
    assert await list_ids(client, h, **window(start=timedelta(hours=3) - second)) == [b, c]
    assert await list_ids(client, h, **window(end=timedelta(hours=2))) == [a]
    assert await list_ids(client, h, **window(end=timedelta(hours=2) + second)) == [a, b]
    # A window inside a booking keeps it.
    inside = window(timedelta(hours=2, minutes=10), timedelta(hours=2, minutes=20))
    assert await list_ids(client, h, **inside) == [b]


async def test_window_start_after_end_is_400(client, users):
    params = {"userId": str(users.athlete), "startAt": iso(DAY + timedelta(hours=1))}
    params["endAt"] = iso(DAY)
    r = await client.get("/v1/bookings", params=params, headers=users.as_athlete)
    error = assert_errors(r, 400, "validation", "GET /bookings")
    assert "startAt" in error["message"]


async def test_listing_sorted_by_start_then_booking_id(client, users, settings):
    # Booked latest first: the listing is still by start.
    starts = [DAY + timedelta(days=2), DAY, DAY + timedelta(days=1)]
    ids_by_start = {}
    for s in starts:
        booking = await book_event(
            client, settings, users.as_athlete, users.athlete, coach=users.coach, start=s
        )
        ids_by_start[s] = booking["bookingId"]
    listed = await list_ids(client, users.as_athlete, userId=str(users.athlete))
    assert listed == [ids_by_start[s] for s in sorted(starts)]

    # Five athletes on one event: same start, so the booking id decides.
    event = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(days=5))
    ids = []
    for _ in range(5):
        athlete = uuid.uuid4()
        r = await book(client, users.headers(athlete, "athlete"), athlete, event)
        ids.append(r.json()["bookings"][0]["bookingId"])
    assert await list_ids(client, users.as_coach, eventId=str(event)) == sorted(ids)


async def test_dismissed_bookings_left_out_of_the_user_listing_only(client, users, settings):
    kept = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    gone = await book_event(
        client,
        settings,
        users.as_athlete,
        users.athlete,
        coach=users.coach,
        start=DAY + timedelta(days=1),
    )
    await Booking.filter(id=gone["bookingId"]).update(status="Canceled", dismissed_at=NOW)

    mine = await list_ids(client, users.as_athlete, userId=str(users.athlete))
    assert mine == [kept["bookingId"]]
    by_event = await list_ids(client, users.as_coach, eventId=gone["eventId"])
    assert by_event == [gone["bookingId"]]
    r = await client.get(f"/v1/bookings/{gone['bookingId']}", headers=users.as_athlete)
    assert r.status_code == 200
    assert r.json()["bookingStatus"] == "Canceled"


async def test_date_times_with_offsets_encoded_or_as_a_space(client, users, settings):
    starts = [DAY, DAY + timedelta(hours=2), DAY + timedelta(hours=4)]
    ids = await book_each(client, settings, users, starts)
    # 14:30+03:00 is 11:30Z and 16:30+03:00 is 13:30Z: only the 12:00Z booking. Read as UTC,
    # the window would keep the 14:00Z booking instead.
    start, end = "2026-06-02T14:30:00+03:00", "2026-06-02T16:30:00+03:00"
    params = {"userId": str(users.athlete), "startAt": start, "endAt": end}
    r = await client.get("/v1/bookings", params=params, headers=users.as_athlete)
    assert "%2B03" in str(r.request.url)
    assert r.status_code == 200, r.text
    assert [b["bookingId"] for b in r.json()] == [ids[1]]

    # An unencoded '+' arrives as a space; the service reads it as the offset's sign.
    raw = f"/v1/bookings?userId={users.athlete}&startAt={start}&endAt={end}"
    r = await client.get(raw, headers=users.as_athlete)
    assert b"+03:00" in r.request.url.query
    assert r.status_code == 200, r.text
    assert [b["bookingId"] for b in r.json()] == [ids[1]]

    # A negative offset needs no encoding: 07:30-04:00 is 11:30Z.
    params = {"userId": str(users.athlete), "startAt": "2026-06-02T07:30:00-04:00"}
    r = await client.get("/v1/bookings", params=params, headers=users.as_athlete)
    assert [b["bookingId"] for b in r.json()] == ids[1:]


@pytest.mark.parametrize(
    "value", ["2026-06-02T10:00:00", "2026-06-02", "yesterday", "2026-06-02T10:00:00 03"]
)
@pytest.mark.parametrize("param", ["startAt", "endAt"])
async def test_date_time_without_offset_or_malformed_is_400(client, users, param, value):
    params = {"userId": str(users.athlete), param: value}
    r = await client.get("/v1/bookings", params=params, headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings")


async def test_bad_uuid_in_query_is_400(client, users):
    r = await client.get("/v1/bookings", params={"userId": "nope"}, headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings")


# --------------------------------------------------------------------------------------------
# GET /v1/bookings: who may list what


async def test_user_listing_is_own_only_unless_admin(client, users, settings):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    params = {"userId": str(users.athlete)}
    for headers in (users.as_other_athlete, users.as_coach, users.as_scheduler):
        r = await client.get("/v1/bookings", params=params, headers=headers)
        assert_errors(r, 403, "forbidden", "GET /bookings")
    assert await list_ids(client, users.as_admin, **params) == [booking["bookingId"]]
    assert await list_ids(client, users.as_athlete, **params) == [booking["bookingId"]]
    # Roles do not widen what a user sees of others: the token's id decides.
    wide = users.headers(users.other_athlete, "athlete", "coach", "scheduler")
    r = await client.get("/v1/bookings", params=params, headers=wide)
    assert_errors(r, 403, "forbidden", "GET /bookings")


async def test_event_listing_for_its_coach_and_operators(client, users, settings):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    params = {"eventId": booking["eventId"]}
    for headers in (users.as_coach, users.as_admin, users.as_scheduler):
        assert await list_ids(client, headers, **params) == [booking["bookingId"]]
    # The athlete of a booking on the event still cannot list the whole event.
    for headers in (users.as_other_coach, users.as_athlete, users.as_other_athlete):
        r = await client.get("/v1/bookings", params=params, headers=headers)
        assert_errors(r, 403, "forbidden", "GET /bookings")
    # An unknown event does not leak either way for a non-operator.
    r = await client.get(
        "/v1/bookings", params={"eventId": str(uuid.uuid4())}, headers=users.as_coach
    )
    assert_errors(r, 403, "forbidden", "GET /bookings")
    # The event's coach may narrow to one athlete; another coach may not.
    narrowed = {**params, "userId": str(users.athlete)}
    assert await list_ids(client, users.as_coach, **narrowed) == [booking["bookingId"]]
    r = await client.get("/v1/bookings", params=narrowed, headers=users.as_other_coach)
    assert_errors(r, 403, "forbidden", "GET /bookings")


# --------------------------------------------------------------------------------------------
# GET /v1/bookings/orders


async def test_orders_need_user_id(client, users):
    r = await client.get("/v1/bookings/orders", headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings/orders")


async def test_orders_own_only_unless_admin(client, users, settings):
    await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    params = {"userId": str(users.athlete)}
    for headers in (users.as_other_athlete, users.as_coach, users.as_scheduler):
        r = await client.get("/v1/bookings/orders", params=params, headers=headers)
        assert_errors(r, 403, "forbidden", "GET /bookings/orders")
    for headers in (users.as_athlete, users.as_admin):
        r = await client.get("/v1/bookings/orders", params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert len(r.json()) == 1


async def make_three_orders(client, users, settings, clock) -> tuple[dict, dict, dict]:
    """Orders at NOW (Confirmed, two bookings), NOW+1h (Pending) and NOW+2h (Canceled)."""
    e1 = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(hours=2))
    e2 = await create_event(settings, NOW, coach=users.other_coach, start=DAY)
    confirmed = (await book(client, users.as_athlete, users.athlete, e1, e2)).json()
    clock.advance(hours=1)
    private = await create_event(
        settings, NOW, coach=users.coach, start=DAY + timedelta(days=1), public=False
    )
    pending = (await book(client, users.as_athlete, users.athlete, private)).json()
    clock.advance(hours=1)
    e3 = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(days=2))
    e4 = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(days=3))
    canceled = (await book(client, users.as_athlete, users.athlete, e3, e4)).json()
    await Booking.filter(order_id=canceled["orderId"]).update(status="Canceled")
    # Someone else's order, created in the middle of the window: never listed.
    other = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(days=4))
    clock.now = NOW + timedelta(hours=1, minutes=30)
    assert (await book(client, users.as_other_athlete, users.other_athlete, other)).is_success
    return confirmed, pending, canceled


async def test_orders_newest_first_with_status_and_bookings(client, users, settings, clock):
    confirmed, pending, canceled = await make_three_orders(client, users, settings, clock)
    r = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.status_code == 200, r.text
    orders = r.json()
    assert [o["orderId"] for o in orders] == [
        canceled["orderId"],
        pending["orderId"],
        confirmed["orderId"],
    ]
    assert [o["status"] for o in orders] == ["Canceled", "Pending", "Confirmed"]
    assert [o["createdAt"] for o in orders] == [
        iso(NOW + timedelta(hours=2)),
        iso(NOW + timedelta(hours=1)),
        iso(NOW),
    ]
    assert all(o["userId"] == str(users.athlete) for o in orders)
    # Each order carries its bookings, by start.
    first = orders[2]["bookings"]
    assert [b["startAt"] for b in first] == [iso(DAY), iso(DAY + timedelta(hours=2))]
    assert {b["bookingId"] for b in first} == {b["bookingId"] for b in confirmed["bookings"]}
    assert [b["bookingStatus"] for b in orders[1]["bookings"]] == ["Pending"]
    assert [b["bookingStatus"] for b in orders[0]["bookings"]] == ["Canceled", "Canceled"]
    assert [b["serviceCardinality"] for b in orders[0]["bookings"]] == [None, None]


async def test_order_with_one_booking_left_standing_is_confirmed(client, users, settings):
    e1 = await create_event(settings, NOW, coach=users.coach, start=DAY)
    e2 = await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(days=1))
    order = (await book(client, users.as_athlete, users.athlete, e1, e2)).json()
    await Booking.filter(id=order["bookings"][0]["bookingId"]).update(status="Canceled")
    r = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert [o["status"] for o in r.json()] == ["Confirmed"]
    await Booking.filter(id=order["bookings"][1]["bookingId"]).update(status="Rejected")
    r = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert [o["status"] for o in r.json()] == ["Canceled"]


async def test_orders_window_on_created_at(client, users, settings, clock):
    confirmed, pending, canceled = await make_three_orders(client, users, settings, clock)
    at = {0: iso(NOW), 1: iso(NOW + timedelta(hours=1)), 2: iso(NOW + timedelta(hours=2))}

    async def listed(**window: str) -> list[str]:
        params = {"userId": str(users.athlete), **window}
        r = await client.get("/v1/bookings/orders", params=params, headers=users.as_athlete)
        assert r.status_code == 200, r.text
        return [o["orderId"] for o in r.json()]

    # startAt inclusive, endAt exclusive.
    assert await listed(startAt=at[1], endAt=at[2]) == [pending["orderId"]]
    assert await listed(startAt=at[1]) == [canceled["orderId"], pending["orderId"]]
    assert await listed(endAt=at[1]) == [confirmed["orderId"]]
    assert await listed(startAt=at[0], endAt=at[0]) == []
    # Offsets are honoured: 13:00+03:00 is 10:00Z (NOW+1h), 10:00-01:00 is 11:00Z (NOW+2h).
    offsets = {"startAt": "2026-06-01T13:00:00+03:00", "endAt": "2026-06-01T10:00:00-01:00"}
    assert await listed(**offsets) == [pending["orderId"]]
    params = {"userId": str(users.athlete), "startAt": at[2], "endAt": at[1]}
    r = await client.get("/v1/bookings/orders", params=params, headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings/orders")
    params = {"userId": str(users.athlete), "startAt": "2026-06-01T10:00:00"}
    r = await client.get("/v1/bookings/orders", params=params, headers=users.as_athlete)
    assert_errors(r, 400, "validation", "GET /bookings/orders")


# --------------------------------------------------------------------------------------------
# serviceCardinality


async def test_service_cardinality_ranks_by_start_per_coach(client, users, settings):
    book_at = {}
    # Booked out of order; ranks follow the start.
    for days in (3, 1, 2):
        booking = await book_event(
            client,
            settings,
            users.as_athlete,
            users.athlete,
            coach=users.coach,
            start=DAY + timedelta(days=days),
        )
        book_at[days] = booking["bookingId"]
    other = await book_event(
        client,
        settings,
        users.as_athlete,
        users.athlete,
        coach=users.other_coach,
        start=DAY + timedelta(days=1, hours=3),
    )
    # Another athlete with the same coach, earlier than all: their own rank, not counted in ours.
    theirs = await book_event(
        client,
        settings,
        users.as_other_athlete,
        users.other_athlete,
        coach=users.coach,
        start=DAY - timedelta(hours=2),
    )

    async def ranks() -> dict[str, int | None]:
        r = await client.get(
            "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
        )
        return {b["bookingId"]: b["serviceCardinality"] for b in r.json()}

    assert await ranks() == {book_at[1]: 1, book_at[2]: 2, book_at[3]: 3, other["bookingId"]: 1}
    r = await client.get(f"/v1/bookings/{theirs['bookingId']}", headers=users.as_other_athlete)
    assert r.json()["serviceCardinality"] == 1

    await Booking.filter(id=book_at[1]).update(status="Canceled")
    assert await ranks() == {
        book_at[1]: None,
        book_at[2]: 1,
        book_at[3]: 2,
        other["bookingId"]: 1,
    }
    r = await client.get(f"/v1/bookings/{book_at[3]}", headers=users.as_coach)
    assert r.json()["serviceCardinality"] == 2
    r = await client.get(f"/v1/bookings/{book_at[1]}", headers=users.as_coach)
    assert r.json()["serviceCardinality"] is None
    # Seen from the coach's event listing, the rank is still the athlete's.
    r = await client.get(
        "/v1/bookings",
        params={"eventId": str((await Booking.get(id=book_at[2])).event_id)},
        headers=users.as_coach,
    )
    assert [b["serviceCardinality"] for b in r.json()] == [1]


# --------------------------------------------------------------------------------------------
# GraphQL


BOOKING = """
query One($id: UUID!) {
  booking(bookingId: $id) { bookingId userId coachId serviceCardinality bookingStatus }
}
"""

BOOKINGS = """
query List($userId: UUID, $eventId: UUID, $startAt: DateTime, $endAt: DateTime,
           $first: Int = 50, $after: String) {
  bookings(userId: $userId, eventId: $eventId, startAt: $startAt, endAt: $endAt,
           first: $first, after: $after) {
    nodes { bookingId userId startAt serviceCardinality }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ORDERS = """
query Orders($userId: UUID!, $startAt: DateTime, $endAt: DateTime, $first: Int = 50,
             $after: String) {
  bookingOrders(userId: $userId, startAt: $startAt, endAt: $endAt, first: $first, after: $after) {
    nodes { orderId userId status createdAt bookings { bookingId bookingStatus } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def error_code(data: dict) -> str:
    """The code of the one error; the failing root field is null, the answer keeps its data."""
    [error] = data["errors"]
    assert data["data"] == {error["path"][0]: None}
    return error["extensions"]["code"]


def node_ids(data: dict, field: str = "bookings") -> list[str]:
    assert "errors" not in data, data
    key = "orderId" if field == "bookingOrders" else "bookingId"
    return [n[key] for n in data["data"][field]["nodes"]]


async def test_graphql_booking_by_id(client, users, settings):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    for headers in (users.as_athlete, users.as_coach, users.as_admin, users.as_scheduler):
        data = await gql(client, headers, BOOKING, id=booking["bookingId"])
        assert data["data"]["booking"] == {
            "bookingId": booking["bookingId"],
            "userId": str(users.athlete),
            "coachId": str(users.coach),
            "serviceCardinality": 1,
            "bookingStatus": "Accepted",
        }
    for headers, booking_id in (
        (users.as_other_athlete, booking["bookingId"]),
        (users.as_other_coach, booking["bookingId"]),
        (users.as_admin, str(uuid.uuid4())),
    ):
        data = await gql(client, headers, BOOKING, id=booking_id)
        assert data == {"data": {"booking": None}}


async def test_graphql_bookings_filters_and_authorization(client, users, settings):
    starts = [DAY, DAY + timedelta(hours=2), DAY + timedelta(hours=4)]
    ids = await book_each(client, settings, users, starts)
    middle = await Booking.get(id=ids[1])
    other = await book(client, users.as_other_athlete, users.other_athlete, middle.event_id)
    other_id = other.json()["bookings"][0]["bookingId"]
    me = str(users.athlete)

    data = await gql(client, users.as_athlete, BOOKINGS, userId=me)
    assert node_ids(data) == ids
    assert [n["serviceCardinality"] for n in data["data"]["bookings"]["nodes"]] == [1, 2, 3]
    assert data["data"]["bookings"]["pageInfo"]["hasNextPage"] is False
    # Window: touching ends do not overlap; offsets honoured (14:00+03:00 is 11:00Z).
    data = await gql(
        client,
        users.as_athlete,
        BOOKINGS,
        userId=me,
        startAt="2026-06-02T14:00:00+03:00",
        endAt=iso(DAY + timedelta(hours=4)),
    )
    assert node_ids(data) == [ids[1]]
    data = await gql(client, users.as_coach, BOOKINGS, eventId=str(middle.event_id))
    assert sorted(node_ids(data)) == sorted([ids[1], other_id])
    data = await gql(client, users.as_athlete, BOOKINGS, userId=me, eventId=str(middle.event_id))
    assert node_ids(data) == [ids[1]]

    # Refusals are GraphQL errors with the contract's code.
    data = await gql(client, users.as_other_athlete, BOOKINGS, userId=me)
    assert error_code(data) == "forbidden"
    data = await gql(client, users.as_scheduler, BOOKINGS, userId=me)
    assert error_code(data) == "forbidden"
    data = await gql(client, users.as_admin, BOOKINGS, userId=me)
    assert node_ids(data) == ids
    for headers in (users.as_other_coach, users.as_athlete):
        data = await gql(client, headers, BOOKINGS, eventId=str(middle.event_id))
        assert error_code(data) == "forbidden"
    data = await gql(client, users.as_scheduler, BOOKINGS, eventId=str(middle.event_id))
    assert len(node_ids(data)) == 2
    data = await gql(client, users.as_admin, BOOKINGS)
    assert error_code(data) == "validation"
    data = await gql(
        client,
        users.as_athlete,
        BOOKINGS,
        userId=me,
        startAt=iso(DAY + timedelta(hours=1)),
        endAt=iso(DAY),
    )
    assert error_code(data) == "validation"
    data = await gql(client, users.as_athlete, BOOKINGS, userId=me, startAt="2026-06-02T10:00:00")
    assert error_code(data) == "validation"


async def test_graphql_dismissed_left_out_of_the_user_calendar(client, users, settings):
    booking = await book_event(
        client, settings, users.as_athlete, users.athlete, coach=users.coach, start=DAY
    )
    await Booking.filter(id=booking["bookingId"]).update(status="Canceled", dismissed_at=NOW)
    data = await gql(client, users.as_athlete, BOOKINGS, userId=str(users.athlete))
    assert node_ids(data) == []
    data = await gql(client, users.as_coach, BOOKINGS, eventId=booking["eventId"])
    assert node_ids(data) == [booking["bookingId"]]


async def walk(client, headers, query: str, field: str, page: int, **variables: Any) -> list:
    """Every page of a connection; checks page sizes and hasNextPage on the way."""
    seen: list[str] = []
    after = None
    for _ in range(100):
        data = await gql(client, headers, query, first=page, after=after, **variables)
        ids = node_ids(data, field)
        info = data["data"][field]["pageInfo"]
        seen.extend(ids)
        if not info["hasNextPage"]:
            assert len(ids) <= page
            return seen
        assert len(ids) == page
        assert info["endCursor"]
        after = info["endCursor"]
    raise AssertionError("pagination did not end")


async def test_graphql_cursor_pagination_walks_the_calendar(client, users, settings):
    ids = []
    for day in range(7):
        booking = await book_event(
            client,
            settings,
            users.as_athlete,
            users.athlete,
            coach=users.coach,
            start=DAY + timedelta(days=6 - day),
        )
        ids.append(booking["bookingId"])
    ids.reverse()  # by start
    for page in (1, 3, 7, 8):
        walked = await walk(
            client, users.as_athlete, BOOKINGS, "bookings", page, userId=str(users.athlete)
        )
        assert walked == ids


async def test_graphql_cursor_pagination_through_equal_starts(client, users, settings):
    """Seven athletes on one event: every booking starts at the same instant."""
    event = await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=10)
    ids = []
    for _ in range(7):
        athlete = uuid.uuid4()
        r = await book(client, users.headers(athlete, "athlete"), athlete, event)
        ids.append(r.json()["bookings"][0]["bookingId"])
    walked = await walk(client, users.as_coach, BOOKINGS, "bookings", 3, eventId=str(event))
    assert len(walked) == len(set(walked))
    assert walked == sorted(ids)


@pytest.mark.parametrize("after", ["garbage!", "Zm9v", "bm90fGFuLWlk"])
async def test_graphql_invalid_cursor_is_validation_error(client, users, after):
    data = await gql(
        client, users.as_athlete, BOOKINGS, userId=str(users.athlete), first=3, after=after
    )
    assert error_code(data) == "validation"
    data = await gql(client, users.as_athlete, ORDERS, userId=str(users.athlete), after=after)
    assert error_code(data) == "validation"


@pytest.mark.parametrize("first", [0, -1, 501, 10000])
async def test_graphql_page_size_out_of_range_is_validation_error(client, users, first):
    me = str(users.athlete)
    data = await gql(client, users.as_athlete, BOOKINGS, userId=me, first=first)
    assert error_code(data) == "validation"
    data = await gql(client, users.as_athlete, ORDERS, userId=me, first=first)
    assert error_code(data) == "validation"


async def test_graphql_booking_orders(client, users, settings, clock):
    confirmed, pending, canceled = await make_three_orders(client, users, settings, clock)
    me = str(users.athlete)
    data = await gql(client, users.as_athlete, ORDERS, userId=me)
    nodes = data["data"]["bookingOrders"]["nodes"]
    assert [n["orderId"] for n in nodes] == [
        canceled["orderId"],
        pending["orderId"],
        confirmed["orderId"],
    ]
    assert [n["status"] for n in nodes] == ["Canceled", "Pending", "Confirmed"]
    assert [len(n["bookings"]) for n in nodes] == [2, 1, 2]
    assert nodes[1]["bookings"][0]["bookingId"] == pending["bookings"][0]["bookingId"]
    assert datetime.fromisoformat(nodes[0]["createdAt"]) == NOW + timedelta(hours=2)

    data = await gql(
        client,
        users.as_athlete,
        ORDERS,
        userId=me,
        startAt=iso(NOW + timedelta(hours=1)),
        endAt=iso(NOW + timedelta(hours=2)),
    )
    assert node_ids(data, "bookingOrders") == [pending["orderId"]]

    walked = await walk(client, users.as_athlete, ORDERS, "bookingOrders", 1, userId=me)
    assert walked == [n["orderId"] for n in nodes]

    for headers in (users.as_other_athlete, users.as_coach, users.as_scheduler):
        data = await gql(client, headers, ORDERS, userId=me)
        assert error_code(data) == "forbidden"
    data = await gql(client, users.as_admin, ORDERS, userId=me)
    assert len(node_ids(data, "bookingOrders")) == 3
    data = await gql(
        client,
        users.as_athlete,
        ORDERS,
        userId=me,
        startAt=iso(NOW + timedelta(hours=2)),
        endAt=iso(NOW),
    )
    assert error_code(data) == "validation"


# --------------------------------------------------------------------------------------------
# The calendar query's cost


CALENDAR = """
query Calendar($userId: UUID!, $startAt: DateTime!, $endAt: DateTime!) {
  bookings(userId: $userId, startAt: $startAt, endAt: $endAt) {
    nodes {
      bookingId startAt serviceCardinality
      timeslot { price numberOfParticipants }
      event { coachId eventStatus }
    }
  }
}
"""


async def calendar_statements(client, users, settings, count: int) -> int:
    coaches = [users.coach, users.other_coach]
    events = [
        await create_event(
            settings, NOW, coach=coaches[i % 2], start=DAY + timedelta(days=i), price=1000 + i
        )
        for i in range(count)
    ]
    r = await book(client, users.as_athlete, users.athlete, *events)
    assert r.status_code == 201, r.text
    with counting_statements() as counter:
        data = await gql(
            client,
            users.as_athlete,
            CALENDAR,
            userId=str(users.athlete),
            startAt="2026-06-01T00:00:00Z",
            endAt="2026-07-01T00:00:00Z",
        )
    nodes = data["data"]["bookings"]["nodes"]
    assert len(nodes) == count
    assert [n["timeslot"]["price"] for n in nodes] == [1000 + i for i in range(count)]
    assert all(n["timeslot"]["numberOfParticipants"] == 5 for n in nodes)
    assert [n["event"]["coachId"] for n in nodes] == [str(coaches[i % 2]) for i in range(count)]
    assert {n["event"]["eventStatus"] for n in nodes} == {"Scheduled"}
    assert [n["serviceCardinality"] for n in nodes] == [i // 2 + 1 for i in range(count)]
    return len(counter.statements)


async def test_statement_counter_counts(client, users, settings):
    await create_event(settings, NOW, coach=users.coach, start=DAY)
    with counting_statements() as counter:
        r = await client.get(
            "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
        )
    assert r.status_code == 200
    assert len(counter.statements) > 0
    assert all(s.upper().startswith(("SELECT", "WITH")) for s in counter.statements)


async def test_calendar_query_costs_constant_statements(client, users, settings):
    few = await calendar_statements(client, users, settings, 2)
    await Booking.all().delete()
    many = await calendar_statements(client, users, settings, 20)
    assert few > 0
    assert few == many
    assert many <= 4


# --------------------------------------------------------------------------------------------
# 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-jwt", "Bearer", "Basic dXNlcjpwYXNz", "expired", "wrong-secret"],
)
async def test_bookings_without_a_valid_token_is_401(client, users, settings, authorization):
    if authorization == "expired":
        headers = users.headers(users.athlete, "athlete", ttl=timedelta(hours=-1))
    elif authorization == "wrong-secret":
        token = jwt.encode(
            {"sub": str(users.athlete), "exp": datetime.now(UTC) + timedelta(hours=1)},
            "another-secret-" + "y" * 40,
            algorithm="HS256",
        )
        headers = {"Authorization": f"Bearer {token}"}
    elif authorization is None:
        headers = {}
    else:
        headers = {"Authorization": authorization}
    r = await client.get("/v1/bookings", params={"userId": str(users.athlete)}, headers=headers)
    assert_errors(r, 401, "unauthorized", "GET /bookings")
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_booking_by_id_and_orders_without_token_are_401(client, users):
    for path in (f"/v1/bookings/{uuid.uuid4()}", f"/v1/bookings/orders?userId={users.athlete}"):
        r = await client.get(path)
        assert r.status_code == 401, r.text
        assert r.json()["errors"][0]["code"] == "unauthorized"
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt"])
async def test_graphql_without_a_valid_token_is_http_401(client, users, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    r = await client.post(
        "/graphql",
        json={"query": BOOKINGS, "variables": {"userId": str(users.athlete)}},
        headers=headers,
    )
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["errors"][0]["extensions"]["code"] == "unauthorized"


@hypothesis_settings(max_examples=2000, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30, 23, 59, 59, 999999),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3)), timezone(timedelta(0))]),
    )
)
def test_instants_are_written_as_isoformat_with_z(value: datetime) -> None:
    """`utc_instant` (orjson's RFC 3339) writes what `isoformat()` writes, `Z` for UTC."""
    expected = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert utc_instant(value) == expected
