"""The authorization matrix: every party by every operation, REST and GraphQL, on both databases.

Parties are seen from one booking: `athlete` (its athlete), `other_athlete`, `coach` (its
event's coach), `other_coach`, `admin`, `scheduler`, and `anonymous` (no token). Each cell gets
a fresh world in the state where the operation is otherwise valid, so an allowed cell really
succeeds and a denied one fails for authorization only (and changes no row).

MATRIX is derived from SPEC_NOTES ("Who may do what", "Changing", the state machine). Where the
code differs from that reading, the cell asserts the code's behaviour and is marked [D1]: a
deliberate decision, recorded in the README ("Lifecycle refusals") and explained below.

[D1] SPEC_NOTES, "Who may do what": "anything else → 403, or 404 for GET /bookings/{id}". The
code (and the README's "Lifecycle refusals" decision) answers 404 / NotFoundError to a caller
who cannot see the booking (neither its athlete nor its coach nor an operator) on PATCH
…/completed, PATCH …/note and the GraphQL lifecycle mutations, so that the booking's existence
does not leak. For PATCH …/completed and …/note this matches the other SPEC_NOTES rule ("404
where the contract has no 403 and existence must not leak": the contract gives those two paths
no 403); for acceptBooking, rejectBooking, cancelBooking, openDispute, resolveDispute it is a
deviation from the literal "anything else → 403".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tortoise import connections

from leko_bookings.auth import Principal, Role
from leko_bookings.models import (
    Booking,
    BookingHistory,
    CancellationReasonCode,
    Event,
    Order,
    PaymentType,
)
from leko_bookings.resolvers import lifecycle, ordering
from leko_bookings.resolvers.context import Context
from tests.conftest import NOW, TABLES
from tests.factories import book, create_event, event_json

DAY = timedelta(days=1)

PARTIES = ("athlete", "other_athlete", "coach", "other_coach", "admin", "scheduler", "anonymous")
ROLE = {
    "athlete": "athlete",
    "other_athlete": "athlete",
    "coach": "coach",
    "other_coach": "coach",
    "admin": "admin",
    "scheduler": "scheduler",
}

# GraphQL outcomes: the result's __typename; None for a null `booking`; "error:<code>" for a
# query refused with a GraphQL error; an int when the HTTP status is not 200 (no token: 401).
FORBIDDEN = "ForbiddenError"
NOT_FOUND = "NotFoundError"
QUERY_FORBIDDEN = "error:forbidden"

Expected = int | str | None

MATRIX: dict[str, dict[str, Expected]] = {
    # ---- REST (the contract's paths, under /v1) ----
    "GET /bookings/{bookingId}": {
        "athlete": 200,
        "other_athlete": 404,
        "coach": 200,
        "other_coach": 404,
        "admin": 200,
        "scheduler": 200,
        "anonymous": 401,
    },
    "GET /bookings?userId=athlete": {
        "athlete": 200,
        "other_athlete": 403,
        "coach": 403,  # being their coach does not open the athlete's calendar
        "other_coach": 403,
        "admin": 200,
        "scheduler": 403,
        "anonymous": 401,
    },
    "GET /bookings?eventId=event": {
        "athlete": 403,
        "other_athlete": 403,
        "coach": 200,
        "other_coach": 403,
        "admin": 200,
        "scheduler": 200,
        "anonymous": 401,
    },
    "GET /bookings/orders?userId=athlete": {
        "athlete": 200,
        "other_athlete": 403,
        "coach": 403,
        "other_coach": 403,
        "admin": 200,
        "scheduler": 403,
        "anonymous": 401,
    },
    "POST /bookings userId=athlete": {
        "athlete": 201,
        "other_athlete": 403,
        "coach": 403,
        "other_coach": 403,
        "admin": 201,
        "scheduler": 403,
        "anonymous": 401,
    },
    "PATCH /bookings/{bookingId}/completed": {
        "athlete": 403,
        "other_athlete": 404,  # [D1]
        "coach": 200,
        "other_coach": 404,  # [D1]
        "admin": 200,
        "scheduler": 403,
        "anonymous": 401,
    },
    "PATCH /bookings/{bookingId}/note": {
        "athlete": 200,
        "other_athlete": 404,  # [D1]
        "coach": 200,
        "other_coach": 404,  # [D1]
        "admin": 200,
        "scheduler": 403,
        "anonymous": 401,
    },
    "POST /bookings/{bookingId}/dismiss?userId=athlete": {
        "athlete": 204,
        "other_athlete": 403,
        "coach": 403,
        "other_coach": 403,
        "admin": 204,
        "scheduler": 403,
        "anonymous": 401,
    },
    "DELETE /users?userId=athlete": {
        "athlete": 204,
        "other_athlete": 403,
        "coach": 403,
        "other_coach": 403,
        "admin": 204,
        "scheduler": 403,
        "anonymous": 401,
    },
    # ---- GraphQL ----
    "booking": {
        "athlete": "Booking",
        "other_athlete": None,
        "coach": "Booking",
        "other_coach": None,
        "admin": "Booking",
        "scheduler": "Booking",
        "anonymous": 401,
    },
    "bookings(userId: athlete)": {
        "athlete": "BookingConnection",
        "other_athlete": QUERY_FORBIDDEN,
        "coach": QUERY_FORBIDDEN,
        "other_coach": QUERY_FORBIDDEN,
        "admin": "BookingConnection",
        "scheduler": QUERY_FORBIDDEN,
        "anonymous": 401,
    },
    "bookingOrders(userId: athlete)": {
        "athlete": "BookingOrderConnection",
        "other_athlete": QUERY_FORBIDDEN,
        "coach": QUERY_FORBIDDEN,
        "other_coach": QUERY_FORBIDDEN,
        "admin": "BookingOrderConnection",
        "scheduler": QUERY_FORBIDDEN,
        "anonymous": 401,
    },
    "bookEvents(userId: athlete)": {
        "athlete": "BookingOrder",
        "other_athlete": FORBIDDEN,
        "coach": FORBIDDEN,
        "other_coach": FORBIDDEN,
        "admin": "BookingOrder",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "upsertEvents": {
        "athlete": FORBIDDEN,
        "other_athlete": FORBIDDEN,
        "coach": FORBIDDEN,
        "other_coach": FORBIDDEN,
        "admin": "UpsertEventsSuccess",
        "scheduler": "UpsertEventsSuccess",
        "anonymous": 401,
    },
    "cancelEvent": {
        "athlete": FORBIDDEN,
        "other_athlete": FORBIDDEN,
        "coach": FORBIDDEN,  # events are owned by another service: operators only
        "other_coach": FORBIDDEN,
        "admin": "Event",
        "scheduler": "Event",
        "anonymous": 401,
    },
    "acceptBooking": {
        "athlete": FORBIDDEN,
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "rejectBooking": {
        "athlete": FORBIDDEN,
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "cancelBooking": {
        "athlete": "Booking",
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "openDispute": {
        "athlete": "Booking",
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": FORBIDDEN,  # Accepted → InDispute is the athlete's or the coach's move only
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "resolveDispute": {
        "athlete": FORBIDDEN,
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": FORBIDDEN,
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "markBookingAsCompleted": {
        "athlete": FORBIDDEN,
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "addBookingNote": {
        "athlete": "Booking",
        "other_athlete": NOT_FOUND,  # [D1]
        "coach": "Booking",
        "other_coach": NOT_FOUND,  # [D1]
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "dismissBooking(userId: athlete)": {
        "athlete": "Booking",
        "other_athlete": FORBIDDEN,
        "coach": FORBIDDEN,
        "other_coach": FORBIDDEN,
        "admin": "Booking",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
    "deleteUserFromBookings(userId: athlete)": {
        "athlete": "UserDataDeleted",
        "other_athlete": FORBIDDEN,
        "coach": FORBIDDEN,
        "other_coach": FORBIDDEN,
        "admin": "UserDataDeleted",
        "scheduler": FORBIDDEN,
        "anonymous": 401,
    },
}

ALLOWED = {200, 201, 204, "Booking", "BookingConnection", "BookingOrderConnection"} | {
    "BookingOrder",
    "UpsertEventsSuccess",
    "Event",
    "UserDataDeleted",
}


# --------------------------------------------------------------------------------------------
# The world of one cell: one event of the coach and (mostly) one booking of the athlete


@dataclass
class World:
    event: uuid.UUID
    booking: uuid.UUID | None = None


@pytest.fixture
async def db(database: str) -> str:
    """Empty tables for each cell, by DELETE: on PostgreSQL much faster than the harness's
    TRUNCATE for these few rows, which matters over the matrix's hundreds of cells."""
    script = " ".join(f'DELETE FROM "{table}";' for table in TABLES)  # children first
    await connections.get("default").execute_script(script)
    return database


def _ctx(user: uuid.UUID, role: Role, now, settings) -> Context:
    return Context(Principal(user, frozenset({role})), now, settings)


async def make_world(settings, users, state: str) -> World:
    """States: `fresh` (an event ahead, no booking), `pending` (a private event ahead, booking
    Pending), `ahead` (Accepted, ahead), `canceled` (canceled by the athlete, ahead), `ended`
    (Accepted, the event over), `in_dispute` (the ended booking disputed)."""
    ended = state in ("ended", "in_dispute")
    booked_at = NOW - 2 * DAY if ended else NOW
    start = NOW - DAY if ended else NOW + DAY
    event = await create_event(
        settings, booked_at, coach=users.coach, start=start, public=state != "pending"
    )
    if state == "fresh":
        return World(event)
    data = ordering.BookEventsInput(
        user_id=users.athlete,
        event_ids=[event],
        payment_method=ordering.PaymentMethodInput(type=PaymentType.Cash),
    )
    view = await ordering.book_events(_ctx(users.athlete, Role.athlete, booked_at, settings), data)
    booking = view.bookings[0].booking_id
    athlete_now = _ctx(users.athlete, Role.athlete, NOW, settings)
    if state == "in_dispute":
        await lifecycle.open_dispute(athlete_now, booking, "It was cut short.")
    if state == "canceled":
        cancel = lifecycle.CancelInput(booking, CancellationReasonCode.NoTime)
        await lifecycle.cancel_booking(athlete_now, cancel)
    return World(event, booking)


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: await model.all().order_by("id").values()
        for model in (Event, Order, Booking, BookingHistory)
    }


# --------------------------------------------------------------------------------------------
# The operations


@dataclass
class Cell:
    client: httpx.AsyncClient
    users: Any
    party: str
    world: World

    @property
    def headers(self) -> dict[str, str]:
        if self.party == "anonymous":
            return {}
        return self.users.headers(getattr(self.users, self.party), ROLE[self.party])

    @property
    def me(self) -> uuid.UUID:
        """The caller's id (the anonymous caller claims to be the athlete)."""
        return self.users.athlete if self.party == "anonymous" else getattr(self.users, self.party)

    @property
    def athlete(self) -> str:
        return str(self.users.athlete)

    @property
    def booking(self) -> str:
        return str(self.world.booking)

    async def rest(self, method: str, path: str, **kwargs: Any) -> int:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        r = await self.client.request(method, "/v1" + path, headers=headers, **kwargs)
        return r.status_code

    async def graphql(self, field: str, params: str, args: str, **variables: Any) -> Expected:
        """Run `field(args)` with `params` declared; the outcome as MATRIX spells it."""
        kind = "query" if field in ("booking", "bookings", "bookingOrders") else "mutation"
        query = f"{kind} Cell({params}) {{ {field}({args}) {{ __typename }} }}"
        r = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        if r.status_code != 200:
            return r.status_code
        body = r.json()
        if body.get("errors"):
            codes = sorted({str(e.get("extensions", {}).get("code")) for e in body["errors"]})
            return "error:" + ",".join(codes)
        result = body["data"][field]
        return None if result is None else result["__typename"]


Run = Callable[[Cell], Awaitable[Expected]]


@dataclass(frozen=True)
class Operation:
    state: str
    run: Run


ID = "$id: UUID!"
USER = "$userId: UUID!"

OPERATIONS: dict[str, Operation] = {
    "GET /bookings/{bookingId}": Operation(
        "ahead", lambda c: c.rest("GET", f"/bookings/{c.booking}")
    ),
    "GET /bookings?userId=athlete": Operation(
        "ahead", lambda c: c.rest("GET", "/bookings", params={"userId": c.athlete})
    ),
    "GET /bookings?eventId=event": Operation(
        "ahead", lambda c: c.rest("GET", "/bookings", params={"eventId": str(c.world.event)})
    ),
    "GET /bookings/orders?userId=athlete": Operation(
        "ahead", lambda c: c.rest("GET", "/bookings/orders", params={"userId": c.athlete})
    ),
    "POST /bookings userId=athlete": Operation(
        "fresh",
        lambda c: _status(book(c.client, c.headers, c.users.athlete, c.world.event)),
    ),
    "PATCH /bookings/{bookingId}/completed": Operation(
        "ended",
        lambda c: c.rest("PATCH", f"/bookings/{c.booking}/completed", json={"completed": True}),
    ),
    "PATCH /bookings/{bookingId}/note": Operation(
        "ended", lambda c: c.rest("PATCH", f"/bookings/{c.booking}/note", json={"note": "Good."})
    ),
    "POST /bookings/{bookingId}/dismiss?userId=athlete": Operation(
        "canceled",
        lambda c: c.rest("POST", f"/bookings/{c.booking}/dismiss", params={"userId": c.athlete}),
    ),
    "DELETE /users?userId=athlete": Operation(
        "ahead",
        lambda c: c.rest(
            "DELETE",
            "/users",
            params={"userId": c.athlete},
            headers={"x-current-user-id": str(c.me)},
        ),
    ),
    "booking": Operation(
        "ahead", lambda c: c.graphql("booking", ID, "bookingId: $id", id=c.booking)
    ),
    "bookings(userId: athlete)": Operation(
        "ahead", lambda c: c.graphql("bookings", USER, "userId: $userId", userId=c.athlete)
    ),
    "bookingOrders(userId: athlete)": Operation(
        "ahead", lambda c: c.graphql("bookingOrders", USER, "userId: $userId", userId=c.athlete)
    ),
    "bookEvents(userId: athlete)": Operation(
        "fresh",
        lambda c: c.graphql(
            "bookEvents",
            f"{USER}, $eventIds: [UUID!]!",
            "userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash}",
            userId=c.athlete,
            eventIds=[str(c.world.event)],
        ),
    ),
    "upsertEvents": Operation(
        "fresh",
        lambda c: c.graphql(
            "upsertEvents",
            "$events: [EventInput!]!",
            "events: $events",
            events=[event_json(coach=c.users.coach, start=NOW + 2 * DAY)],
        ),
    ),
    "cancelEvent": Operation(
        "ahead",
        lambda c: c.graphql("cancelEvent", ID, "eventId: $id", id=str(c.world.event)),
    ),
    "acceptBooking": Operation(
        "pending", lambda c: c.graphql("acceptBooking", ID, "bookingId: $id", id=c.booking)
    ),
    "rejectBooking": Operation(
        "pending", lambda c: c.graphql("rejectBooking", ID, "bookingId: $id", id=c.booking)
    ),
    "cancelBooking": Operation(
        "ahead",
        lambda c: c.graphql(
            "cancelBooking", ID, "bookingId: $id, reasonCode: NotFeelingWell", id=c.booking
        ),
    ),
    "openDispute": Operation(
        "ended",
        lambda c: c.graphql(
            "openDispute", ID, 'bookingId: $id, reason: "Too short."', id=c.booking
        ),
    ),
    "resolveDispute": Operation(
        "in_dispute",
        lambda c: c.graphql(
            "resolveDispute", ID, 'bookingId: $id, resolution: "Refunded."', id=c.booking
        ),
    ),
    "markBookingAsCompleted": Operation(
        "ended",
        lambda c: c.graphql(
            "markBookingAsCompleted", ID, "bookingId: $id, completed: true", id=c.booking
        ),
    ),
    "addBookingNote": Operation(
        "ended",
        lambda c: c.graphql("addBookingNote", ID, 'bookingId: $id, note: "Good."', id=c.booking),
    ),
    "dismissBooking(userId: athlete)": Operation(
        "canceled",
        lambda c: c.graphql(
            "dismissBooking",
            f"{ID}, {USER}",
            "bookingId: $id, userId: $userId",
            id=c.booking,
            userId=c.athlete,
        ),
    ),
    "deleteUserFromBookings(userId: athlete)": Operation(
        "ahead",
        lambda c: c.graphql(
            "deleteUserFromBookings", "$userId: UUID", "userId: $userId", userId=c.athlete
        ),
    ),
}


async def _status(response: Awaitable[httpx.Response]) -> int:
    return (await response).status_code


def _slug(operation: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", operation).strip("_")


def test_matrix_covers_every_operation_and_party():
    assert set(MATRIX) == set(OPERATIONS)
    for operation, row in MATRIX.items():
        assert tuple(row) == PARTIES, operation


@pytest.mark.parametrize(
    ("operation", "party"),
    [(operation, party) for operation in MATRIX for party in PARTIES],
    ids=[f"{_slug(operation)}-{party}" for operation in MATRIX for party in PARTIES],
)
async def test_cell(client, users, settings, operation, party):
    spec = OPERATIONS[operation]
    expected = MATRIX[operation][party]
    world = await make_world(settings, users, spec.state)
    before = await snapshot()

    outcome = await spec.run(Cell(client, users, party, world))

    assert outcome == expected
    if expected not in ALLOWED:
        assert await snapshot() == before  # a refusal writes nothing
