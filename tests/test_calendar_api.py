"""The calendar's GraphQL API: Relay connections, partial answers, instants, the coach's agenda,
orders, global ids, the viewer and notifications' messages."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from bench.sqlcount import counting_statements
from leko_bookings.models import Booking
from tests.conftest import NOW
from tests.factories import book, coached_events, create_event, gql

DAY = NOW.replace(hour=6) + timedelta(days=1)  # 2026-06-02T06:00:00Z (coached_events' first)
LATER = DAY + timedelta(days=2)  # beyond the 24h reminder: only bookingCreated is notified
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
PAGING = "$first: Int, $after: String, $last: Int, $before: String"
PAGE_ARGS = "first: $first, after: $after, last: $last, before: $before"
# connection -> (its filter's variable declarations, its filter arguments, the node's own id)
CONNECTIONS = {
    "bookings": ("$userId: UUID, ", "userId: $userId, ", "bookingId"),
    "bookingOrders": ("$userId: UUID!, ", "userId: $userId, ", "orderId"),
    "notifications": ("", "", "notificationId"),
}
NODE = """
query($id: ID!) { node(id: $id) { __typename id ... on Booking { bookingId }
  ... on BookingOrder { orderId } ... on Notification { notificationId }
  ... on Event { eventId } } }
"""
# backward? -> its page size argument, cursor argument, next cursor, whether there is more
DIRECTIONS = {
    False: ("first", "after", "endCursor", "hasNextPage"),
    True: ("last", "before", "startCursor", "hasPreviousPage"),
}
NOTIFY = "mutation { notifyBookings { __typename } }"


def connection_query(field: str, body: str) -> str:
    declared, filters, _ = CONNECTIONS[field]
    return f"query({declared}{PAGING}) {{ {field}({filters}{PAGE_ARGS}) {body} }}"


def page_query(field: str) -> str:
    key = CONNECTIONS[field][2]
    return connection_query(
        field, f"{{ nodes {{ {key} }} edges {{ cursor node {{ {key} }} }} {PAGE_INFO} }}"
    )


async def events_of(settings, coach: uuid.UUID, count: int) -> list[uuid.UUID]:
    """`count` events of `coach`, 13 hours apart from LATER."""
    return [
        await create_event(settings, NOW, coach=coach, start=LATER + timedelta(hours=13 * i))
        for i in range(count)
    ]


async def booked(client, headers, user: uuid.UUID, *events: uuid.UUID) -> dict[str, Any]:
    """The order of `user` booking `events` (REST, 201)."""
    r = await book(client, headers, user, *events)
    assert r.status_code == 201, r.text
    return r.json()


async def notify(client, users) -> None:
    data = await gql(client, users.as_scheduler, NOTIFY)
    assert data["data"]["notifyBookings"]["__typename"] == "NotifySummary", data


async def one_booking(client, users, settings, notified: bool = False) -> dict[str, Any]:
    """The athlete's order of one event of the coach (`notified`: the coach was told of it)."""
    [event] = await events_of(settings, users.coach, 1)
    order = await booked(client, users.as_athlete, users.athlete, event)
    if notified:
        await notify(client, users)
    return order


async def populate(field: str, client, users, settings, count: int):
    """`count` items in the list `field` of one reader: (their headers, the list's variables)."""
    events = await events_of(settings, users.coach, count)
    if field == "bookingOrders":
        for event in events:
            await booked(client, users.as_athlete, users.athlete, event)
    elif events:
        await booked(client, users.as_athlete, users.athlete, *events)
    if field == "notifications":
        await notify(client, users)  # one bookingCreated for the coach per booking
        return users.as_coach, {}
    return users.as_athlete, {"userId": str(users.athlete)}


def ids(nodes: list[dict[str, Any]]) -> list[str]:
    return [next(iter(n.values())) for n in nodes]


async def page(client, headers, field: str, variables: dict[str, Any], **paging: Any):
    """One page of a connection, checked against the Relay conventions."""
    data = await gql(client, headers, page_query(field), **variables, **paging)
    assert "errors" not in data, data
    conn = data["data"][field]
    edges, info = conn["edges"], conn["pageInfo"]
    assert [e["node"] for e in edges] == conn["nodes"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    if "last" in paging:
        assert info["hasNextPage"] is ("before" in paging)
    else:
        assert info["hasPreviousPage"] is ("after" in paging)
    return conn


async def walk(client, headers, field, variables, size: int, backward: bool) -> list[str]:
    """Every item of the list, page by page (`backward`: from the end), in list order."""
    size_arg, cursor_arg, cursor_key, more_key = DIRECTIONS[backward]
    found: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        conn = await page(client, headers, field, variables, **{size_arg: size}, **cursor)
        assert len(conn["nodes"]) <= size
        found = ids(conn["nodes"]) + found if backward else found + ids(conn["nodes"])
        if not conn["pageInfo"][more_key]:
            return found
        cursor = {cursor_arg: conn["pageInfo"][cursor_key]}


async def counted(client, headers, query: str, **variables: Any) -> tuple[dict[str, Any], int]:
    """A query's data (no errors) and how many statements it sent."""
    with counting_statements() as counter:
        data = await gql(client, headers, query, **variables)
    assert "errors" not in data, data
    return data["data"], len(counter.statements)


def instants(value: Any) -> list[str]:
    """Every string in an answer that reads as a date-time."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in instants(v)]
    if isinstance(value, list):
        return [s for v in value for s in instants(v)]
    return [value] if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value) else []


# --- Relay connections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "count"),
    [*[("bookings", n) for n in (0, 1, 3, 8)], ("bookingOrders", 5), ("notifications", 5)],
    ids=["empty", "one", "full-page", "many", "orders", "notifications"],
)
async def test_walking_forward_and_backward_yields_the_same_list(
    client, users, settings, field, count
):
    headers, variables = await populate(field, client, users, settings, count)
    everything = ids((await page(client, headers, field, variables))["nodes"])
    assert len(set(everything)) == len(everything) == count
    forward = await walk(client, headers, field, variables, 3, backward=False)
    backward = await walk(client, headers, field, variables, 3, backward=True)
    assert forward == backward == everything
    first = await page(client, headers, field, variables, first=3)
    last = await page(client, headers, field, variables, last=3)
    assert first["pageInfo"]["hasNextPage"] is last["pageInfo"]["hasPreviousPage"] is (count > 3)
    assert (ids(first["nodes"]), ids(last["nodes"])) == (everything[:3], everything[-3:])


@pytest.mark.parametrize("field", list(CONNECTIONS))
async def test_total_count_is_the_list_size_for_one_more_statement(client, users, settings, field):
    headers, variables = await populate(field, client, users, settings, 5)
    key = CONNECTIONS[field][2]
    counts = []
    for extra in ("", "totalCount"):
        query = connection_query(field, f"{{ nodes {{ {key} }} {extra} }}")
        data, statements = await counted(client, headers, query, **variables, first=2)
        assert len(data[field]["nodes"]) == 2
        counts.append(statements)
    assert data[field]["totalCount"] == 5
    assert counts[1] == counts[0] + 1


async def test_first_and_last_together_is_a_validation_error_of_that_field(client, users):
    data = await gql(
        client, users.as_athlete, page_query("bookings"), userId=str(users.athlete), first=2, last=2
    )
    assert data["data"] == {"bookings": None}
    [error] = data["errors"]
    assert error["extensions"]["code"] == "validation"
    assert error["path"] == ["bookings"]


# --- Partial answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "who", "code"),
    [
        ("userId: $bad, first: 0", "athlete", "validation"),
        ("userId: $bad", "other_athlete", "forbidden"),
    ],
    ids=["first-0", "someone-else"],
)
async def test_one_failing_field_keeps_the_others_data(client, users, settings, bad, who, code):
    order = await one_booking(client, users, settings)
    query = f"""query($me: UUID!, $bad: UUID!) {{
      mine: bookings(userId: $me) {{ nodes {{ bookingId }} }}
      bad: bookings({bad}) {{ nodes {{ bookingId }} }} }}"""
    me, other = str(users.athlete), str(getattr(users, who))
    data = await gql(client, users.as_athlete, query, me=me, bad=other)
    assert data["data"]["mine"]["nodes"] == [{"bookingId": order["bookings"][0]["bookingId"]}]
    assert data["data"]["bad"] is None
    [error] = data["errors"]
    assert (error["path"], error["extensions"]["code"]) == (["bad"], code)


# --- Instants -------------------------------------------------------------------------------------


async def test_every_instant_is_utc_with_z_and_equals_the_rest_string(client, users, settings):
    order = await one_booking(client, users, settings, notified=True)
    booking_id = order["bookings"][0]["bookingId"]
    query = """query($id: UUID!) { booking(bookingId: $id) { startAt endAt
      event { startAt endAt } order { createdAt } history { at } } }"""
    answer = (await gql(client, users.as_athlete, query, id=booking_id))["data"]["booking"]
    inbox = await gql(client, users.as_coach, "{ notifications { nodes { createdAt sentAt } } }")
    found = instants(answer) + instants(inbox["data"])
    assert len(found) == 8
    assert all(s.endswith("Z") for s in found), found
    rest = (await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)).json()
    assert (answer["startAt"], answer["endAt"]) == (rest["startAt"], rest["endAt"])
    assert answer["event"] == {"startAt": rest["startAt"], "endAt": rest["endAt"]}


# --- The coach's agenda ---------------------------------------------------------------------------

AGENDA = """query($coachId: UUID!, $userId: UUID, $startAt: DateTime, $endAt: DateTime) {
  bookings(coachId: $coachId, userId: $userId, startAt: $startAt, endAt: $endAt) {
    nodes { bookingId coachId userId eventId } } }"""


async def agenda(client, headers, coach: uuid.UUID, **filters: Any) -> dict[str, Any]:
    return await gql(client, headers, AGENDA, coachId=str(coach), **filters)


@pytest.fixture
async def agenda_events(client, users, settings) -> list[uuid.UUID]:
    """Four events of the coaches in turn (the coach's: 0 and 2), each booked by both athletes."""
    events = await coached_events(settings, users, 4)
    await booked(client, users.as_athlete, users.athlete, *events)
    await booked(client, users.as_other_athlete, users.other_athlete, *events)
    return events


@pytest.mark.parametrize("reader", ["as_coach", "as_admin", "as_scheduler"])
async def test_the_agenda_lists_bookings_on_the_coach_s_events(
    client, users, agenda_events, reader
):
    data = await agenda(client, getattr(users, reader), users.coach)
    assert "errors" not in data, data
    nodes = data["data"]["bookings"]["nodes"]
    assert {n["coachId"] for n in nodes} == {str(users.coach)}
    assert sorted((n["eventId"], n["userId"]) for n in nodes) == sorted(
        (str(e), str(u)) for e in agenda_events[0::2] for u in (users.athlete, users.other_athlete)
    )
    assert [n["eventId"] for n in nodes] == [str(e) for e in agenda_events[0::2] for _ in "ab"]


@pytest.mark.parametrize("reader", ["as_other_coach", "as_athlete"])
async def test_the_agenda_is_forbidden_to_others(client, users, agenda_events, reader):
    data = await agenda(client, getattr(users, reader), users.coach)
    assert data["data"] == {"bookings": None}
    assert [e["extensions"]["code"] for e in data["errors"]] == ["forbidden"]


async def test_the_agenda_narrows_to_a_user_and_to_the_window(client, users, agenda_events):
    data = await agenda(client, users.as_coach, users.coach, userId=str(users.other_athlete))
    nodes = data["data"]["bookings"]["nodes"]
    assert [(n["eventId"], n["userId"]) for n in nodes] == [
        (str(e), str(users.other_athlete)) for e in agenda_events[0::2]
    ]
    window = {"startAt": DAY.isoformat(), "endAt": (DAY + timedelta(hours=1)).isoformat()}
    data = await agenda(client, users.as_coach, users.coach, **window)
    assert {n["eventId"] for n in data["data"]["bookings"]["nodes"]} == {str(agenda_events[0])}
    assert len(data["data"]["bookings"]["nodes"]) == 2


# --- Orders ---------------------------------------------------------------------------------------

ORDER = "query($id: UUID!) { order(orderId: $id) { orderId userId bookings { bookingId } } }"


async def test_an_order_is_shown_to_its_athlete_and_an_admin_only(client, users, settings):
    events = await events_of(settings, users.coach, 2)
    order = await booked(client, users.as_athlete, users.athlete, *events)
    expected = {
        "orderId": order["orderId"],
        "userId": str(users.athlete),
        "bookings": [{"bookingId": b["bookingId"]} for b in order["bookings"]],
    }
    for headers, answer in [
        (users.as_athlete, expected),
        (users.as_admin, expected),
        (users.as_other_athlete, None),
    ]:
        data = await gql(client, headers, ORDER, id=order["orderId"])
        assert data == {"data": {"order": answer}}


WITH_ORDER = "order { orderId bookings { bookingId } }"


async def order_cost(client, users, events: list[uuid.UUID]) -> tuple[int, int, int]:
    """Book `events` two to an order; (the size of the athlete's bookings page, its statements
    without `Booking.order`, with it)."""
    for k in range(0, len(events), 2):
        await booked(client, users.as_athlete, users.athlete, *events[k : k + 2])
    counts = []
    for extra in ("", WITH_ORDER):
        query = f"query($u: UUID!) {{ bookings(userId: $u) {{ nodes {{ bookingId {extra} }} }} }}"
        data, statements = await counted(client, users.as_athlete, query, u=str(users.athlete))
        counts.append(statements)
    nodes = data["bookings"]["nodes"]
    for node in nodes:
        assert {"bookingId": node["bookingId"]} in node["order"]["bookings"]
    return len(nodes), counts[0], counts[1]


async def test_booking_order_costs_the_same_for_2_or_6_bookings(client, users, settings):
    events = await events_of(settings, users.coach, 6)
    few = await order_cost(client, users, events[:2])
    many = await order_cost(client, users, events[2:])
    assert (few[0], many[0]) == (2, 6)
    assert few[1:] == many[1:]


@pytest.mark.parametrize("size", [2, 6])
async def test_booking_order_costs_one_statement_more(client, users, settings, size):
    events = await events_of(settings, users.coach, size)
    _, without, with_order = await order_cost(client, users, events)
    assert with_order == without + 1


async def test_a_coach_sees_only_their_own_bookings_of_an_order(client, users, settings):
    events = await coached_events(settings, users, 4)
    order = await booked(client, users.as_athlete, users.athlete, *events)
    query = """query($c: UUID!) { bookings(coachId: $c) {
      nodes { bookingId order { orderId bookings { bookingId coachId } } } } }"""
    data = await gql(client, users.as_coach, query, c=str(users.coach))
    nodes = data["data"]["bookings"]["nodes"]
    own = [{"bookingId": n["bookingId"], "coachId": str(users.coach)} for n in nodes]
    assert len(own) == 2
    for node in nodes:
        assert node["order"] == {"orderId": order["orderId"], "bookings": own}


# --- Global ids -----------------------------------------------------------------------------------


@pytest.fixture
async def owned(client, users, settings) -> dict[str, tuple[dict[str, str], str, str]]:
    """type name -> (its owner's headers, its global id, its own id) of one of each type."""
    order = await one_booking(client, users, settings, notified=True)
    query = """query($u: UUID!, $e: UUID!) { bookings(userId: $u) { nodes { id bookingId } }
      bookingOrders(userId: $u) { nodes { id orderId } } event(eventId: $e) { id eventId } }"""
    data = (
        await gql(
            client, users.as_athlete, query, u=str(users.athlete), e=order["bookings"][0]["eventId"]
        )
    )["data"]
    [b], [o] = data["bookings"]["nodes"], data["bookingOrders"]["nodes"]
    inbox = await gql(client, users.as_coach, "{ notifications { nodes { id notificationId } } }")
    [n] = inbox["data"]["notifications"]["nodes"]
    assert o["orderId"] == order["orderId"]
    return {
        "Booking": (users.as_athlete, b["id"], b["bookingId"]),
        "BookingOrder": (users.as_athlete, o["id"], o["orderId"]),
        "Notification": (users.as_coach, n["id"], n["notificationId"]),
        "Event": (users.as_athlete, data["event"]["id"], data["event"]["eventId"]),
    }


async def test_global_ids_are_opaque_and_round_trip_through_node(client, owned):
    for type_name, (headers, global_id, own_id) in owned.items():
        assert own_id not in global_id
        data = await gql(client, headers, NODE, id=global_id)
        assert "errors" not in data, data
        found = data["data"]["node"]
        assert (found["__typename"], found["id"]) == (type_name, global_id)
        assert own_id in found.values()


async def test_nodes_answers_in_order(client, users, owned):
    mine = [owned[t][1] for t in ("Event", "BookingOrder", "Booking")]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
    data = await gql(client, users.as_athlete, query, ids=mine + mine[::-1])
    assert [n["id"] for n in data["data"]["nodes"]] == mine + mine[::-1]


def raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_others_unknown_and_malformed_ids_are_null_without_errors(client, users, owned):
    others = [owned["Booking"][1], owned["BookingOrder"][1], owned["Notification"][1]]
    unknown = [raw_id(f"Booking:{uuid.uuid4()}"), raw_id(f"User:{users.athlete}"), "!!", "Zm9v", ""]
    for headers, id_ in [(users.as_other_athlete, i) for i in others] + [
        (users.as_athlete, i) for i in unknown
    ]:
        assert await gql(client, headers, NODE, id=id_) == {"data": {"node": None}}, id_
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    data = await gql(client, users.as_other_athlete, query, ids=others + unknown)
    assert data == {"data": {"nodes": [None] * (len(others) + len(unknown))}}


async def test_a_notification_id_marks_it_read(client, users, owned):
    _, global_id, notification_id = owned["Notification"]
    mark = """mutation($ids: [UUID!]!) {
      markNotificationsRead(ids: $ids) { ... on MarkedRead { updated } } }"""
    data = await gql(client, users.as_coach, mark, ids=[notification_id])
    assert data["data"]["markNotificationsRead"] == {"updated": 1}
    read = "query($id: ID!) { node(id: $id) { ... on Notification { read } } }"
    data = await gql(client, users.as_coach, read, id=global_id)
    assert data["data"]["node"] == {"read": True}


# --- The viewer and notifications' messages -------------------------------------------------------


@pytest.mark.parametrize(("user", "role"), [("athlete", "athlete"), ("coach", "coach")])
async def test_the_viewer_is_the_token_s_user(client, users, user, role):
    data = await gql(client, getattr(users, f"as_{user}"), "{ viewer { userId roles } }")
    assert data == {"data": {"viewer": {"userId": str(getattr(users, user)), "roles": [role]}}}


INBOX = "{ notifications { nodes { bookingId message booking { bookingId } } } }"


async def test_a_notification_s_message_names_the_session_s_date(client, users, settings):
    order = await one_booking(client, users, settings, notified=True)
    [note] = (await gql(client, users.as_coach, INBOX))["data"]["notifications"]["nodes"]
    booking_id = order["bookings"][0]["bookingId"]
    assert (note["booking"], note["bookingId"]) == ({"bookingId": booking_id}, booking_id)
    start = datetime.fromisoformat(order["bookings"][0]["startAt"])
    assert re.fullmatch(r"[A-Z][\w ,:()'.]+\.", note["message"]), note["message"]
    assert start.strftime("%d %b %Y") in note["message"]


async def test_a_notification_of_a_booking_gone_reads_without_it(client, users, settings):
    """A notify run may write a notification while the booking is erased (not a foreign key)."""
    order = await one_booking(client, users, settings, notified=True)
    await Booking.filter(id=order["bookings"][0]["bookingId"]).delete()
    data = await gql(client, users.as_coach, INBOX)
    assert "errors" not in data, data
    [note] = data["data"]["notifications"]["nodes"]
    assert note["booking"] is None
    assert "no longer exists" in note["message"]


async def test_the_readme_s_calendar_screen_query_runs(client, users, settings, repo_root):
    """The README's one-round-trip query (section GraphQL) is valid and answers every part."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    graphql_section = readme.split("\n## GraphQL\n", 1)[1]
    query = graphql_section.split("```graphql\n", 1)[1].split("```", 1)[0]
    events = await events_of(settings, users.coach, 2)
    r = await book(client, users.as_athlete, users.athlete, events[0])
    assert r.status_code == 201, r.text
    variables = {
        "me": str(users.athlete),
        "from": "2026-06-01T00:00:00Z",
        "to": "2026-07-01T00:00:00Z",
        "coach": str(users.coach),
    }
    data = await gql(client, users.as_athlete, query, **variables)
    assert "errors" not in data, data
    answer = data["data"]
    assert answer["viewer"]["userId"] == str(users.athlete)
    assert [n["viewerBooking"] is not None for n in answer["week"]["nodes"]] == [True, False]
    assert len(answer["mine"]["nodes"]) == 1
    assert answer["inbox"]["totalCount"] == 0
