"""Object-level authorization, walked over everything: a second user aims every REST operation of
the contract and every GraphQL query and mutation at the first user's objects (bookings in each
state, orders, events, notifications, the user's data erasure), on SQLite and PostgreSQL.

For each operation, and for a stranger holding the athlete role and one holding the coach role:

- the answer is the refusal the README's decisions give (403/404, `null`, a typed error) or an
  empty list, never the objects;
- no answer carries any id stored in the database or any of the first user's texts, unless the
  request itself sent it (an error message may echo the id it was given);
- the answer is the one the same request gets with ids that exist nowhere, so even existence does
  not leak, except where SPEC_NOTES decides otherwise (marked, with the reason);
- not one row of the database changes.

The coverage test enumerates the contract's operations and the schema's fields (introspection):
an operation added without a probe here fails it. tests/test_authorization_matrix.py holds the
per-party matrix of what each party may do; this file is the generic guard over every entry point.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml

from leko_bookings.models import (
    Booking,
    BookingHistory,
    Event,
    IdempotencyKey,
    Notification,
    Order,
)
from leko_bookings.schema import schema
from leko_bookings.schema.node import global_id
from tests.conftest import NOW
from tests.contract import BASE_PATH, contract_path
from tests.factories import book, create_event, event_json, gql

DAY = timedelta(days=1)
SECRET = "SECRET"  # every free text the first users write carries it
UUID_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

STRANGERS = {"other_athlete": "athlete", "other_coach": "coach"}


# --------------------------------------------------------------------------------------------
# What there is to walk


def contract_operations() -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path template) for every operation of the contract."""
    doc = yaml.safe_load(contract_path().read_text(encoding="utf-8"))
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


# Walked over WebSocket by tests/test_subscriptions.py (the catalog's seats: any signed-in user
# may read them; calendar changes: only the caller's own bookings, as athlete or coach,
# `test_a_subscriber_never_receives_someone_elses_booking`); a new subscription field must be
# added there and here.
SUBSCRIPTION_FIELDS = {"Subscription.eventAvailability", "Subscription.calendarChanges"}


def graphql_fields() -> set[str]:
    """Every field of Query and Mutation, as the schema introspects (Subscription's are checked
    against SUBSCRIPTION_FIELDS)."""
    data = schema.introspect()["__schema"]
    roots = {data["queryType"]["name"], (data.get("mutationType") or {}).get("name")}
    subscription = (data.get("subscriptionType") or {}).get("name")
    subscribed = {
        f"{t['name']}.{f['name']}"
        for t in data["types"]
        if t["name"] == subscription
        for f in t["fields"]
    }
    assert subscribed == SUBSCRIPTION_FIELDS, "a new subscription field needs its probes"
    return {
        f"{t['name']}.{f['name']}" for t in data["types"] if t["name"] in roots for f in t["fields"]
    }


# --------------------------------------------------------------------------------------------
# The first users' world: the athlete's bookings in every state, their orders, the coach's
# events, notifications of both


@dataclass(frozen=True)
class World:
    athlete: uuid.UUID
    coach: uuid.UUID
    done: uuid.UUID  # Accepted, ended, completed, with a note
    disputed: uuid.UUID  # InDispute
    ahead: uuid.UUID  # Accepted, ahead
    pending: uuid.UUID  # Pending, ahead (a private slot)
    canceled: uuid.UUID  # Canceled by the coach, not dismissed
    orders: tuple[uuid.UUID, ...]
    events: tuple[uuid.UUID, ...]  # the coach's; the last one has no booking
    notifications: tuple[uuid.UUID, ...]

    @property
    def bookings(self) -> tuple[uuid.UUID, ...]:
        return (self.done, self.disputed, self.ahead, self.pending, self.canceled)

    @property
    def people(self) -> tuple[uuid.UUID, ...]:
        return (self.athlete, self.coach)

    def decoy(self) -> World:
        """The same shape, every id fresh: objects that exist nowhere."""
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            fresh = tuple(uuid.uuid4() for _ in value) if isinstance(value, tuple) else uuid.uuid4()
            changes[f.name] = fresh
        return replace(self, **changes)


RESULT = """
__typename
... on Booking {
  bookingId orderId userId coachId eventId note disputeReason disputeResolution
  cancellationReasonText history { actorId detail } event { eventId coachId }
}
... on Error { code message }
"""


async def _gql_ok(client, headers, query: str, field: str, **variables: Any) -> dict[str, Any]:
    data = await gql(client, headers, query, **variables)
    assert "errors" not in data, data
    return data["data"][field]


async def make_world(client: httpx.AsyncClient, users: Any, settings: Any, clock: Any) -> World:
    athlete, coach = users.athlete, users.coach
    booked_at = NOW - 3 * DAY
    starts = [NOW - DAY, NOW - DAY + timedelta(hours=2), NOW + DAY, NOW + 2 * DAY, NOW + 3 * DAY]
    events = [
        await create_event(settings, booked_at, coach=coach, start=s, public=i != 3)
        for i, s in enumerate(starts)
    ]
    events.append(await create_event(settings, booked_at, coach=coach, start=NOW + 4 * DAY))

    clock.now = booked_at
    orders, bookings = [], {}
    for group in (events[:2], events[2:5]):
        r = await book(client, users.as_athlete, athlete, *group)
        assert r.status_code == 201, r.text
        orders.append(uuid.UUID(r.json()["orderId"]))
        bookings.update({b["eventId"]: uuid.UUID(b["bookingId"]) for b in r.json()["bookings"]})
    done, disputed, ahead, pending, canceled = (bookings[str(e)] for e in events[:5])

    clock.now = NOW
    cancel = f"""mutation($id: UUID!, $text: String) {{
      cancelBooking(bookingId: $id, reasonCode: Other, reasonText: $text) {{ {RESULT} }} }}"""
    result = await _gql_ok(
        client, users.as_coach, cancel, "cancelBooking", id=str(canceled), text=f"{SECRET} ill"
    )
    assert result["__typename"] == "Booking", result
    note = f"""mutation($id: UUID!, $note: String!) {{
      addBookingNote(bookingId: $id, note: $note) {{ {RESULT} }} }}"""
    result = await _gql_ok(
        client, users.as_athlete, note, "addBookingNote", id=str(done), note=f"{SECRET} knee ok"
    )
    assert result["__typename"] == "Booking", result
    r = await client.patch(
        f"/v1/bookings/{done}/completed", json={"completed": True}, headers=users.as_coach
    )
    assert r.status_code == 200, r.text
    dispute = f"""mutation($id: UUID!, $reason: String!) {{
      openDispute(bookingId: $id, reason: $reason) {{ {RESULT} }} }}"""
    result = await _gql_ok(
        client, users.as_athlete, dispute, "openDispute", id=str(disputed), reason=f"{SECRET} short"
    )
    assert result["__typename"] == "Booking", result
    r = await client.post("/v1/bookings/notify", headers=users.as_scheduler)  # reminders, sent
    assert r.status_code == 204, r.text

    notifications = tuple(await Notification.all().order_by("id").values_list("id", flat=True))
    recipients = set(await Notification.all().values_list("recipient_id", flat=True))
    assert recipients == {athlete, coach}  # both have an inbox to protect
    return World(
        athlete=athlete,
        coach=coach,
        done=done,
        disputed=disputed,
        ahead=ahead,
        pending=pending,
        canceled=canceled,
        orders=tuple(orders),
        events=tuple(events),
        notifications=notifications,
    )


MODELS = (Event, Order, Booking, BookingHistory, Notification, IdempotencyKey)


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: await m.all().order_by("id").values() for m in MODELS}


def secrets_of(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Every id stored anywhere and every text of the first users."""
    found: set[str] = set()
    for table in rows.values():
        for row in table:
            for value in row.values():
                if isinstance(value, uuid.UUID) and value.int:
                    found.add(str(value))
                elif isinstance(value, str) and SECRET in value:
                    found.add(value)
    return found


# --------------------------------------------------------------------------------------------
# Walking: each request is kept with what it sent and what came back


@dataclass
class Outcome:
    operation: str  # the contract's operationId, or "Query.x" / "Mutation.x"
    sent: str
    status: int
    body: Any
    received: str

    def summary(self) -> Any:
        """The refusal or result in one value: an HTTP status, [] for an empty list, a GraphQL
        __typename, None for a null result, "error:<code>" for a query refused by an error."""
        if self.operation[0].islower():  # REST
            return [] if self.status == 200 and self.body == [] else self.status
        if self.status != 200:
            return self.status
        if self.body.get("errors"):
            codes = sorted({str(e.get("extensions", {}).get("code")) for e in self.body["errors"]})
            return "error:" + ",".join(codes)
        result = self.body["data"][self.operation.split(".", 1)[1]]
        if result is None:
            return None
        if isinstance(result, list):  # Query.nodes: [None] when nothing is seen
            return result
        if self.operation == "Query.events":  # the catalog: seen, with no booking of anyone's
            seen = result["nodes"] and all(n["viewerBooking"] is None for n in result["nodes"])
            return "catalog" if seen else result["nodes"]
        if "nodes" in result:
            return result["nodes"]  # [] when empty; else what leaked, to see in the failure
        if result["__typename"] == "MarkedRead":
            return f"MarkedRead:{result['updated']}"
        return result["__typename"]

    def normalized(self) -> Any:
        """What the caller learns, ids and request ids blanked (to compare with a decoy's)."""
        text = UUID_TEXT.sub("<id>", json.dumps(self.body, sort_keys=True))
        text = re.sub(r'"requestId": "[0-9a-f]+"', '"requestId": "<rid>"', text)
        return self.status, text


@dataclass
class Walker:
    client: httpx.AsyncClient
    stranger: uuid.UUID
    headers: dict[str, str]
    templates: dict[str, tuple[str, str]]

    async def rest(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Outcome:
        expected_method, template = self.templates[operation]
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        assert method == expected_method, (operation, method)
        assert re.fullmatch(pattern, path), (operation, path)  # the probe hits its operation
        r = await self.client.request(
            method, BASE_PATH + path, headers={**self.headers, **(headers or {})}, **kwargs
        )
        sent = f"{r.request.url} {r.request.headers.get('x-current-user-id', '')} "
        sent += r.request.content.decode()
        return Outcome(operation, sent, r.status_code, _json(r), _received(r))

    async def graphql(self, operation: str, query: str, **variables: Any) -> Outcome:
        root, field = operation.split(".")
        assert query.lstrip().startswith(root.lower()), query
        assert re.search(rf"\b{field}\(|\b{field}\s*\{{", query), (operation, query)
        jsonable = json.loads(json.dumps(variables, default=str))
        r = await self.client.post(
            "/graphql", json={"query": query, "variables": jsonable}, headers=self.headers
        )
        return Outcome(operation, r.request.content.decode(), r.status_code, _json(r), _received(r))


def _json(r: httpx.Response) -> Any:
    return r.json() if r.content else None


def _received(r: httpx.Response) -> str:
    headers = " ".join(f"{k}: {v}" for k, v in r.headers.items())
    return f"{headers}\n{r.text}"


# --------------------------------------------------------------------------------------------
# The probes: every operation aimed at the first users' objects


Run = Callable[[Walker, World], Awaitable[list[Outcome]]]


@dataclass(frozen=True)
class Probe:
    name: str
    operation: str
    expected: Any  # Outcome.summary() of every request the probe makes
    run: Run
    # Why the answer may differ from the one for ids that exist nowhere (None: it may not).
    reveals_existence: str | None = None


CATALOG = (
    "issue 12: events are the catalog, which any signed-in user may read (seats left included);"
    " no booking, athlete or note of it is shown to a stranger"
)
DISMISS_403 = (
    "SPEC_NOTES (Changing): POST …/dismiss answers 403 when userId is not the booking's athlete "
    "or not the caller, and the contract gives dismiss a 403; the body names nothing"
)


async def _each(ids, call) -> list[Outcome]:
    return [await call(i) for i in ids]


def rest_each_booking(operation: str, method: str, suffix: str, **kwargs: Any) -> Run:
    async def run(w: Walker, world: World) -> list[Outcome]:
        return await _each(
            world.bookings,
            lambda b: w.rest(operation, method, f"/bookings/{b}{suffix}", **kwargs),
        )

    return run


def dismiss_canceled(user_of: Callable[[Walker, World], uuid.UUID]) -> Run:
    """POST dismiss of the athlete's canceled booking, with `userId` = `user_of(...)`."""

    async def run(w: Walker, world: World) -> list[Outcome]:
        params = {"userId": str(user_of(w, world))}
        return await _each(
            [world.canceled],
            lambda b: w.rest("dismissBooking", "POST", f"/bookings/{b}/dismiss", params=params),
        )

    return run


def gql_each_booking(operation: str, args: str, params: str = "") -> Run:
    field = operation.split(".")[1]
    root = operation.split(".")[0].lower()
    selection = RESULT if root == "mutation" else RESULT.split("... on Error")[0]
    query = (
        f"{root} Probe($id: UUID!{params}) {{ {field}(bookingId: $id{args}) {{ {selection} }} }}"
    )

    async def run(w: Walker, world: World) -> list[Outcome]:
        return await _each(world.bookings, lambda b: w.graphql(operation, query, id=b))

    return run


BOOKING_NODE = RESULT.split("... on Error")[0].replace("__typename", "")
BOOKINGS_Q = f"""query Probe($userId: UUID, $eventId: UUID) {{
  bookings(userId: $userId, eventId: $eventId) {{ nodes {{ {BOOKING_NODE} }} }} }}"""
ORDERS_Q = f"""query Probe($userId: UUID!) {{
  bookingOrders(userId: $userId) {{
    nodes {{ orderId userId bookings {{ {BOOKING_NODE} }} }} }} }}"""
NOTIFICATIONS_Q = """query Probe {
  notifications(first: 500) { nodes { id notificationId bookingId rule status message } } }"""
EVENTS_Q = """query Probe($c: UUID, $n: Int) {
  events(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", coachId: $c,
         includeCanceled: true, first: $n) {
    __typename totalCount nodes { seatsTaken viewerBooking { bookingId } } } }"""
AGENDA_Q = f"""query Probe($c: UUID) {{
  bookings(coachId: $c) {{ nodes {{ {BOOKING_NODE} }} }} }}"""
NODE_Q = """query Probe($id: ID!) { node(id: $id) { id __typename
  ... on Booking { bookingId note } ... on BookingOrder { orderId }
  ... on Notification { notificationId } } }"""
EVENT_RESULT = """__typename ... on Event { eventId coachId } ... on Error { code message }"""


def order_in_their_name(headers: dict[str, str] | None = None) -> Run:
    """POST an order of the coach's free event in the athlete's name."""

    async def run(w: Walker, world: World) -> list[Outcome]:
        body = {
            "userId": str(world.athlete),
            "eventIds": [str(world.events[-1])],
            "paymentMethod": {"type": "Cash"},
        }
        return [await w.rest("bookEvents", "POST", "/bookings", headers=headers, json=body)]

    return run


def graphql_order_in_their_name(key: str | None) -> Run:
    """bookEvents of the coach's free event in the athlete's name (`key`: its idempotencyKey)."""
    query = """mutation Probe($userId: UUID!, $eventIds: [UUID!]!, $key: String) {
      bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash},
                 idempotencyKey: $key) {
        __typename ... on BookingOrder { orderId } ... on Error { code message } } }"""

    async def run(w: Walker, world: World) -> list[Outcome]:
        return [
            await w.graphql(
                "Mutation.bookEvents",
                query,
                userId=world.athlete,
                eventIds=[world.events[-1]],
                key=key,
            )
        ]

    return run


def _upsert_probe(w: Walker, world: World) -> Awaitable[list[Outcome]]:
    """Take over the coach's events: moved, given to the stranger, canceled."""

    async def run() -> list[Outcome]:
        query = """mutation Probe($events: [EventInput!]!) { upsertEvents(events: $events) {
          __typename ... on UpsertEventsSuccess { events { eventId coachId } }
          ... on Error { code message } } }"""
        taken = []
        for event in world.events:
            data = event_json(coach=w.stranger, start=NOW + 10 * DAY, event_id=event)
            taken.append(data | {"eventStatus": "Canceled"})
        return [await w.graphql("Mutation.upsertEvents", query, events=taken)]

    return run()


JOIN_Q = """mutation Probe($id: UUID!) { joinWaitlist(eventId: $id) { __typename
  ... on WaitlistEntry { userId position } ... on Error { code message } } }"""
LEAVE_Q = """mutation Probe($id: UUID!) { leaveWaitlist(eventId: $id) { __typename
  ... on WaitlistLeft { wasWaiting } ... on Error { code message } } }"""

PROBES: list[Probe] = [
    # ---- REST: the contract's nine operations ----
    Probe("GET one booking", "getBookingById", 404, rest_each_booking("getBookingById", "GET", "")),
    Probe(
        "GET the athlete's and the coach's calendars",
        "getBookings",
        403,
        lambda w, world: _each(
            world.people,
            lambda u: w.rest("getBookings", "GET", "/bookings", params={"userId": str(u)}),
        ),
    ),
    Probe(
        "GET the bookings of the coach's events",
        "getBookings",
        403,
        lambda w, world: _each(
            world.events,
            lambda e: w.rest("getBookings", "GET", "/bookings", params={"eventId": str(e)}),
        ),
    ),
    Probe(
        "GET the stranger's own calendar narrowed to the coach's events",
        "getBookings",
        [],
        lambda w, world: _each(
            world.events,
            lambda e: w.rest(
                "getBookings",
                "GET",
                "/bookings",
                params={"userId": str(w.stranger), "eventId": str(e)},
            ),
        ),
    ),
    Probe(
        "GET the athlete's and the coach's orders",
        "getUserBookingOrders",
        403,
        lambda w, world: _each(
            world.people,
            lambda u: w.rest(
                "getUserBookingOrders", "GET", "/bookings/orders", params={"userId": str(u)}
            ),
        ),
    ),
    Probe("POST an order in the athlete's name", "bookEvents", 403, order_in_their_name()),
    Probe(
        "POST an order in the athlete's name with an Idempotency-Key (nothing kept)",
        "bookEvents",
        403,
        order_in_their_name({"Idempotency-Key": "probe"}),
    ),
    Probe(
        "PATCH completed on each booking",
        "markBookingAsCompleted",
        404,
        rest_each_booking(
            "markBookingAsCompleted", "PATCH", "/completed", json={"completed": True}
        ),
    ),
    Probe(
        "PATCH a note on each booking",
        "addBookingNote",
        404,
        rest_each_booking("addBookingNote", "PATCH", "/note", json={"note": "mine now"}),
    ),
    Probe(
        "POST dismiss of the athlete's canceled booking, as the athlete",
        "dismissBooking",
        403,
        dismiss_canceled(lambda w, world: world.athlete),
        reveals_existence=DISMISS_403,
    ),
    Probe(
        "POST dismiss of the athlete's canceled booking, as oneself",
        "dismissBooking",
        403,
        dismiss_canceled(lambda w, world: w.stranger),
        reveals_existence=DISMISS_403,
    ),
    Probe(
        "DELETE the athlete's and the coach's data by userId",
        "deleteUserFromBookings",
        403,
        lambda w, world: _each(
            world.people,
            lambda u: w.rest(
                "deleteUserFromBookings",
                "DELETE",
                "/users",
                params={"userId": str(u)},
                headers={"x-current-user-id": str(w.stranger)},
            ),
        ),
    ),
    Probe(
        "DELETE /users claiming to be them in x-current-user-id",
        "deleteUserFromBookings",
        403,
        lambda w, world: _each(
            world.people,
            lambda u: w.rest(
                "deleteUserFromBookings", "DELETE", "/users", headers={"x-current-user-id": str(u)}
            ),
        ),
    ),
    Probe(
        "POST notify (sends everyone's notifications)",
        "notifyBookings",
        403,
        lambda w, world: _each(
            [None], lambda _: w.rest("notifyBookings", "POST", "/bookings/notify")
        ),
    ),
    # ---- GraphQL: every query and mutation ----
    Probe("booking", "Query.booking", None, gql_each_booking("Query.booking", "")),
    Probe(
        "bookings of the athlete and the coach",
        "Query.bookings",
        "error:forbidden",
        lambda w, world: _each(
            world.people, lambda u: w.graphql("Query.bookings", BOOKINGS_Q, userId=u)
        ),
    ),
    Probe(
        "bookings of the coach's events",
        "Query.bookings",
        "error:forbidden",
        lambda w, world: _each(
            world.events, lambda e: w.graphql("Query.bookings", BOOKINGS_Q, eventId=e)
        ),
    ),
    Probe(
        "the stranger's bookings narrowed to the coach's events",
        "Query.bookings",
        [],
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql("Query.bookings", BOOKINGS_Q, userId=w.stranger, eventId=e),
        ),
    ),
    Probe(
        "bookingOrders of the athlete and the coach",
        "Query.bookingOrders",
        "error:forbidden",
        lambda w, world: _each(
            world.people, lambda u: w.graphql("Query.bookingOrders", ORDERS_Q, userId=u)
        ),
    ),
    Probe(
        "bookings of the coach's agenda",
        "Query.bookings",
        "error:forbidden",
        lambda w, world: _each(
            world.people,
            lambda u: w.graphql(
                "Query.bookings",
                AGENDA_Q,
                c=u,
            ),
        ),
    ),
    Probe(
        "order of each of the athlete's orders",
        "Query.order",
        None,
        lambda w, world: _each(
            world.orders,
            lambda o: w.graphql(
                "Query.order",
                "query Probe($id: UUID!) { order(orderId: $id) { orderId userId } }",
                id=o,
            ),
        ),
    ),
    Probe(
        "node of each booking and order",
        "Query.node",
        None,
        lambda w, world: _each(
            [global_id("Booking", b) for b in world.bookings]
            + [global_id("BookingOrder", o) for o in world.orders]
            + [global_id("Notification", n) for n in world.notifications],
            lambda i: w.graphql("Query.node", NODE_Q, id=i),
        ),
    ),
    Probe(
        "nodes of each booking and order",
        "Query.nodes",
        [None],
        lambda w, world: _each(
            [global_id("Booking", b) for b in world.bookings]
            + [global_id("BookingOrder", o) for o in world.orders],
            lambda i: w.graphql(
                "Query.nodes",
                "query Probe($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }",
                ids=[i],
            ),
        ),
    ),
    Probe(
        "events of the coach: the public catalog, without anyone's booking",
        "Query.events",
        "catalog",
        lambda w, world: _each(
            [world.coach],
            lambda c: w.graphql("Query.events", EVENTS_Q, c=c, n=len(world.events)),
        ),
        reveals_existence=CATALOG,
    ),
    Probe(
        "event: each of the coach's events, without anyone's booking",
        "Query.event",
        "Event",
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql(
                "Query.event",
                "query Probe($e: UUID!) { event(eventId: $e) { __typename eventId seatsLeft"
                " viewerBooking { bookingId } } }",
                e=e,
            ),
        ),
        reveals_existence=CATALOG,
    ),
    Probe(
        "viewer: the stranger themself",
        "Query.viewer",
        "Viewer",
        lambda w, world: _each(
            [None], lambda _: w.graphql("Query.viewer", "query { viewer { __typename roles } }")
        ),
    ),
    Probe(
        "notifications: the stranger's own inbox only",
        "Query.notifications",
        [],
        lambda w, world: _each([None], lambda _: w.graphql("Query.notifications", NOTIFICATIONS_Q)),
    ),
    Probe(
        "bookEvents in the athlete's name",
        "Mutation.bookEvents",
        "ForbiddenError",
        graphql_order_in_their_name(None),
    ),
    Probe(
        "bookEvents in the athlete's name with an idempotencyKey (nothing kept)",
        "Mutation.bookEvents",
        "ForbiddenError",
        graphql_order_in_their_name("probe"),
    ),
    Probe(
        "rescheduleBooking of each booking to the coach's free event",
        "Mutation.rescheduleBooking",
        "NotFoundError",
        lambda w, world: _each(
            world.bookings,
            lambda b: w.graphql(
                "Mutation.rescheduleBooking",
                """mutation Probe($id: UUID!, $e: UUID!) { rescheduleBooking(bookingId: $id,
                  eventId: $e) { __typename ... on BookingRescheduled { booking { bookingId } }
                  ... on Error { code message } } }""",
                id=b,
                e=world.events[-1],
            ),
        ),
    ),
    Probe(
        "upsertEvents over the coach's events",
        "Mutation.upsertEvents",
        "ForbiddenError",
        _upsert_probe,
    ),
    Probe(
        "acceptBooking",
        "Mutation.acceptBooking",
        "NotFoundError",
        gql_each_booking("Mutation.acceptBooking", ""),
    ),
    Probe(
        "rejectBooking",
        "Mutation.rejectBooking",
        "NotFoundError",
        gql_each_booking("Mutation.rejectBooking", ""),
    ),
    Probe(
        "cancelBooking",
        "Mutation.cancelBooking",
        "NotFoundError",
        gql_each_booking("Mutation.cancelBooking", ", reasonCode: NoTime"),
    ),
    Probe(
        "openDispute",
        "Mutation.openDispute",
        "NotFoundError",
        gql_each_booking("Mutation.openDispute", ', reason: "mine"'),
    ),
    Probe(
        "resolveDispute",
        "Mutation.resolveDispute",
        "NotFoundError",
        gql_each_booking("Mutation.resolveDispute", ', resolution: "mine"'),
    ),
    Probe(
        "markBookingAsCompleted",
        "Mutation.markBookingAsCompleted",
        "NotFoundError",
        gql_each_booking("Mutation.markBookingAsCompleted", ", completed: true"),
    ),
    Probe(
        "addBookingNote",
        "Mutation.addBookingNote",
        "NotFoundError",
        gql_each_booking("Mutation.addBookingNote", ', note: "mine now"'),
    ),
    Probe(
        "dismissBooking as the athlete",
        "Mutation.dismissBooking",
        "ForbiddenError",
        lambda w, world: _each(
            [world.canceled],
            lambda b: w.graphql(
                "Mutation.dismissBooking",
                f"""mutation Probe($id: UUID!, $userId: UUID!) {{
                  dismissBooking(bookingId: $id, userId: $userId) {{ {RESULT} }} }}""",
                id=b,
                userId=world.athlete,
            ),
        ),
        reveals_existence=DISMISS_403,
    ),
    Probe(
        "cancelEvent of the coach's events",
        "Mutation.cancelEvent",
        "ForbiddenError",
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql(
                "Mutation.cancelEvent",
                f"mutation Probe($id: UUID!) {{ cancelEvent(eventId: $id) {{ {EVENT_RESULT} }} }}",
                id=e,
            ),
        ),
    ),
    Probe(
        "waitlist of the coach's events",
        "Query.waitlist",
        "error:forbidden",
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql(
                "Query.waitlist",
                "query Probe($id: UUID!) { waitlist(eventId: $id) { nodes { userId } } }",
                id=e,
            ),
        ),
        reveals_existence=CATALOG,
    ),
    Probe(
        "joinWaitlist of the coach's events (none full: the caller's own entry is refused)",
        "Mutation.joinWaitlist",
        "ValidationError",
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql(
                "Mutation.joinWaitlist",
                JOIN_Q,
                id=e,
            ),
        ),
        reveals_existence=CATALOG,
    ),
    Probe(
        "leaveWaitlist of the coach's events (only ever the caller's own entry)",
        "Mutation.leaveWaitlist",
        "WaitlistLeft",
        lambda w, world: _each(
            world.events,
            lambda e: w.graphql(
                "Mutation.leaveWaitlist",
                LEAVE_Q,
                id=e,
            ),
        ),
        reveals_existence=CATALOG,
    ),
    Probe(
        "deleteUserFromBookings of the athlete and the coach",
        "Mutation.deleteUserFromBookings",
        "ForbiddenError",
        lambda w, world: _each(
            world.people,
            lambda u: w.graphql(
                "Mutation.deleteUserFromBookings",
                """mutation Probe($userId: UUID) { deleteUserFromBookings(userId: $userId) {
                  __typename ... on UserDataDeleted { userId } ... on Error { code message } } }""",
                userId=u,
            ),
        ),
    ),
    Probe(
        "notifyBookings",
        "Mutation.notifyBookings",
        "ForbiddenError",
        lambda w, world: _each(
            [None],
            lambda _: w.graphql(
                "Mutation.notifyBookings",
                """mutation Probe { notifyBookings {
                  __typename ... on NotifySummary { sent } ... on Error { code message } } }""",
            ),
        ),
    ),
    Probe(
        "markNotificationsRead of their notifications",
        "Mutation.markNotificationsRead",
        "MarkedRead:0",
        lambda w, world: _each(
            [world.notifications],
            lambda ids: w.graphql(
                "Mutation.markNotificationsRead",
                """mutation Probe($ids: [UUID!]!) { markNotificationsRead(ids: $ids) {
                  __typename ... on MarkedRead { updated } ... on Error { code message } } }""",
                ids=list(ids),
            ),
        ),
    ),
    Probe(
        "createCalendarFeed: the stranger's own feed (the URL, random, left unselected)",
        "Mutation.createCalendarFeed",
        "CalendarFeed",
        lambda w, world: _each(
            [None],
            lambda _: w.graphql(
                "Mutation.createCalendarFeed",
                """mutation Probe { createCalendarFeed {
                  __typename ... on CalendarFeed { createdAt } ... on Error { code message } } }""",
            ),
        ),
    ),
    Probe(
        "revokeCalendarFeed: the stranger's own (none), never the first users'",
        "Mutation.revokeCalendarFeed",
        "CalendarFeedRevoked",
        lambda w, world: _each(
            [None],
            lambda _: w.graphql(
                "Mutation.revokeCalendarFeed",
                """mutation Probe { revokeCalendarFeed {
                  __typename ... on CalendarFeedRevoked { revoked }
                  ... on Error { code message } } }""",
            ),
        ),
    ),
]


# --------------------------------------------------------------------------------------------
# The tests


def test_every_rest_operation_and_graphql_field_is_walked():
    probed = {p.operation for p in PROBES}
    assert {op for op in probed if "." not in op} == set(contract_operations())
    assert {op for op in probed if "." in op} == graphql_fields()
    names = [p.name for p in PROBES]
    assert len(names) == len(set(names))


def test_the_leak_check_would_see_a_leak():
    """The checks below are not vacuous: a body holding a stored id the request did not send is
    caught, one echoing the id it was sent is not."""
    stored, other = str(uuid.uuid4()), str(uuid.uuid4())
    leak = Outcome("getBookings", f"/v1/bookings?userId={other}", 200, [{"bookingId": stored}], "")
    leak.received = json.dumps(leak.body)
    assert leaks(leak, {stored, other}) == {stored}
    echo = Outcome("getBookingById", f"/v1/bookings/{stored}", 404, {"message": stored}, stored)
    assert leaks(echo, {stored}) == set()
    assert leak.summary() == 200
    assert echo.normalized() == replace(echo, body={"message": other}).normalized()


def leaks(outcome: Outcome, secrets: set[str]) -> set[str]:
    """The stored ids and texts in the answer that the request did not itself send."""
    received, sent = outcome.received.lower(), outcome.sent.lower()
    return {s for s in secrets if s.lower() in received and s.lower() not in sent}


@pytest.mark.parametrize("stranger", list(STRANGERS))
@pytest.mark.parametrize("probe", PROBES, ids=[re.sub(r"\W+", "-", p.name) for p in PROBES])
async def test_a_stranger_gets_nothing_and_changes_nothing(
    client, users, settings, clock, probe, stranger
):
    world = await make_world(client, users, settings, clock)
    stranger_id = getattr(users, stranger)
    walker = Walker(
        client,
        stranger_id,
        users.headers(stranger_id, STRANGERS[stranger]),
        contract_operations(),
    )
    before = await snapshot()
    secrets = secrets_of(before)
    assert {str(world.athlete), str(world.coach), str(world.done)} <= secrets
    assert sum(SECRET in s for s in secrets) == 3  # the note, the dispute, the reason text

    real = await probe.run(walker, world)
    decoy = await probe.run(walker, world.decoy())

    assert await snapshot() == before  # not one row changed
    assert real, probe.name
    for outcome in real:
        assert outcome.summary() == probe.expected, (outcome.sent, outcome.body)
        assert leaks(outcome, secrets) == set(), (outcome.sent, outcome.body)
    if probe.reveals_existence is None:
        assert [o.normalized() for o in real] == [o.normalized() for o in decoy]
    else:
        assert [o.summary() for o in decoy] != [o.summary() for o in real], (
            "the recorded exception no longer holds: drop reveals_existence"
        )
