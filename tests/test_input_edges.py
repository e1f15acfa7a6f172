"""Input edges through the real transports, on SQLite and PostgreSQL: unicode and length limits of
notes, huge and repeated `eventIds`, the ends of the calendar (year 1, year 9999), time-zone
offsets and DST changes, empty strings, blank notes and out-of-range paging.

Every REST answer is checked against the contract by the `client` fixture (no 500, no 422); here
each test also asserts the status, the body and what is stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from leko_bookings.models import Booking, BookingHistory, Event, Order
from tests.conftest import NOW
from tests.factories import book, create_event, event_json, gql, order_body

START = NOW + timedelta(days=1)  # 2026-06-02T09:00:00Z
END = START + timedelta(hours=1)
AFTER = END + timedelta(hours=1)
NOTE = "PATCH /bookings/{bookingId}/note"
MAX_NOTE = 2000

BOOKING = """
bookingId userId eventId startAt endAt bookingStatus note
timeslot { duration }
"""
NOTE_GQL = f"""
mutation Note($bookingId: UUID!, $note: String!) {{
  addBookingNote(bookingId: $bookingId, note: $note) {{
    __typename ... on Booking {{ {BOOKING} }} ... on Error {{ code message }}
  }}
}}
"""
READ_GQL = f"query Read($id: UUID!) {{ booking(bookingId: $id) {{ {BOOKING} }} }}"
BOOK_GQL = f"""
mutation Book($userId: UUID!, $eventIds: [UUID!]!) {{
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {{type: Cash}}) {{
    __typename
    ... on BookingOrder {{ orderId bookings {{ {BOOKING} }} }}
    ... on BookingRefused {{ code message errors {{ eventId bookingError }} }}
    ... on Error {{ code message }}
  }}
}}
"""
BOOKINGS_GQL = """
query List($userId: UUID, $eventId: UUID, $startAt: DateTime, $endAt: DateTime,
           $first: Int! = 50, $after: String) {
  bookings(userId: $userId, eventId: $eventId, startAt: $startAt, endAt: $endAt,
           first: $first, after: $after) {
    nodes { bookingId startAt endAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ORDERS_GQL = """
query Orders($userId: UUID!, $startAt: DateTime, $endAt: DateTime, $first: Int! = 50,
             $after: String) {
  bookingOrders(userId: $userId, startAt: $startAt, endAt: $endAt, first: $first, after: $after) {
    nodes { orderId createdAt }
  }
}
"""
NOTIFICATIONS_GQL = """
query Inbox($first: Int!, $after: String) {
  notifications(first: $first, after: $after) { nodes { id } }
}
"""
UPSERT_GQL = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) {
    __typename
    ... on UpsertEventsSuccess { events { eventId startAt endAt timeslot { duration } } }
    ... on Error { code message }
  }
}
"""


# --- helpers -------------------------------------------------------------------------------------


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def at_offset(moment: datetime, hours: int, minutes: int = 0) -> str:
    """The instant written in another offset (RFC 3339)."""
    sign = -1 if hours < 0 else 1
    zone = timezone(sign * timedelta(hours=abs(hours), minutes=minutes))
    return moment.astimezone(zone).isoformat()


def map_str(ids) -> list[str]:
    return [str(i) for i in ids]


def z(moment: datetime) -> str:
    """The instant as the service writes it: UTC with `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def single_validation(r, endpoint: str, *mentions: str) -> str:
    """400 with the contract's `Errors` body holding one `validation` error; its message."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert list(body) == ["errors"], body
    [error] = body["errors"]
    assert error["code"] == "validation"
    assert error["endpoint"] == endpoint
    assert error["requestId"] == r.headers["x-request-id"]
    for word in mentions:
        assert word in error["message"], error["message"]
    return error["message"]


def book_event_validation(r, *mentions: str) -> str:
    """400 `BookEventErrorResponse` refusing the request as a whole (no per-event entries)."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "validation"
    assert body["endpoint"] == "POST /bookings"
    assert body["requestId"] == r.headers["x-request-id"]
    assert body["errors"] == []
    for word in mentions:
        assert word in body["message"], body["message"]
    return body["message"]


def gql_error(data: dict[str, Any], *mentions: str) -> dict[str, Any]:
    """A request refused with a GraphQL error: no data, or (a root query field that failed) null
    for that field alone; the error."""
    [error] = data["errors"]
    field = (error.get("path") or [None])[0]
    assert data.get("data") in (None, {field: None}), data
    assert error["message"] != "Unexpected error.", error  # a masked failure is a defect
    for word in mentions:
        assert word in error["message"], error["message"]
    return error


async def ended_booking(client, users, settings, clock) -> str:
    """An Accepted booking of the athlete whose event has ended (clock moved past it)."""
    event = await create_event(settings, NOW, coach=users.coach, start=START)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 201, r.text
    clock.now = AFTER
    return r.json()["bookings"][0]["bookingId"]


async def write_note(client, users, booking_id: str, note: str, transport: str):
    """(status, body) of writing a note as the athlete over one transport."""
    if transport == "rest":
        r = await client.patch(
            f"/v1/bookings/{booking_id}/note", json={"note": note}, headers=users.as_athlete
        )
        return r.status_code, r.json()
    data = await gql(client, users.as_athlete, NOTE_GQL, bookingId=booking_id, note=note)
    return 200, data["data"]["addBookingNote"]


def assert_note_refused(status: int, body: dict[str, Any], transport: str, *mentions: str) -> None:
    if transport == "rest":
        assert status == 400, body
        [error] = body["errors"]
        assert error["code"] == "validation"
        assert error["endpoint"] == NOTE
        message = error["message"]
    else:
        assert body["__typename"] == "ValidationError", body
        assert body["code"] == "validation"
        message = body["message"]
    for word in mentions:
        assert word in message, message


async def stored_note(booking_id: str) -> str | None:
    return (await Booking.get(id=booking_id)).note


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: await model.all().order_by("id").values()
        for model in (Event, Order, Booking, BookingHistory)
    }


TRANSPORTS = pytest.mark.parametrize("transport", ["rest", "graphql"])


# --- notes: unicode ------------------------------------------------------------------------------

UNICODE_NOTES = {
    "emoji": "Great session 😀🏋️‍♀️👍🏽 — flags 🇷🇺🇩🇪, family 👨‍👩‍👧‍👦",
    "combining": "Cafe\u0301 nai\u0308ve Z\u0335\u0321a\u0336\u0322l\u0337g\u0338o",  # not NFC
    "rtl": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u200fok\u200e 123",
    "cjk": "訓練はとても良かった。下次见\uff01좋은 세션 𠜎𠜱𠝹",  # incl. astral CJK ext. B
    "mixed-whitespace": "  line one\n\tline two\r\n  ",  # kept as written, not trimmed
}


@TRANSPORTS
@pytest.mark.parametrize("kind", list(UNICODE_NOTES))
async def test_unicode_note_round_trips_exactly(client, users, settings, clock, transport, kind):
    """Stored and returned code point for code point: no normalization, no trimming, no mojibake."""
    text = UNICODE_NOTES[kind]
    booking_id = await ended_booking(client, users, settings, clock)
    status, body = await write_note(client, users, booking_id, text, transport)
    assert status == 200, body
    assert body["note"] == text
    assert await stored_note(booking_id) == text

    r = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_coach)
    assert r.json()["note"] == text
    data = await gql(client, users.as_coach, READ_GQL, id=booking_id)
    assert data["data"]["booking"]["note"] == text


# --- notes: length, counted in code points -------------------------------------------------------

# Each unit is one user-perceived character but several code points.
GRAPHEMES = {
    "combining-acute": "e\u0301",  # 2 code points
    "zwj-family": "👨\u200d👩\u200d👧",  # 5 code points (8 UTF-16 units, 18 UTF-8 bytes)
    "flag": "🇩🇪",  # 2 regional indicators
}


@TRANSPORTS
@pytest.mark.parametrize("unit", list(GRAPHEMES))
async def test_note_length_counts_code_points(client, users, settings, clock, transport, unit):
    """SPEC_NOTES: 1..2000 characters, i.e. code points (what PostgreSQL and Python count):
    2000 are accepted however few graphemes they make, 2001 are refused saying the limit."""
    grapheme = GRAPHEMES[unit]
    fitting = (grapheme * MAX_NOTE)[:MAX_NOTE]
    assert len(fitting) == MAX_NOTE
    booking_id = await ended_booking(client, users, settings, clock)

    status, body = await write_note(client, users, booking_id, fitting, transport)
    assert status == 200, body
    assert body["note"] == fitting
    assert await stored_note(booking_id) == fitting

    for too_long in (fitting + "x", grapheme * MAX_NOTE, "y" * 100_000):
        status, body = await write_note(client, users, booking_id, too_long, transport)
        assert_note_refused(
            status, body, transport, "note", f"at most {MAX_NOTE}", f"got {len(too_long)}"
        )
        assert await stored_note(booking_id) == fitting  # the refused note changed nothing


@TRANSPORTS
@pytest.mark.parametrize(
    "blank",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="space"),
        pytest.param("\t\r\n", id="controls"),
        pytest.param("\u00a0\u2003\u3000", id="nbsp-em-ideographic-spaces"),
        pytest.param("\u2028\u2029\u0085", id="line-paragraph-separators"),
    ],
)
async def test_empty_and_whitespace_only_notes_refused(
    client, users, settings, clock, transport, blank
):
    booking_id = await ended_booking(client, users, settings, clock)
    status, body = await write_note(client, users, booking_id, "kept", transport)
    assert status == 200, body
    status, body = await write_note(client, users, booking_id, blank, transport)
    assert_note_refused(status, body, transport, "note", "empty")
    assert await stored_note(booking_id) == "kept"


async def test_dispute_texts_follow_the_note_rules(client, users, settings, clock):
    """openDispute's reason (GraphQL only) counts code points and refuses blanks like notes."""
    booking_id = await ended_booking(client, users, settings, clock)
    query = """
    mutation Dispute($id: UUID!, $reason: String!) {
      openDispute(bookingId: $id, reason: $reason) {
        __typename ... on Booking { disputeReason } ... on Error { code message }
      }
    }"""
    for reason, fragment in [("\u3000 ", "empty"), ("é" * (MAX_NOTE + 1), f"at most {MAX_NOTE}")]:
        data = await gql(client, users.as_athlete, query, id=booking_id, reason=reason)
        result = data["data"]["openDispute"]
        assert result["__typename"] == "ValidationError", result
        assert fragment in result["message"]
    reason = "e\u0301" * (MAX_NOTE // 2)
    data = await gql(client, users.as_athlete, query, id=booking_id, reason=reason)
    assert data["data"]["openDispute"] == {"__typename": "Booking", "disputeReason": reason}


# --- eventIds: huge arrays and duplicates --------------------------------------------------------


@TRANSPORTS
@pytest.mark.parametrize("count", [0, 21, 10_000])
async def test_event_ids_outside_the_order_limit_refused(client, users, settings, transport, count):
    limit = settings.max_events_per_order
    assert limit == 20  # LEKO_MAX_EVENTS_PER_ORDER's default
    real = await create_event(settings, NOW, coach=users.coach, start=START)
    ids = [real] + [uuid.uuid4() for _ in range(count - 1)] if count else []
    before = await snapshot()
    if transport == "rest":
        r = await book(client, users.as_athlete, users.athlete, *ids)
        book_event_validation(r, "eventIds", f"between 1 and {limit}")
    else:
        data = await gql(
            client, users.as_athlete, BOOK_GQL, userId=str(users.athlete), eventIds=map_str(ids)
        )
        result = data["data"]["bookEvents"]
        assert result["__typename"] == "ValidationError", result
        assert f"between 1 and {limit}" in result["message"]
    assert await snapshot() == before


@TRANSPORTS
async def test_exactly_the_limit_of_event_ids_is_booked(client, users, settings, transport):
    limit = settings.max_events_per_order
    events = [
        await create_event(settings, NOW, coach=users.coach, start=START + timedelta(hours=2 * i))
        for i in range(limit)
    ]
    if transport == "rest":
        r = await book(client, users.as_athlete, users.athlete, *events)
        assert r.status_code == 201, r.text
        bookings = r.json()["bookings"]
    else:
        data = await gql(
            client, users.as_athlete, BOOK_GQL, userId=str(users.athlete), eventIds=map_str(events)
        )
        bookings = data["data"]["bookEvents"]["bookings"]
    assert sorted(b["eventId"] for b in bookings) == sorted(map_str(events))
    assert await Booking.filter(user_id=users.athlete).count() == limit


@TRANSPORTS
@pytest.mark.parametrize("shape", ["twice", "among-others", "upper-case-twin", "10000-times"])
async def test_duplicate_event_ids_refused_naming_them(client, users, settings, transport, shape):
    a = await create_event(settings, NOW, coach=users.coach, start=START)
    b = await create_event(settings, NOW, coach=users.coach, start=START + timedelta(hours=3))
    ids = {
        "twice": [str(a), str(a)],
        "among-others": [str(a), str(b), str(a)],
        "upper-case-twin": [str(a), str(a).upper()],  # the same UUID, written differently
        "10000-times": [str(a)] * 10_000,
    }[shape]
    before = await snapshot()
    if transport == "rest":
        body = order_body(users.athlete) | {"eventIds": ids}
        r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
        message = book_event_validation(r, "eventIds")
    else:
        data = await gql(
            client, users.as_athlete, BOOK_GQL, userId=str(users.athlete), eventIds=ids
        )
        result = data["data"]["bookEvents"]
        assert result["__typename"] == "ValidationError", result
        message = result["message"]
    if shape == "10000-times":
        assert "between 1 and 20" in message  # too many, whatever they are
    else:
        assert "distinct" in message
        assert str(a) in message
        assert str(b) not in message
    assert await snapshot() == before


# --- the ends of the calendar: year 1 and year 9999 ----------------------------------------------

EARLIEST = "0001-01-01T00:00:00Z"
LATEST = "9999-12-31T23:59:59.999999Z"


async def three_bookings(client, users, settings) -> list[str]:
    starts = [START, START + timedelta(hours=2), START + timedelta(days=30)]
    ids = []
    for start in starts:
        event = await create_event(settings, NOW, coach=users.coach, start=start)
        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.status_code == 201, r.text
        ids.append(r.json()["bookings"][0]["bookingId"])
    return ids


async def _listed(
    client, users, transport: str, path: str, query: str, key: str, window: dict[str, str]
) -> list[str]:
    """The ids (`key`) the athlete's listing at `path` (REST) or `query` (GraphQL) answers."""
    if transport == "rest":
        params = {"userId": str(users.athlete), **window}
        r = await client.get(path, params=params, headers=users.as_athlete)
        assert r.status_code == 200, r.text
        return [item[key] for item in r.json()]
    data = await gql(client, users.as_athlete, query, userId=str(users.athlete), **window)
    assert "errors" not in data, data
    return [node[key] for node in next(iter(data["data"].values()))["nodes"]]


async def listed(client, users, transport: str, **window: str) -> list[str]:
    return await _listed(
        client, users, transport, "/v1/bookings", BOOKINGS_GQL, "bookingId", window
    )


async def listed_orders(client, users, transport: str, **window: str) -> list[str]:
    path = "/v1/bookings/orders"
    return await _listed(client, users, transport, path, ORDERS_GQL, "orderId", window)


@TRANSPORTS
@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(EARLIEST, LATEST, id="utc"),
        # Beyond what an instant can hold once made UTC: the window is open on that side.
        pytest.param("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", id="off-the-ends"),
        pytest.param("0001-01-01T05:45:00+05:45", "9999-12-31T12:00:00+11:00", id="exact-ends"),
    ],
)
async def test_windows_spanning_the_whole_calendar(client, users, settings, transport, start, end):
    ids = await three_bookings(client, users, settings)
    assert await listed(client, users, transport, startAt=start, endAt=end) == ids
    assert await listed(client, users, transport, startAt=start) == ids
    assert await listed(client, users, transport, endAt=end) == ids
    orders = await listed_orders(client, users, transport, startAt=start, endAt=end)
    assert len(orders) == 3


@TRANSPORTS
@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(EARLIEST, "0001-01-02T00:00:00Z", id="year-1"),
        pytest.param("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+13:00", id="before-year-1"),
        pytest.param("9999-12-31T00:00:00Z", LATEST, id="year-9999"),
        pytest.param("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59-11:00", id="after-9999"),
    ],
)
async def test_windows_at_the_ends_of_the_calendar_are_empty(
    client, users, settings, transport, start, end
):
    await three_bookings(client, users, settings)
    assert await listed(client, users, transport, startAt=start, endAt=end) == []
    assert await listed_orders(client, users, transport, startAt=start, endAt=end) == []


async def test_year_10000_and_year_0_are_refused(client, users):
    for value in ("10000-01-01T00:00:00Z", "0000-12-31T00:00:00Z"):
        for path in ("/v1/bookings", "/v1/bookings/orders"):
            r = await client.get(
                path,
                params={"userId": str(users.athlete), "startAt": value},
                headers=users.as_athlete,
            )
            single_validation(r, f"GET {path.removeprefix('/v1')}", "startAt")
        data = await gql(
            client, users.as_athlete, BOOKINGS_GQL, userId=str(users.athlete), startAt=value
        )
        gql_error(data, "startAt")


async def test_start_after_end_still_refused_beyond_the_ends(client, users):
    """startAt 9999 (-12:00, beyond the last instant) after endAt year 1: 400, not an empty list."""
    params = {
        "userId": str(users.athlete),
        "startAt": "9999-12-31T23:59:59-12:00",
        "endAt": "0001-01-01T00:00:00+14:00",
    }
    r = await client.get("/v1/bookings", params=params, headers=users.as_athlete)
    single_validation(r, "GET /bookings", "startAt", "endAt")


def catalog_event(coach: uuid.UUID, start: str, end: str, minutes: int = 60) -> dict[str, Any]:
    """An EventInput with its times written as given (any offset)."""
    data = event_json(coach=coach, start=START, minutes=minutes)
    data["startAt"], data["endAt"] = start, end
    return data


async def upsert(client, users, *events: dict[str, Any]) -> dict[str, Any]:
    data = await gql(client, users.as_admin, UPSERT_GQL, events=list(events))
    assert "errors" not in data, data
    return data["data"]["upsertEvents"]


async def test_events_at_the_end_of_the_calendar_are_stored_and_booked(client, users):
    event = catalog_event(users.coach, "9999-12-31T22:00:00Z", "9999-12-31T23:59:00+00:00", 119)
    saved = await upsert(client, users, event)
    assert saved["__typename"] == "UpsertEventsSuccess", saved
    [stored] = saved["events"]
    assert instant(stored["startAt"]) == datetime(9999, 12, 31, 22, tzinfo=UTC)
    assert instant(stored["endAt"]) == datetime(9999, 12, 31, 23, 59, tzinfo=UTC)

    r = await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    assert r.status_code == 201, r.text
    [booking] = r.json()["bookings"]
    assert (booking["startAt"], booking["endAt"]) == (
        "9999-12-31T22:00:00Z",
        "9999-12-31T23:59:00Z",
    )
    assert await listed(client, users, "rest", startAt="9999-12-31T23:00:00+01:00") == [
        booking["bookingId"]
    ]
    # A notify run over the far-future booking has nothing due and does not fail.
    r = await client.post("/v1/bookings/notify", headers=users.as_scheduler)
    assert r.status_code == 204, r.text


async def test_events_in_year_1_are_stored_and_refused_as_past(client, users):
    event = catalog_event(users.coach, "0001-01-01T00:00:00Z", "0001-01-01T01:00:00+00:00")
    saved = await upsert(client, users, event)
    assert saved["__typename"] == "UpsertEventsSuccess", saved
    assert instant(saved["events"][0]["startAt"]) == datetime(1, 1, 1, tzinfo=UTC)
    r = await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [
        {"eventId": event["eventId"], "bookingError": "pastEventBookAttempt"}
    ]


@pytest.mark.parametrize(
    ("start", "end", "named"),
    [
        pytest.param("0001-01-01T00:00:00+05:45", "0001-01-01T06:00:00+00:00", "startAt", id="y1"),
        pytest.param("9999-12-31T20:00:00Z", "9999-12-31T23:00:00-12:00", "endAt", id="y9999"),
    ],
)
async def test_event_instants_beyond_the_calendar_are_validation_errors(
    client, users, start, end, named
):
    """An instant that cannot be held in UTC is refused by name, not a masked failure."""
    before = await snapshot()
    saved = await upsert(client, users, catalog_event(users.coach, start, end))
    assert saved["__typename"] == "ValidationError", saved
    assert named in saved["message"]
    assert await snapshot() == before


# --- time-zone offsets: the same instant written differently ------------------------------------

OFFSETS = [(14, 0), (-12, 0), (5, 45), (-9, 30), (0, 0)]


@TRANSPORTS
async def test_same_window_in_any_offset_gives_the_same_bookings(
    client, users, settings, transport
):
    """Bookings 10-11, 11-12 and 13-14 (UTC): the window [11:00, 13:00) keeps the middle one
    (intervals are half-open), however the two instants are written."""
    day = START.replace(hour=0)
    ids = []
    for hour in (10, 11, 13):
        event = await create_event(settings, NOW, coach=users.coach, start=day.replace(hour=hour))
        r = await book(client, users.as_athlete, users.athlete, event)
        ids.append(r.json()["bookings"][0]["bookingId"])
    lo, hi = day.replace(hour=11), day.replace(hour=13)
    for hours, minutes in OFFSETS:
        window = {"startAt": at_offset(lo, hours, minutes), "endAt": at_offset(hi, hours, minutes)}
        assert await listed(client, users, transport, **window) == [ids[1]], window
        # One second wider on each side takes in the neighbours.
        wider = {
            "startAt": at_offset(lo - timedelta(seconds=1), hours, minutes),
            "endAt": at_offset(hi + timedelta(seconds=1), hours, minutes),
        }
        assert await listed(client, users, transport, **wider) == ids, wider
    # Mixed offsets in one window.
    mixed = {"startAt": at_offset(lo, 14), "endAt": at_offset(hi, -12)}
    assert await listed(client, users, transport, **mixed) == [ids[1]]


@TRANSPORTS
async def test_orders_window_in_any_offset(client, users, settings, clock, transport):
    """Orders created at 09:00 and 10:00 (UTC): [09:00, 10:00) keeps the first, in any offset."""
    created = []
    for i in range(2):
        clock.now = NOW + timedelta(hours=i)
        event = await create_event(
            settings, NOW, coach=users.coach, start=START + timedelta(days=i)
        )
        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.json()["createdAt"] == z(clock.now)
        created.append(r.json()["orderId"])
    for hours, minutes in OFFSETS:
        window = {
            "startAt": at_offset(NOW, hours, minutes),
            "endAt": at_offset(NOW + timedelta(hours=1), hours, minutes),
        }
        assert await listed_orders(client, users, transport, **window) == [created[0]], window


@pytest.mark.parametrize(("hours", "minutes"), OFFSETS)
async def test_event_times_in_any_offset_come_back_as_the_same_instants(
    client, users, hours, minutes
):
    """Catalog times written at +14:00, -12:00, +05:45...: stored and returned as UTC instants."""
    start, end = START + timedelta(hours=5), START + timedelta(hours=6, minutes=30)
    event = catalog_event(
        users.coach, at_offset(start, hours, minutes), at_offset(end, hours, minutes), 90
    )
    saved = await upsert(client, users, event)
    [stored] = saved["events"]
    assert (instant(stored["startAt"]), instant(stored["endAt"])) == (start, end)
    assert instant(stored["startAt"]).utcoffset() == timedelta(0)  # output in UTC

    r = await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    assert r.status_code == 201, r.text
    [booking] = r.json()["bookings"]
    assert (booking["startAt"], booking["endAt"]) == (z(start), z(end))


async def test_same_instant_in_two_offsets_conflicts(client, users):
    """Two events written in different offsets for the same hour overlap: both refused."""
    moment = START + timedelta(hours=3)
    a = catalog_event(
        users.coach, at_offset(moment, 14), at_offset(moment + timedelta(hours=1), 14)
    )
    b = catalog_event(
        users.other_coach,
        at_offset(moment + timedelta(minutes=30), -12),
        at_offset(moment + timedelta(minutes=90), -12),
    )
    await upsert(client, users, a, b)
    r = await book(
        client, users.as_athlete, users.athlete, uuid.UUID(a["eventId"]), uuid.UUID(b["eventId"])
    )
    assert r.status_code == 400, r.text
    assert {e["bookingError"] for e in r.json()["errors"]} == {"conflictingUserSchedules"}


# --- DST changes, written with offsets -----------------------------------------------------------

# Europe/Berlin falls back on 2026-10-25 at 03:00 CEST (+02:00) = 02:00 CET (+01:00) = 01:00Z and
# springs forward on 2027-03-28 at 02:00 CET = 03:00 CEST = 01:00Z. America/New_York falls back on
# 2026-11-01 at 02:00 EDT (-04:00) = 01:00 EST (-05:00) = 06:00Z and springs forward on 2027-03-14
# at 02:00 EST = 03:00 EDT = 07:00Z.
DST_EVENTS = {
    # the same wall-clock 02:30 twice: one real hour
    "berlin-fall-back": (
        ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"),
        ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"),
        60,
    ),
    # 01:30 to 03:30 on the wall clock: one real hour
    "berlin-spring-forward": (
        ("2027-03-28T01:30:00+01:00", "2027-03-28T03:30:00+02:00"),
        ("2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z"),
        60,
    ),
    # 01:30 EDT to 01:30 EST: one real hour
    "new-york-fall-back": (
        ("2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"),
        ("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"),
        60,
    ),
    # 01:00 EST to 04:00 EDT: two real hours
    "new-york-spring-forward": (
        ("2027-03-14T01:00:00-05:00", "2027-03-14T04:00:00-04:00"),
        ("2027-03-14T06:00:00Z", "2027-03-14T08:00:00Z"),
        120,
    ),
}


@pytest.mark.parametrize("case", list(DST_EVENTS))
async def test_events_across_dst_changes_keep_their_real_duration(client, users, case):
    (start_text, end_text), in_utc, minutes = DST_EVENTS[case]
    start, end = instant(start_text), instant(end_text)
    event = catalog_event(users.coach, start_text, end_text, minutes)
    await upsert(client, users, event)
    r = await book(client, users.as_athlete, users.athlete, uuid.UUID(event["eventId"]))
    assert r.status_code == 201, r.text
    [booking] = r.json()["bookings"]
    assert (booking["startAt"], booking["endAt"]) == in_utc
    assert booking["timeslot"]["duration"] == minutes
    got = instant(booking["endAt"]) - instant(booking["startAt"])
    assert got == timedelta(minutes=minutes)

    # GraphQL reads the same instants.
    data = await gql(client, users.as_athlete, READ_GQL, id=booking["bookingId"])
    read = data["data"]["booking"]
    assert (instant(read["startAt"]), instant(read["endAt"])) == (start, end)


@TRANSPORTS
async def test_windows_across_a_dst_change_written_in_local_offsets(client, users, transport):
    """Berlin falls back at 01:00Z: 02:15 happens twice (+02:00 then +01:00). Events 00:00-00:30Z
    and 01:00-01:30Z; windows written in local time pick the right one of the two 02:15s."""
    first = catalog_event(users.coach, "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", 30)
    second = catalog_event(
        users.coach, "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00", 30
    )
    await upsert(client, users, first, second)
    r = await book(
        client,
        users.as_athlete,
        users.athlete,
        uuid.UUID(first["eventId"]),
        uuid.UUID(second["eventId"]),
    )
    assert r.status_code == 201, r.text  # an hour apart, not the same wall-clock slot
    ids = {b["eventId"]: b["bookingId"] for b in r.json()["bookings"]}
    a, b = ids[first["eventId"]], ids[second["eventId"]]

    def window(start: str, end: str) -> dict[str, str]:
        return {"startAt": start, "endAt": end}

    cases = [
        (window("2026-10-25T02:15:00+02:00", "2026-10-25T02:15:00+01:00"), [a, b]),
        (window("2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00"), []),
        (window("2026-10-25T02:29:59+02:00", "2026-10-25T02:00:01+01:00"), [a, b]),
        (window("2026-10-25T02:15:00+01:00", "2026-10-25T03:00:00+01:00"), [b]),
        (window("2026-10-24T20:00:00-04:00", "2026-10-24T20:15:00-04:00"), [a]),  # New York
    ]
    for params, expected in cases:
        assert await listed(client, users, transport, **params) == expected, params


async def test_back_to_back_across_spring_forward_do_not_conflict(client, users):
    """New York springs forward at 07:00Z (02:00 EST becomes 03:00 EDT): 01:00 EST-03:00 EDT (one
    real hour) and 03:00-04:00 EDT touch and do not overlap; 02:30 written with -05:00 (a wall
    time that never shows locally) is 03:30 EDT and overlaps the second."""
    a = catalog_event(users.coach, "2027-03-14T01:00:00-05:00", "2027-03-14T03:00:00-04:00", 60)
    b = catalog_event(
        users.other_coach, "2027-03-14T03:00:00-04:00", "2027-03-14T04:00:00-04:00", 60
    )
    c = catalog_event(
        users.other_coach, "2027-03-14T02:30:00-05:00", "2027-03-14T04:30:00-04:00", 60
    )
    await upsert(client, users, a, b, c)
    ids = [uuid.UUID(e["eventId"]) for e in (a, b, c)]
    r = await book(client, users.as_athlete, users.athlete, ids[0], ids[1])
    assert r.status_code == 201, r.text
    r = await book(client, users.as_other_athlete, users.other_athlete, ids[1], ids[2])
    assert r.status_code == 400, r.text
    assert {e["eventId"] for e in r.json()["errors"]} == {str(ids[1]), str(ids[2])}


# --- empty strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/bookings", {"userId": ""}, "userId"),
        ("/v1/bookings", {"eventId": ""}, "eventId"),
        ("/v1/bookings", {"userId": "USER", "startAt": ""}, "startAt"),
        ("/v1/bookings", {"userId": "USER", "endAt": "   "}, "endAt"),
        ("/v1/bookings/orders", {"userId": ""}, "userId"),
        ("/v1/bookings/orders", {"userId": "USER", "startAt": ""}, "startAt"),
    ],
)
async def test_empty_query_values_are_400_naming_them(client, users, path, params, named):
    params = {k: str(users.athlete) if v == "USER" else v for k, v in params.items()}
    r = await client.get(path, params=params, headers=users.as_athlete)
    single_validation(r, f"GET {path.removeprefix('/v1')}", named)


async def test_empty_user_id_on_dismiss_and_delete_is_400(client, users):
    r = await client.post(
        f"/v1/bookings/{uuid.uuid4()}/dismiss", params={"userId": ""}, headers=users.as_athlete
    )
    single_validation(r, "POST /bookings/{bookingId}/dismiss", "userId")
    r = await client.delete(
        "/v1/users", params={"userId": ""}, headers={**users.as_athlete, "x-current-user-id": ""}
    )
    single_validation(r, "DELETE /users", "x-current-user-id")
    r = await client.delete(
        "/v1/users",
        params={"userId": ""},
        headers={**users.as_athlete, "x-current-user-id": str(users.athlete)},
    )
    single_validation(r, "DELETE /users", "userId")


@pytest.mark.parametrize(
    ("method", "suffix", "endpoint", "kwargs"),
    [
        ("PATCH", "note", NOTE, {"json": {"note": "x"}}),
        (
            "PATCH",
            "completed",
            "PATCH /bookings/{bookingId}/completed",
            {"json": {"completed": True}},
        ),
        ("POST", "dismiss", "POST /bookings/{bookingId}/dismiss", {"params": {"userId": "ME"}}),
    ],
)
async def test_empty_booking_id_in_the_path_is_400_naming_it(
    client, users, method, suffix, endpoint, kwargs
):
    """`/v1/bookings//note`: an empty id is an invalid one (400 `Errors`, as for any malformed
    id), not an unknown path answered with a body the contract does not give that operation."""
    if "params" in kwargs:
        kwargs = {"params": {"userId": str(users.athlete)}}
    r = await client.request(method, f"/v1/bookings//{suffix}", headers=users.as_athlete, **kwargs)
    single_validation(r, endpoint, "bookingId", "empty")
    # A path that is no operation's stays an unknown path.
    r = await client.request(method, f"/v1/bookings//{suffix}/x", headers=users.as_athlete)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"userId": ""}, "userId"),
        ({"eventIds": [""]}, "eventIds.0"),
        ({"paymentMethod": {"type": ""}}, "paymentMethod.type"),
        ({"paymentMethod": {"type": "Cash", "methodId": ""}}, "paymentMethod.methodId"),
    ],
)
async def test_empty_strings_in_an_order_are_400_naming_them(client, users, settings, patch, named):
    event = await create_event(settings, NOW, coach=users.coach, start=START)
    body = order_body(users.athlete, event) | patch
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    book_event_validation(r, named)
    assert await Booking.all().count() == 0


async def test_empty_strings_in_graphql_arguments_are_errors(client, users, settings, clock):
    me = str(users.athlete)
    gql_error(await gql(client, users.as_athlete, BOOKINGS_GQL, userId=""), "userId")
    gql_error(await gql(client, users.as_athlete, BOOKINGS_GQL, userId=me, startAt=""), "startAt")
    gql_error(await gql(client, users.as_athlete, BOOK_GQL, userId=me, eventIds=[""]), "eventIds")
    # An empty cursor is no cursor: the first page.
    ids = await three_bookings(client, users, settings)
    data = await gql(client, users.as_athlete, BOOKINGS_GQL, userId=me, after="", first=2)
    assert [n["bookingId"] for n in data["data"]["bookings"]["nodes"]] == ids[:2]
    # An empty reason text for `Other` is refused as missing.
    query = """
    mutation C($id: UUID!, $text: String) {
      cancelBooking(bookingId: $id, reasonCode: Other, reasonText: $text) {
        __typename ... on Error { code message }
      }
    }"""
    for text in ("", "  "):
        data = await gql(client, users.as_athlete, query, id=ids[0], text=text)
        result = data["data"]["cancelBooking"]
        assert result["__typename"] == "ValidationError", result
        assert "reasonText" in result["message"]


# --- paging values -------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [0, -1, 501, 2**31 - 1, -(2**31)])
async def test_out_of_range_page_sizes_are_validation_errors(client, users, first):
    me = str(users.athlete)
    for query, variables in (
        (BOOKINGS_GQL, {"userId": me}),
        (ORDERS_GQL, {"userId": me}),
        (NOTIFICATIONS_GQL, {}),
    ):
        error = gql_error(await gql(client, users.as_athlete, query, first=first, **variables))
        assert error["extensions"]["code"] == "validation"
        assert "first must be between 1 and 500" in error["message"]


@pytest.mark.parametrize("first", [2**31, 10**20, 1.5, "10"])
async def test_page_sizes_that_are_not_graphql_ints_are_refused(client, users, first):
    data = await gql(client, users.as_athlete, BOOKINGS_GQL, userId=str(users.athlete), first=first)
    gql_error(data, "first")


async def test_page_size_bounds_are_accepted(client, users, settings):
    ids = await three_bookings(client, users, settings)
    me = str(users.athlete)
    for first, expected in ((1, ids[:1]), (500, ids)):
        data = await gql(client, users.as_athlete, BOOKINGS_GQL, userId=me, first=first)
        assert [n["bookingId"] for n in data["data"]["bookings"]["nodes"]] == expected
        assert data["data"]["bookings"]["pageInfo"]["hasNextPage"] is (first == 1)


async def test_rest_lists_ignore_paging_parameters(client, users, settings):
    """REST lists are not paginated (README): limit/offset/page/first, any value, change nothing."""
    ids = await three_bookings(client, users, settings)
    junk = {"first": "-1", "limit": "99999999999999999999", "offset": "-5", "page": "0"}
    assert await listed(client, users, "rest", **junk) == ids
    r = await client.get(
        "/v1/bookings/orders",
        params={"userId": str(users.athlete), **junk},
        headers=users.as_athlete,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()) == 3


@pytest.mark.parametrize("case", list(DST_EVENTS))
def test_dst_cases_are_the_tz_database_s(case):
    """The offsets above are the ones the zones really use at those wall-clock times."""
    zoneinfo = pytest.importorskip("zoneinfo")
    zone = "Europe/Berlin" if case.startswith("berlin") else "America/New_York"
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time-zone database here")
    for text in DST_EVENTS[case][0]:
        written = instant(text)
        local = written.astimezone(tz)
        assert local.replace(tzinfo=None) == written.replace(tzinfo=None), (text, local)
