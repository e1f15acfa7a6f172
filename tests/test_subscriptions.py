"""Live subscriptions over WebSocket (`graphql-transport-ws`) against real `leko-bookings serve`
processes: on PostgreSQL two processes on one database (subscribe on one, change through the
other), on SQLite one. Waits are for what the server sends, each bounded by a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from leko_bookings.auth import mint_token
from leko_bookings.settings import Settings
from leko_bookings.store.changes import APPLICATION_NAME
from tests.conftest import (
    PG_ADMIN_DSN,
    SECRET,
    create_pg_database,
    drop_pg_database,
    pg_url,
    run_cli,
)
from tests.factories import event_json, order_body
from tests.live_server import live_server

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename ... on Error { message } }
}
"""
SEATS = """
subscription Seats($ids: [UUID!]!) {
  eventAvailability(eventIds: $ids) { eventId seatsTaken seatsLeft }
}
"""
ARRIVES_WITHIN = 1.0  # the bound for a change to reach a subscriber
# The request limit too: each operation over a socket takes a token (3 at once, then 1 a minute);
# no test below starts more than 3 operations as one user but the one about that limit.
LIMITS = {
    "LEKO_SOCKETS_PER_USER": "2",
    "LEKO_SUBSCRIPTIONS_PER_SOCKET": "2",
    "LEKO_RATE_LIMIT_PER_MINUTE": "1",
    "LEKO_RATE_LIMIT_BURST": "3",
}
ALLOWED_ORIGIN = "https://calendar.example.com"


def token(user: uuid.UUID, role: str, ttl: timedelta = timedelta(hours=1)) -> str:
    now = datetime.now(UTC)
    return mint_token(Settings(jwt_secret=SECRET), user, [role], ttl=ttl, now=now)


def bearer(user: uuid.UUID, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, role)}"}


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str, str]]:
    """(URL to subscribe on, URL to change through, database name or "sqlite", database URL):
    two processes on PostgreSQL."""
    env = {"LEKO_JWT_SECRET": SECRET, "LEKO_WEBSOCKET_ORIGINS": ALLOWED_ORIGIN, **LIMITS}
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("subs") / "live.sqlite3"
        env["LEKO_DATABASE_URL"] = f"sqlite://{path}"  # path is absolute
        with live_server(env) as url:
            yield url, url, "sqlite", env["LEKO_DATABASE_URL"]
        return
    name = f"leko_subs_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_pg_database(name))
    env["LEKO_DATABASE_URL"] = pg_url(name).replace("maxsize=60", "maxsize=10")
    try:
        with live_server(env) as first, live_server(env, "--no-migrate") as second:
            yield first, second, name, env["LEKO_DATABASE_URL"]
    finally:
        asyncio.run(drop_pg_database(name))


@contextmanager
def skipping_sqlite(dialect: str) -> Iterator[None]:
    if dialect == "sqlite":
        pytest.skip("PostgreSQL only: several processes")
    yield


async def publish(
    url: str, capacity: int = 5, coach: uuid.UUID | None = None, public: bool = True
) -> uuid.UUID:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(
        days=2, hours=uuid.uuid4().int % 500
    )
    event = event_json(coach=coach or uuid.uuid4(), start=start, capacity=capacity, public=public)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post(
            "/graphql",
            json={"query": UPSERT, "variables": {"events": [event]}},
            headers=bearer(uuid.uuid4(), "scheduler"),
        )
    assert (r.json().get("data") or {}).get("upsertEvents", {}).get("__typename") == (
        "UpsertEventsSuccess"
    ), r.text
    return uuid.UUID(event["eventId"])


async def book(url: str, event_id: uuid.UUID, athlete: uuid.UUID | None = None) -> uuid.UUID:
    """A new order for the event (REST): its booking's id."""
    athlete = athlete or uuid.uuid4()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post(
            "/v1/bookings", json=order_body(athlete, event_id), headers=bearer(athlete, "athlete")
        )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["bookings"][0]["bookingId"])


@asynccontextmanager
async def socket(url: str, payload: dict[str, Any] | None) -> AsyncIterator[ClientConnection]:
    """A WebSocket to /graphql that sent `connection_init` with `payload` (not yet acked)."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        yield ws


async def receive(ws: ClientConnection, within: float = ARRIVES_WITHIN) -> dict[str, Any]:
    """The next message that is not a ping or a pong."""
    async with asyncio.timeout(within):
        while True:
            frame = await ws.recv()
            assert isinstance(frame, str), frame  # text frames, as the protocol has them
            message = json.loads(frame)
            if message["type"] not in ("ping", "pong"):
                return message


@asynccontextmanager
async def signed_in(
    url: str, user: uuid.UUID | None = None, role: str = "athlete"
) -> AsyncIterator[ClientConnection]:
    auth = {"Authorization": f"Bearer {token(user or uuid.uuid4(), role)}"}
    async with socket(url, auth) as ws:
        assert (await receive(ws, 5))["type"] == "connection_ack"
        yield ws


async def subscribe(ws: ClientConnection, op: str, ids: list[uuid.UUID]) -> None:
    payload = {"query": SEATS, "variables": {"ids": [str(i) for i in ids]}}
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))


def seats(message: dict[str, Any]) -> tuple[int, int]:
    assert message["type"] == "next", message
    data = message["payload"]["data"]["eventAvailability"]
    return data["seatsTaken"], data["seatsLeft"]


async def closed_with(ws: ClientConnection, within: float = 5.0) -> int | None:
    async with asyncio.timeout(within):
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


# -- event availability ------------------------------------------------------------------------


async def terminate_listeners(database: str) -> None:
    """pg_terminate_backend on each server process's listener connection."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        listeners = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            database,
            APPLICATION_NAME,
        )
        assert len(listeners) == 2  # one per process
        for row in listeners:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", row["pid"])
    finally:
        await admin.close()


async def test_seats_now_then_each_change_made_through_another_process(servers):
    subscribe_on, change_through, _, _ = servers
    event = await publish(change_through, capacity=3)
    async with signed_in(subscribe_on) as ws:
        await subscribe(ws, "1", [event])
        assert seats(await receive(ws, 5)) == (0, 3)
        await book(change_through, event)
        assert seats(await receive(ws)) == (1, 2)
        await book(change_through, event)
        assert seats(await receive(ws)) == (2, 1)


async def test_a_change_made_while_the_listener_is_down_arrives_once(servers):
    subscribe_on, change_through, database, _ = servers
    with skipping_sqlite(database):
        event = await publish(change_through)
        async with signed_in(subscribe_on) as ws:
            await subscribe(ws, "1", [event])
            assert seats(await receive(ws, 5)) == (0, 5)
            await terminate_listeners(database)
            await book(change_through, event)  # while the listeners reconnect
            assert seats(await receive(ws, 3)) == (1, 4)
            with pytest.raises(TimeoutError):  # once: nothing more comes
                await receive(ws, 1.5)


async def test_other_events_changes_are_not_sent(servers):
    subscribe_on, change_through, _, _ = servers
    mine, other = await publish(change_through), await publish(change_through)
    async with signed_in(subscribe_on) as ws:
        await subscribe(ws, "1", [mine])
        assert seats(await receive(ws, 5)) == (0, 5)
        await book(change_through, other)
        await book(change_through, mine)
        message = await receive(ws)
        assert message["payload"]["data"]["eventAvailability"]["eventId"] == str(mine)
        assert seats(message) == (1, 4)


async def test_more_than_100_events_is_an_error(servers):
    subscribe_on, _, _, _ = servers
    async with signed_in(subscribe_on) as ws:
        await subscribe(ws, "1", [uuid.uuid4() for _ in range(101)])
        message = await receive(ws, 5)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "between 1 and 100" in json.dumps(errors)
        assert errors[0]["extensions"]["code"] == "validation"


# -- the caller ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {token(uuid.uuid4(), 'athlete', timedelta(seconds=-5))}"},
    ],
    ids=["no-payload", "no-token", "bad-token", "expired-token"],
)
async def test_no_bad_or_expired_token_closes_4403(servers, payload):
    subscribe_on, _, _, _ = servers
    async with socket(subscribe_on, payload) as ws:
        assert await closed_with(ws) == 4403


async def test_the_server_closes_the_socket_when_its_token_expires(servers):
    subscribe_on, _, _, _ = servers
    auth = {"Authorization": f"Bearer {token(uuid.uuid4(), 'athlete', timedelta(seconds=2))}"}
    async with socket(subscribe_on, auth) as ws:
        assert (await receive(ws, 5))["type"] == "connection_ack"
        assert await closed_with(ws, 10) == 4403


async def test_sockets_per_user_and_subscriptions_per_socket_are_bounded(servers):
    subscribe_on, change_through, _, _ = servers
    user = uuid.uuid4()
    event = await publish(change_through)
    async with signed_in(subscribe_on, user) as first, signed_in(subscribe_on, user):
        auth = {"Authorization": f"Bearer {token(user, 'athlete')}"}
        async with socket(subscribe_on, auth) as third:  # LEKO_SOCKETS_PER_USER=2
            assert await closed_with(third) == 4403
        for op in ("1", "2"):
            await subscribe(first, op, [event])
            assert seats(await receive(first, 5)) == (0, 5)
        await subscribe(first, "3", [event])  # LEKO_SUBSCRIPTIONS_PER_SOCKET=2
        message = await receive(first, 5)
        assert message["type"] == "error"
        assert "limit" in json.dumps(message["payload"]).lower()


async def test_a_client_that_takes_no_message_is_closed_not_queued(monkeypatch):
    """The server's side of a slow consumer: a message the socket cannot take within
    SEND_SECONDS closes it (1008) and ends the operation."""
    from starlette.websockets import WebSocket
    from strawberry.http.exceptions import WebSocketDisconnected

    from leko_bookings.schema import endpoint

    closed: list[tuple[int, str]] = []

    class Stuck(WebSocket):
        def __init__(self) -> None:  # no ASGI connection: only what the adapter calls
            pass

        async def send_text(self, data: str) -> None:
            await asyncio.Event().wait()  # the client never reads

        async def close(self, code: int = 1000, reason: str | None = None) -> None:
            closed.append((code, reason or ""))

    monkeypatch.setattr(endpoint, "SEND_SECONDS", 0.05)
    stuck = Stuck()
    adapter = endpoint.TextWebSocketAdapter(None, stuck, stuck)  # type: ignore[arg-type]
    with pytest.raises(WebSocketDisconnected):
        await adapter.send_json({"type": "next", "id": "1", "payload": {}})
    assert closed == [(1008, "Slow consumer")]


async def test_pages_on_other_origins_need_to_be_allowed(servers):
    """A browser page elsewhere (LEKO_WEBSOCKET_ORIGINS) may open the socket; others are refused
    at the handshake (403); clients that send no Origin (not browsers) may."""
    subscribe_on, _, _, _ = servers
    ws_url = subscribe_on.replace("http://", "ws://") + "/graphql"
    protocols: Any = ["graphql-transport-ws"]
    async with connect(ws_url, subprotocols=protocols, origin=ALLOWED_ORIGIN):  # type: ignore[arg-type]
        pass
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url, subprotocols=protocols, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


async def test_each_operation_over_a_socket_is_a_request_of_its_caller(servers):
    """Operations over a WebSocket take the caller's request limit as HTTP requests do: with
    a burst of 3, the fourth is refused (`tooManyRequests`, `retryAfter`), subscription or
    query alike; the socket stays open."""
    subscribe_on, change_through, _, _ = servers
    event = await publish(change_through)
    user = uuid.uuid4()
    async with signed_in(subscribe_on, user) as first, signed_in(subscribe_on, user) as second:
        for ws, op in ((first, "1"), (first, "2"), (second, "1")):
            await subscribe(ws, op, [event])
            assert seats(await receive(ws, 5)) == (0, 5)
        query = {"query": "{ __typename }"}
        await second.send(json.dumps({"id": "2", "type": "subscribe", "payload": query}))
        message = await receive(second, 5)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "tooManyRequests"
        assert message["payload"][0]["extensions"]["retryAfter"] >= 1
        await book(change_through, event)  # the open subscriptions still answer
        assert seats(await receive(first)) == (1, 4)


# -- calendar changes ----------------------------------------------------------------------------

CHANGES = """
subscription {
  calendarChanges { kind at booking { bookingId userId coachId bookingStatus startAt } }
}
"""
ACCEPT = """
mutation Accept($id: UUID!) {
  acceptBooking(bookingId: $id) { __typename ... on Booking { bookingStatus } }
}
"""


async def following_changes(ws: ClientConnection, event: uuid.UUID) -> None:
    """Subscribe to calendarChanges ("c"), then to the event's seats ("s"), and wait for the
    seats: the server has then taken the first subscription (its start is the moment it did),
    so a change made from here on is sent. Two of the caller's three requests."""
    payload = {"query": CHANGES}
    await ws.send(json.dumps({"id": "c", "type": "subscribe", "payload": payload}))
    await subscribe(ws, "s", [event])
    assert (await receive_for(ws, "s", 5))["type"] == "next"


async def receive_for(
    ws: ClientConnection, op: str, within: float = ARRIVES_WITHIN
) -> dict[str, Any]:
    """The next message of operation `op` (others' are passed over)."""
    async with asyncio.timeout(within):
        while (message := await receive(ws, within))["id"] != op:
            pass
    return message


async def change(ws: ClientConnection, within: float = ARRIVES_WITHIN) -> dict[str, Any]:
    message = await receive_for(ws, "c", within)
    assert message["type"] == "next", message
    found: dict[str, Any] = message["payload"]["data"]["calendarChanges"]
    return found


async def test_athlete_and_coach_each_see_a_booking_made_and_accepted_elsewhere(servers):
    """Booked through REST on the other process, accepted through GraphQL there: the athlete
    and the coach, subscribed here, each receive Created then StatusChanged, within a second."""
    subscribe_on, change_through, _, _ = servers
    athlete, coach = uuid.uuid4(), uuid.uuid4()
    event = await publish(change_through, coach=coach, public=False)
    async with (
        signed_in(subscribe_on, athlete) as mine,
        signed_in(subscribe_on, coach, "coach") as coachs,
    ):
        await following_changes(mine, event)
        await following_changes(coachs, event)
        booking = await book(change_through, event, athlete)
        for ws in (mine, coachs):
            created = await change(ws)
            assert created["kind"] == "Created"
            assert created["booking"]["bookingId"] == str(booking)
            assert created["booking"]["bookingStatus"] == "Pending"
            assert (created["booking"]["userId"], created["booking"]["coachId"]) == (
                str(athlete),
                str(coach),
            )
        async with httpx.AsyncClient(base_url=change_through, timeout=30) as client:
            r = await client.post(
                "/graphql",
                json={"query": ACCEPT, "variables": {"id": str(booking)}},
                headers=bearer(coach, "coach"),
            )
        assert r.json()["data"]["acceptBooking"]["bookingStatus"] == "Accepted", r.text
        for ws in (mine, coachs):
            accepted = await change(ws)
            assert (accepted["kind"], accepted["booking"]["bookingStatus"]) == (
                "StatusChanged",
                "Accepted",
            )


def import_events(database_url: str, events: list[dict[str, Any]], folder: Path) -> None:
    """`leko-bookings events import` in its own process."""
    path = folder / f"events-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(events))
    run_cli(database_url, "events", "import", str(path))


async def test_an_event_moved_by_events_import_is_a_moved_change(servers, tmp_path):
    subscribe_on, change_through, _, database_url = servers
    athlete, coach = uuid.uuid4(), uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(
        days=3, hours=uuid.uuid4().int % 99
    )
    event = event_json(coach=coach, start=start)
    await asyncio.to_thread(import_events, database_url, [event], tmp_path)
    event_id = uuid.UUID(event["eventId"])
    async with signed_in(subscribe_on, athlete) as mine:
        await following_changes(mine, event_id)
        booking = await book(change_through, event_id, athlete)
        assert (await change(mine))["kind"] == "Created"
        later = start + timedelta(hours=2)
        moved_event = event_json(coach=coach, start=later, event_id=event_id)
        await asyncio.to_thread(import_events, database_url, [moved_event], tmp_path)
        moved = await change(mine)
        assert moved["kind"] == "Moved"
        assert moved["booking"]["bookingId"] == str(booking)
        assert datetime.fromisoformat(moved["booking"]["startAt"]) == later


async def test_a_booking_changed_while_the_listeners_are_down_arrives_once(servers):
    subscribe_on, change_through, database, _ = servers
    with skipping_sqlite(database):
        athlete = uuid.uuid4()
        event = await publish(change_through)
        async with signed_in(subscribe_on, athlete) as mine:
            await following_changes(mine, event)
            await terminate_listeners(database)
            booking = await book(change_through, event, athlete)  # while they reconnect
            created = await change(mine, 3)
            assert (created["kind"], created["booking"]["bookingId"]) == ("Created", str(booking))
            with pytest.raises(TimeoutError):  # once: nothing more comes
                await receive_for(mine, "c", 1.5)


async def test_a_subscriber_never_receives_someone_elses_booking(servers):
    """Another athlete's booking of the same event, made first, is not sent: the first change
    the subscriber receives is their own booking, and nothing follows."""
    subscribe_on, change_through, _, _ = servers
    me, other = uuid.uuid4(), uuid.uuid4()
    event = await publish(change_through)
    async with signed_in(subscribe_on, me) as mine:
        await following_changes(mine, event)
        await book(change_through, event, other)
        booking = await book(change_through, event, me)
        first = await change(mine)
        assert first["booking"]["bookingId"] == str(booking)
        assert first["booking"]["userId"] == str(me)
        with pytest.raises(TimeoutError):
            await receive_for(mine, "c", 1.5)
