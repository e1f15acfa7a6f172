"""PostgreSQL going away under load, for real: a served process, its connections cut.

The server is shared, so it is never stopped here. The service reaches PostgreSQL through a TCP
proxy of this test, which can `cut` (close every connection and refuse new ones: what clients
see when PostgreSQL stops), `blackhole` (accept and forward nothing: a hung or unreachable
host) and `restore`. A third test kills the service's backends with `pg_terminate_backend`.

Under concurrent orders and reads, every request gets its answer or 503 `unexpected` in the
contract's body with Retry-After — never a 500 or a hang: at once when PostgreSQL refuses, within
about twice the configured timeout when it hangs (the statement, then its cancel request). No
order is ever half-written, and the same process serves again when PostgreSQL is back. Elapsed
times are measured (monotonic clock) and bounded; waits poll for a condition under a deadline,
nothing sleeps for correctness.

Also here, without a server: the pool's own limits (waiting for a connection, a statement), and
how the app answers a database failure.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from tortoise.exceptions import OperationalError

from leko_bookings.app import create_app
from leko_bookings.auth import mint_token
from leko_bookings.db import BoundedAsyncpgClient, tortoise_config
from leko_bookings.settings import Settings
from tests.conftest import (
    SECRET,
    create_pg_database,
    drop_pg_database,
    migrate_with_cli,
    pg_url,
)
from tests.contract import validate
from tests.factories import event_json, order_body
from tests.live_server import free_port, live_server

TIMEOUT = 2.0  # LEKO_DATABASE_TIMEOUT_SECONDS of the served process
CLIENTS = 8  # concurrent clients, each alternating an order and a read
POOL = 10  # the service's pool size (maxsize)
UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename ... on Error { message } }
}
"""


# --- The proxy ------------------------------------------------------------------------------


class PgProxy:
    """127.0.0.1:<port> → PostgreSQL, on an event loop of its own thread (the test's loop and
    the served process stay independent of it)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.mode = "open"
        self.flowing = asyncio.Event()
        self.writers: set[asyncio.StreamWriter] = set()

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def start(self) -> None:
        self.thread.start()
        self._run(self._restore())

    def stop(self) -> None:
        self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def cut(self) -> None:
        """PostgreSQL stopped: every connection closed, new ones refused."""
        self._run(self._cut())

    def blackhole(self) -> None:
        """PostgreSQL unreachable: connections accepted, nothing forwarded either way."""
        self._run(self._blackhole())

    def restore(self) -> None:
        self._run(self._restore())

    async def _close_all(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _cut(self) -> None:
        self.mode = "cut"
        if self.server is not None:
            self.server.close()
            self.server = None
        await self._close_all()

    async def _stop(self) -> None:
        await self._cut()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _blackhole(self) -> None:
        self.mode = "blackhole"
        self.flowing.clear()

    async def _restore(self) -> None:
        await self._close_all()  # connections held by the blackhole are broken for good
        self.mode = "open"
        self.flowing.set()
        if self.server is None:
            self.server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        if self.mode == "blackhole":
            while await reader.read(65536):
                pass  # swallowed; the client waits for an answer that never comes
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        if self.mode != "open" or writer not in self.writers:
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self.writers.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()  # a blackhole holds the bytes
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self.writers.discard(writer)


# --- The served process ---------------------------------------------------------------------


@dataclass
class Service:
    url: str
    database: str  # a direct URL (not through the proxy), for checking the rows
    proxy: PgProxy
    log: Path


@asynccontextmanager
async def served_through_proxy(
    folder: Path, database_timeout: float, query: str = ""
) -> AsyncIterator[Service]:
    """A served process on a fresh PostgreSQL database, reached through a `PgProxy` (its URL's
    `query`, e.g. the pool size), with LEKO_DATABASE_TIMEOUT_SECONDS `database_timeout`."""
    name = f"leko_outage_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    direct = urlsplit(pg_url(name))._replace(query="")
    proxy = PgProxy(direct.hostname or "127.0.0.1", direct.port or 5432)
    try:
        migrate_with_cli(urlunsplit(direct))
        proxy.start()
        through_proxy = direct._replace(
            netloc=f"{direct.username}@127.0.0.1:{proxy.port}", query=query
        )
        env = {
            "LEKO_DATABASE_URL": urlunsplit(through_proxy),
            "LEKO_DATABASE_TIMEOUT_SECONDS": str(database_timeout),
            "LEKO_JWT_SECRET": SECRET,
        }
        log = folder / "server.log"
        with live_server(env, "--no-migrate", log=log) as url:
            yield Service(url, urlunsplit(direct._replace(scheme="postgresql")), proxy, log)
    finally:
        proxy.stop()
        await drop_pg_database(name)


@pytest.fixture(scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("outage")
    async with served_through_proxy(folder, TIMEOUT, f"maxsize={POOL}") as served:
        yield served


def bearer(user: uuid.UUID, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), user, [role])}"}


async def publish_two_events(client: httpx.AsyncClient) -> list[uuid.UUID]:
    """Two events at different hours, room for every order of a test."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    coach = uuid.uuid4()
    events = [
        event_json(coach=coach, start=start + timedelta(hours=2 * i), capacity=100_000)
        for i in range(2)
    ]
    r = await client.post(
        "/graphql",
        json={"query": UPSERT, "variables": {"events": events}},
        headers=bearer(uuid.uuid4(), "scheduler"),
    )
    assert r.json()["data"]["upsertEvents"]["__typename"] == "UpsertEventsSuccess", r.text
    return [uuid.UUID(e["eventId"]) for e in events]


# --- Load and its record --------------------------------------------------------------------


@dataclass
class Call:
    kind: str  # "order", "read" or "graphql"
    started: float
    elapsed: float
    response: httpx.Response | None  # None: no answer (`error` says why)
    error: str = ""

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    @property
    def ok(self) -> bool:
        return self.status == (201 if self.kind == "order" else 200)


@dataclass
class Load:
    """CLIENTS loops, each: order both events as a new athlete, then read that athlete's list."""

    client: httpx.AsyncClient
    events: list[uuid.UUID]
    calls: list[Call] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def timed(self, kind: str, request: Awaitable[httpx.Response]) -> Call:
        started = time.monotonic()
        try:
            response: httpx.Response | None = await request
            error = ""
        except httpx.TransportError as exc:  # the client's timeout (30 s), a dropped connection
            response, error = None, repr(exc)
        call = Call(kind, started, time.monotonic() - started, response, error)
        self.calls.append(call)
        return call

    async def _client(self) -> None:
        while not self.stop.is_set():
            user = uuid.uuid4()
            headers = bearer(user, "athlete")
            body = order_body(user, *self.events)
            await self.timed("order", self.client.post("/v1/bookings", json=body, headers=headers))
            params = {"userId": str(user)}
            await self.timed(
                "read", self.client.get("/v1/bookings", params=params, headers=headers)
            )

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._client()) for _ in range(CLIENTS)]

    async def halt(self) -> None:
        """Stop, and wait for every request in flight to be answered."""
        self.stop.set()
        await asyncio.gather(*self.tasks)

    async def until(self, condition: Callable[[], bool], deadline: float = 60.0) -> None:
        """Wait (polling, with a deadline) until the record satisfies `condition`."""
        limit = time.monotonic() + deadline
        while not condition():
            if time.monotonic() > limit:
                seen = Counter((c.kind, c.status, c.error[:60]) for c in self.calls)
                pytest.fail(f"the load never got there; so far: {dict(seen)}")
            await asyncio.sleep(0.02)

    def since(self, moment: float) -> list[Call]:
        return [c for c in self.calls if c.started >= moment]

    def served(self, since: float = 0.0, kind: str = "order") -> int:
        return sum(c.ok for c in self.since(since) if c.kind == kind)


@pytest.fixture
async def load(service: Service) -> AsyncIterator[Load]:
    async with httpx.AsyncClient(
        base_url=service.url, timeout=30, limits=httpx.Limits(max_connections=CLIENTS + 2)
    ) as client:
        state = Load(client, await publish_two_events(client))
        state.start()
        try:
            yield state
        finally:
            await state.halt()


def assert_unavailable(call: Call, bound: float) -> None:
    """503 `unexpected` in the contract's body, with Retry-After, within `bound` seconds."""
    assert call.response is not None, f"{call.kind} got no answer: {call.error}"
    r = call.response
    assert r.status_code == 503, (call.kind, r.status_code, r.text)
    assert r.headers["retry-after"] == "1"
    [error] = r.json()["errors"]
    assert error["code"] == "unexpected"
    assert error["endpoint"] == ("POST /bookings" if call.kind == "order" else "GET /bookings")
    assert error["requestId"] == r.headers["x-request-id"]
    validate(r)
    assert call.elapsed <= bound, f"{call.kind} took {call.elapsed:.2f} s"


def assert_served_or_unavailable(call: Call, bound: float) -> None:
    """A request caught in the middle: its normal answer, or the 503."""
    if not call.ok:
        assert_unavailable(call, bound)


async def graphql_read(load: Load) -> Call:
    user = uuid.uuid4()
    query = {"query": f'{{ bookings(userId: "{user}") {{ nodes {{ bookingId }} }} }}'}
    headers = bearer(user, "athlete")
    return await load.timed("graphql", load.client.post("/graphql", json=query, headers=headers))


async def assert_no_order_half_written(service: Service, calls: list[Call], events: int) -> int:
    """Every order holds all its bookings, each with its history entry and its outbox row, and
    every order answered 201 is there. Returns the number of orders."""
    conn = await asyncpg.connect(service.database)
    try:
        sizes = dict(
            await conn.fetch(
                "SELECT o.id, count(b.id) FROM booking_order o "
                "LEFT JOIN booking b ON b.order_id = o.id GROUP BY o.id"
            )
        )
        incomplete = await conn.fetchval(
            "SELECT count(*) FROM booking b WHERE NOT EXISTS "
            "(SELECT 1 FROM booking_history h WHERE h.booking_id = b.id) OR NOT EXISTS "
            "(SELECT 1 FROM notification n WHERE n.booking_id = b.id AND n.rule = 'bookingCreated')"
        )
    finally:
        await conn.close()
    assert set(sizes.values()) <= {events}, "an order without all its bookings"
    assert incomplete == 0, "a booking without its history entry or its notification"
    created = {
        uuid.UUID(c.response.json()["orderId"])
        for c in calls
        if c.kind == "order" and c.ok and c.response is not None
    }
    assert created <= set(sizes), "an order answered 201 is missing"
    return len(sizes)


def assert_no_stack_in_log(service: Service) -> None:
    """Each REST 503 is one warning line: no 500 (`unexpected error on ...`), and no exception
    escaping to the server (which logs its stack and drops the client's connection)."""
    text = service.log.read_text()
    assert "Exception in ASGI application" not in text
    assert "unexpected error on" not in text


async def outage_then_recovery(
    service: Service, load: Load, go_away: Callable[[], None], bound: float
) -> dict[str, float]:
    """Under load: the database goes away, every request answers 503 within `bound`; it comes
    back, the same process serves again. Returns the measured times."""
    await load.until(lambda: load.served() >= 2 * CLIENTS)
    going = time.monotonic()
    go_away()
    gone = time.monotonic()
    # Three requests per client, all started once the database was away.
    await load.until(lambda: len(load.since(gone)) >= 3 * CLIENTS)
    graphql = await graphql_read(load)
    during = [c for c in load.since(gone) if c.kind != "graphql"]
    for call in during:
        assert_unavailable(call, bound)
    for call in load.calls:
        if going - bound <= call.started < gone:  # in flight when it went away
            assert_served_or_unavailable(call, bound)
    # GraphQL answers as REST does: 503 with Retry-After (tests/test_graphql_edges.py), within
    # the same bound.
    assert graphql.status == 503
    assert graphql.response is not None
    assert graphql.response.headers["retry-after"] == "1"
    assert graphql.response.json()["errors"][0]["extensions"]["code"] == "unexpected"
    assert graphql.elapsed <= bound

    service.proxy.restore()
    back = time.monotonic()
    # The same process serves again, without a restart.
    await load.until(lambda: load.served(since=back) >= 2 * CLIENTS)
    await load.halt()
    after = load.since(back)
    first_ok = min(c.started + c.elapsed for c in after if c.ok)
    for call in after:
        assert_served_or_unavailable(call, bound)
    assert all(c.ok for c in after if c.started > first_ok), "a failure once serving again"
    return {
        "slowest_503": max(c.elapsed for c in during),
        "served_again_after": first_ok - back,
        "requests_while_away": len(during),
    }


# --- The tests ------------------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_postgres_stopped_under_load_fails_fast_and_recovers(service, load):
    # Refused connections fail at once: not even the timeout is waited for.
    measured = await outage_then_recovery(service, load, service.proxy.cut, bound=TIMEOUT)
    orders = await assert_no_order_half_written(service, load.calls, len(load.events))
    assert orders >= 4 * CLIENTS
    assert_no_stack_in_log(service)
    print(f"\nPostgreSQL stopped: {measured}")


@pytest.mark.postgres_only
async def test_postgres_unreachable_under_load_times_out_and_recovers(service, load):
    # A hung statement waits the timeout, then its cancel request waits at most as long.
    bound = 2 * TIMEOUT + 2
    measured = await outage_then_recovery(service, load, service.proxy.blackhole, bound)
    assert measured["slowest_503"] >= TIMEOUT * 0.9  # they did wait: the database hung
    await assert_no_order_half_written(service, load.calls, len(load.events))
    assert_no_stack_in_log(service)
    print(f"\nPostgreSQL unreachable: {measured}")


@pytest.mark.postgres_only
async def test_backends_terminated_under_load_recover(service, load):
    await load.until(lambda: load.served() >= 2 * CLIENTS)
    conn = await asyncpg.connect(service.database)
    try:
        database = service.database.rsplit("/", 1)[1]
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    assert killed >= 1
    killed_at = time.monotonic()
    await load.until(lambda: load.served(since=killed_at) >= 2 * CLIENTS)
    await load.halt()
    for call in load.calls:
        assert_served_or_unavailable(call, TIMEOUT)
    # Only requests that were using a killed connection failed: one per pooled connection.
    failed = [c for c in load.calls if not c.ok]
    assert len(failed) <= POOL, failed
    orders = await assert_no_order_half_written(service, load.calls, len(load.events))
    assert orders >= 4 * CLIENTS
    assert_no_stack_in_log(service)
    print(f"\nterminated {killed} backends: {len(failed)} requests answered 503")


# --- Without a server -----------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_the_pool_bounds_waiting_for_a_connection_and_a_statement(service):
    """The served app's client: with every connection taken, acquiring gives up after the
    timeout (asyncpg alone waits forever); a statement past it is cancelled; the pool goes on."""
    timeout = 1.0
    config = tortoise_config(f"{service.database}?maxsize=1", timeout=timeout)
    client = BoundedAsyncpgClient(
        connection_name="probe", **config["connections"]["default"]["credentials"]
    )
    try:
        async with client.acquire_connection() as held:
            assert await held.fetchval("SELECT 1") == 1
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with client.acquire_connection():
                    pass
            waited = time.monotonic() - started
            assert timeout * 0.9 <= waited <= timeout + 2
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.execute_query("SELECT pg_sleep(30)")
        assert time.monotonic() - started <= timeout + 2
        assert await client.execute_query_dict("SELECT 2 AS two") == [{"two": 2}]
    finally:
        await client.close()


def probe_app() -> FastAPI:
    app = create_app(Settings(jwt_secret=SECRET), manage_database=False)

    @app.get("/v1/probe/refused")
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    @app.get("/v1/probe/bad-sql")
    async def bad_sql() -> None:
        raise OperationalError("syntax error at or near FORM")

    @app.get("/v1/probe/missing-file")
    async def missing_file() -> None:
        raise FileNotFoundError(2, "No such file or directory", "rules.json")

    return app


async def test_a_database_failure_is_a_503_that_does_not_escape_to_the_server():
    """Answered by its own handler: nothing re-raised to the server (which would log a stack
    and drop the client's keep-alive connection); `raise_app_exceptions` would raise it here."""
    transport = httpx.ASGITransport(app=probe_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/v1/probe/refused")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    [error] = r.json()["errors"]
    assert error["code"] == "unexpected"
    assert error["endpoint"] == "GET /probe/refused"


@pytest.mark.parametrize("probe", ["bad-sql", "missing-file"])
async def test_other_failures_of_those_types_stay_500(probe):
    transport = httpx.ASGITransport(app=probe_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get(f"/v1/probe/{probe}")
    assert r.status_code == 500
    assert "retry-after" not in r.headers
    assert r.json()["errors"][0]["code"] == "internal"
