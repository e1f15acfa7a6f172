"""The GraphQL calendar's cost (issue 6), and what GraphQL errors are logged at which level
(issue 5)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest

from bench.scenarios import CALENDAR_QUERY
from bench.sqlcount import counting_statements
from leko_bookings.resolvers import reading
from leko_bookings.settings import Settings
from tests.conftest import NO_RATE_LIMITS, NOW, SECRET, Users
from tests.factories import book, coached_events, gql

DAY = NOW.replace(hour=6) + timedelta(days=1)  # 2026-06-02T06:00:00Z
WINDOW = {"startAt": "2026-06-01T00:00:00Z", "endAt": "2026-08-01T00:00:00Z"}


@pytest.fixture
def settings(database: str) -> Settings:
    # 60 upcoming bookings for one athlete: no seat cap here.
    return Settings(
        database_url=database,
        jwt_secret=SECRET,
        max_upcoming_seats_per_user=0,
        **NO_RATE_LIMITS,
    )


async def booked(
    client: Any, users: Users, settings: Settings, count: int, first: int = 0
) -> list[uuid.UUID]:
    """Events `first`..`first + count - 1`, 13 hours apart, of two coaches in turn, booked by
    the athlete."""
    events = await coached_events(settings, users, count, first=first)
    for k in range(0, count, 20):
        r = await book(client, users.as_athlete, users.athlete, *events[k : k + 20])
        assert r.status_code == 201, r.text
    return events


async def calendar(client: Any, users: Users) -> tuple[list[dict[str, Any]], list[str]]:
    """The calendar UI's query (bench's `graphql_calendar`): its nodes and its statements."""
    with counting_statements() as counter:
        data = await gql(
            client, users.as_athlete, CALENDAR_QUERY, userId=str(users.athlete), **WINDOW
        )
    assert "errors" not in data, data
    return data["data"]["bookings"]["nodes"], counter.statements


def check_nodes(nodes: list[dict[str, Any]], events: list[uuid.UUID], users: Users) -> None:
    coaches = [str(users.coach), str(users.other_coach)]
    assert [n["event"]["eventId"] for n in nodes] == [str(e) for e in events]
    assert [n["timeslot"]["price"] for n in nodes] == [1000 + i for i in range(len(events))]
    assert [n["event"]["coachId"] for n in nodes] == [coaches[i % 2] for i in range(len(events))]
    assert [n["serviceCardinality"] for n in nodes] == [i // 2 + 1 for i in range(len(events))]
    assert {n["bookingStatus"] for n in nodes} <= {"Pending", "Accepted"}
    assert {n["event"]["eventStatus"] for n in nodes} == {"Scheduled"}
    assert all(n["timeslot"]["numberOfParticipants"] == 5 for n in nodes)
    assert all(n["note"] is None and n["completed"] is False for n in nodes)


async def test_the_calendar_costs_the_same_few_statements_for_5_or_60_bookings(
    client, users, settings
):
    events = await booked(client, users, settings, 5)
    nodes, few = await calendar(client, users)
    check_nodes(nodes, events, users)

    events += await booked(client, users, settings, 55, first=5)
    nodes, many = await calendar(client, users)
    check_nodes(nodes, events, users)
    # One statement: the bookings, their events and their ranks (the rate limit, off here, is
    # the other one in production).
    assert len(few) == len(many) == 1, many
    assert 'END "n"' in many[0]  # the rank, counted in the same statement


async def test_the_ranks_are_read_only_when_asked_for(client, users, settings):
    await booked(client, users, settings, 4)
    plain = "query($userId: UUID!) { bookings(userId: $userId) { nodes { bookingId } } }"
    with counting_statements() as without:
        data = await gql(client, users.as_athlete, plain, userId=str(users.athlete))
    assert len(data["data"]["bookings"]["nodes"]) == 4
    _, with_ranks = await calendar(client, users)
    assert len(without.statements) == len(with_ranks) == 1
    assert '"n"' not in without.statements[0]  # no rank column
    assert 'END "n"' in with_ranks[0]


@pytest.mark.parametrize(
    "query",
    [
        # through a named fragment and an inline fragment
        "query($userId: UUID!) { bookings(userId: $userId) { ...Page } }"
        " fragment Page on BookingConnection { nodes { ... on Booking { serviceCardinality } } }",
        # aliased
        "query($userId: UUID!) { bookings(userId: $userId)"
        " { nodes { rank: serviceCardinality } } }",
    ],
    ids=["fragments", "alias"],
)
async def test_ranks_through_fragments_and_aliases(client, users, settings, query):
    await booked(client, users, settings, 4)
    data = await gql(client, users.as_athlete, query, userId=str(users.athlete))
    assert "errors" not in data, data
    ranks = [next(iter(n.values())) for n in data["data"]["bookings"]["nodes"]]
    assert ranks == [1, 1, 2, 2]


async def test_ranks_of_single_bookings_and_of_orders(client, users, settings):
    events = await booked(client, users, settings, 4)
    data = await gql(
        client,
        users.as_athlete,
        "query($userId: UUID!) { bookingOrders(userId: $userId)"
        " { nodes { bookings { bookingId serviceCardinality event { eventId } } } } }",
        userId=str(users.athlete),
    )
    [order] = data["data"]["bookingOrders"]["nodes"]
    bookings = order["bookings"]
    assert [b["event"]["eventId"] for b in bookings] == [str(e) for e in events]
    assert [b["serviceCardinality"] for b in bookings] == [1, 1, 2, 2]
    for expected, b in zip([1, 1, 2, 2], bookings, strict=True):
        one = await gql(
            client,
            users.as_athlete,
            "query($id: UUID!) { booking(bookingId: $id)"
            " { serviceCardinality timeslot { price } } }",
            id=b["bookingId"],
        )
        assert one["data"]["booking"]["serviceCardinality"] == expected


async def test_a_cached_document_runs_with_each_request_s_variables(client, users, settings):
    await booked(client, users, settings, 3)
    query = "query($userId: UUID!, $first: Int!) { bookings(userId: $userId, first: $first)"
    query += " { nodes { bookingId } pageInfo { hasNextPage } } }"
    sizes = []
    for first in (1, 2, 3, 2):
        data = await gql(client, users.as_athlete, query, userId=str(users.athlete), first=first)
        sizes.append((len(data["data"]["bookings"]["nodes"]), data["data"]["bookings"]["pageInfo"]))
    assert sizes == [
        (1, {"hasNextPage": True}),
        (2, {"hasNextPage": True}),
        (3, {"hasNextPage": False}),
        (2, {"hasNextPage": True}),
    ]


async def test_an_invalid_document_is_refused_every_time(client, users):
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    deep = '{ bookingOrders(userId: "%s") { nodes { bookings { event { timeslot { price } } } } } }'
    for _ in range(2):
        data = await gql(client, users.as_athlete, "{ " + aliases + " }")
        assert "aliases" in data["errors"][0]["message"].lower()
        data = await gql(client, users.as_athlete, "{ bookings(userId: 1) { nodes { nope } } }")
        assert data["errors"]
        assert data.get("data") is None
    data = await gql(client, users.as_athlete, deep % users.athlete)
    assert "errors" not in data, data


# --------------------------------------------------------------------------------------------
# Logs of GraphQL errors


def graphql_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "strawberry.execution"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ('{ bookings(userId: "%s", first: 0) { nodes { bookingId } } }', "validation"),
        ('{ bookings(userId: "%s", first: 501) { nodes { bookingId } } }', "validation"),
        (
            '{ bookings(userId: "%s", eventId: "00000000-0000-0000-0000-000000000001")'
            " { nodes { bookingId } } }",
            "forbidden",
        ),
        ('{ bookings(userId: "%s") { nodes { nope } } }', None),
        ('{ bookings(userId: "%s" { nodes }', None),
    ],
    ids=["first-0", "first-501", "forbidden", "unknown-field", "syntax"],
)
async def test_client_errors_are_logged_at_info_without_a_traceback(
    client, users, caplog, query, code
):
    caplog.set_level(logging.INFO, logger="strawberry.execution")
    other = uuid.uuid4() if code == "forbidden" else users.athlete
    data = await gql(client, users.as_athlete, query % other)
    assert data["errors"]
    if code is not None:
        assert data["errors"][0]["extensions"]["code"] == code
    records = graphql_records(caplog)
    assert records, "the error is still logged"
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in records)
    assert data["errors"][0]["message"] in records[0].getMessage()


async def test_unexpected_errors_keep_error_level_with_a_traceback(
    client, users, caplog, monkeypatch
):
    async def broken(*args: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(reading, "list_bookings", broken)
    data = await gql(
        client,
        users.as_athlete,
        f'{{ bookings(userId: "{users.athlete}") {{ nodes {{ bookingId }} }} }}',
    )
    assert data["errors"][0]["message"] == "Unexpected error."  # masked for the client
    [record] = graphql_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


CANCEL = """mutation($bookingId: UUID!) {
  cancelBooking(bookingId: $bookingId, reasonCode: NoTime) { __typename }
}"""
PAGE = """query($userId: UUID!, $startAt: DateTime, $after: String) {
  bookings(userId: $userId, startAt: $startAt, first: 3, after: $after) {
    nodes { bookingId serviceCardinality }
    pageInfo { hasNextPage endCursor }
  }
}"""
ONE = "query($id: UUID!) { booking(bookingId: $id) { serviceCardinality } }"


async def test_a_calendar_s_ranks_are_each_booking_s_own_across_pages_and_cancellations(
    client, users, settings
):
    """The calendar's statement ranks by a running count over the user's bookings; a single
    booking's rank comes from the general rank window: both agree for every booking, on pages
    after a cursor, in a window that leaves earlier bookings out, with canceled ones between."""
    await booked(client, users, settings, 12)
    nodes, _ = await calendar(client, users)
    for node in nodes[1::4]:  # seat-holding no more: those after them move up
        data = await gql(client, users.as_athlete, CANCEL, bookingId=node["bookingId"])
        assert "errors" not in data, data
    second = (DAY + timedelta(hours=13 * 4)).strftime("%Y-%m-%dT%H:%M:%SZ")  # skips 4 bookings
    shown, after = [], None
    while True:
        data = await gql(
            client, users.as_athlete, PAGE, userId=str(users.athlete), startAt=second, after=after
        )
        page = data["data"]["bookings"]
        shown += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(shown) == 8
    for node in shown:
        one = await gql(client, users.as_athlete, ONE, id=node["bookingId"])
        assert node["serviceCardinality"] == one["data"]["booking"]["serviceCardinality"], node
    ranks = [n["serviceCardinality"] for n in shown]
    assert None in ranks  # canceled ones: unranked
    assert 2 in ranks  # bookings before the window counted
