"""Several hosts (issue 15): two service hosts, each `serve --workers 2`, behind HAProxy, through
one PgBouncer in transaction mode to PostgreSQL (tests/hosts.py builds it: network namespaces
joined by veth pairs, or loopback addresses where the machine refuses namespaces, with a warning
saying so). What holds on one host holds across them, and a host dying mid-load loses nothing
that was acknowledged and half-writes nothing.

Every server reaches the database only through PgBouncer: transaction mode for its statements
(asyncpg's statement cache off), a session-mode entry of the same PgBouncer for its LISTEN
connection. The servers migrate as they start, both hosts at once, through the pooler.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import SECRET, create_pg_database, drop_pg_database, pg_url
from tests.factories import event_json, order_body
from tests.hosts import (
    Balancer,
    Hosts,
    haproxy,
    requires_haproxy,
    serve_on,
    service_hosts,
    stopping,
    wait_until_up,
)
from tests.notify_runs import notify_process, seed_due_notifications
from tests.pgbouncer import Bouncer, pgbouncer, requires_pgbouncer
from tests.test_concurrency import bearer, gather_orders, outcomes, publish
from tests.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.postgres_only, requires_pgbouncer, requires_haproxy]

BURST, ORDER_BURST = 30, 20  # per user; refilled at 1 a minute, so not within a test
HOOK_SECRET = "hook-secret-" + "z" * 32
HOSTS = ("h1", "h2")


@dataclass(frozen=True)
class Cluster:
    url: str  # the balancer
    balancer: Balancer
    hosts: Hosts
    bouncer: Bouncer
    database: str
    log: Path

    @property
    def dsn(self) -> str:
        """Straight to PostgreSQL, for the test's own checks."""
        return pg_url(self.database).split("?")[0].replace("postgres://", "postgresql://", 1)

    def database_url(self, gateway: str, **query: str | int) -> str:
        """LEKO_DATABASE_URL as seen from a host: through PgBouncer, transaction mode."""
        return self.bouncer.url(self.database, host=gateway, statement_cache_size=0, **query)


@dataclass(frozen=True)
class Outcome:
    athlete: uuid.UUID
    status: int | str  # the HTTP status, or the name of the transport error
    body: Any
    host: str | None  # X-Served-By


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"leko_hosts_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_pg_database(name))
    try:
        yield name
    finally:
        asyncio.run(drop_pg_database(name))


@pytest.fixture(scope="module")
def cluster(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    log = tmp_path_factory.mktemp("hosts") / "servers.log"
    listen = f"{database}_listen"
    with contextlib.ExitStack() as stack:
        hosts = stack.enter_context(service_hosts(2))
        bouncer = stack.enter_context(
            pgbouncer(
                "transaction",
                listen=tuple(dict.fromkeys(("127.0.0.1", *hosts.gateways))),
                aliases={listen: f"dbname={database} pool_mode=session"},
            )
        )
        balancer = stack.enter_context(haproxy(hosts))
        cluster = Cluster(balancer.url, balancer, hosts, bouncer, database, log)
        stack.enter_context(stopping(hosts))
        for host in hosts.members:
            env = {
                **os.environ,
                "LEKO_DATABASE_URL": cluster.database_url(host.gateway, maxsize=10),
                "LEKO_LISTEN_DATABASE_URL": bouncer.url(listen, host=host.gateway),
                "LEKO_JWT_SECRET": SECRET,
                "LEKO_RATE_LIMIT_PER_MINUTE": "1",
                "LEKO_RATE_LIMIT_BURST": str(BURST),
                "LEKO_ORDER_RATE_LIMIT_PER_MINUTE": "1",
                "LEKO_ORDER_RATE_LIMIT_BURST": str(ORDER_BURST),
            }
            serve_on(host, env, log, "--workers", "2")
        wait_until_up(balancer, hosts, log)
        yield cluster


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60, limits=limits) as client:
        yield client


def served_by(responses: list[httpx.Response]) -> set[str]:
    return {r.headers["x-served-by"] for r in responses}


async def test_the_hosts_are_separate_and_reach_the_database_only_through_pgbouncer(cluster):
    """The setup the other tests rely on: two hosts up behind the balancer, each with its own
    address, and every server connection of theirs in PostgreSQL comes from PgBouncer."""
    assert cluster.balancer.states() == {"h1": "UP", "h2": "UP", "BACKEND": "UP"}
    assert len({h.address for h in cluster.hosts.members}) == 2
    conn = await asyncpg.connect(cluster.dsn)
    try:
        clients = await conn.fetch(
            "SELECT DISTINCT client_addr::text AS addr FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            cluster.database,
        )
    finally:
        await conn.close()
    addresses = {r["addr"] for r in clients}
    assert addresses
    assert not addresses & {h.address + "/32" for h in cluster.hosts.members}
    print(f"hosts: {cluster.hosts.kind}")


async def test_fifty_orders_for_three_seats_across_hosts(client, cluster):
    coach = uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    event = event_json(coach=coach, start=start, capacity=3)
    await publish(client, event)
    event_id = uuid.UUID(event["eventId"])
    responses = await gather_orders(client, [(uuid.uuid4(), [event_id]) for _ in range(50)])
    assert outcomes(responses) == Counter({"booked": 3, "overbooked": 47})
    assert served_by(responses) == set(HOSTS)
    listing = await client.get(
        "/v1/bookings", params={"eventId": str(event_id)}, headers=bearer(coach, "coach")
    )
    assert (listing.status_code, len(listing.json())) == (200, 3)


async def test_one_users_overlapping_orders_across_hosts_book_one(client, cluster):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    events = [event_json(coach=uuid.uuid4(), start=start + timedelta(minutes=i)) for i in range(10)]
    await publish(client, *events)
    athlete = uuid.uuid4()
    responses = await gather_orders(client, [(athlete, [uuid.UUID(e["eventId"])]) for e in events])
    assert outcomes(responses) == Counter({"booked": 1, "conflictingUserSchedules": 9})
    assert served_by(responses) == set(HOSTS)


async def test_exactly_the_burst_passes_across_hosts(client, cluster):
    user = uuid.uuid4()
    headers = bearer(user, "athlete")
    responses = await asyncio.gather(
        *(
            client.get("/v1/bookings", params={"userId": str(user)}, headers=headers)
            for _ in range(2 * BURST)
        )
    )
    assert Counter(r.status_code for r in responses) == Counter({200: BURST, 429: BURST})
    assert served_by([r for r in responses if r.status_code == 200]) == set(HOSTS)


async def test_notify_runs_on_both_hosts_deliver_each_notification_once(cluster):
    await seed_due_notifications(cluster.dsn, 1000, reminders=False)
    with webhook_receiver(HOOK_SECRET, host="0.0.0.0") as (hook, received):
        port = hook.split(":")[2].split("/")[0]
        runs = []
        for host in cluster.hosts.members:
            env = {
                "LEKO_DATABASE_URL": cluster.database_url(host.gateway, maxsize=5),
                "LEKO_JWT_SECRET": SECRET,
                "LEKO_NOTIFICATION_CHANNEL": "webhook",
                "LEKO_WEBHOOK_URL": f"http://{host.gateway}:{port}/hook",
                "LEKO_WEBHOOK_SECRET": HOOK_SECRET,
                "LEKO_NOTIFY_BATCH_SIZE": "50",
            }
            runs += [notify_process(env, prefix=host.prefix) for _ in range(2)]
        outputs = await asyncio.gather(
            *(asyncio.to_thread(p.communicate, timeout=120) for p in runs)
        )
        assert [p.returncode for p in runs] == [0] * 4, outputs
        ids = received.ids()
    assert received.bad_signatures == 0
    assert max(ids.values()) == 1  # no notification twice
    claimed = [int(out.split('"claimed": ')[1].split(",")[0]) for out, _ in outputs]
    assert sum(claimed) == len(ids)
    assert any(claimed[:2]), claimed  # both hosts' runs took a share
    assert any(claimed[2:]), claimed
    conn = await asyncpg.connect(cluster.dsn)
    try:
        rows = await conn.fetch("SELECT id::text, status FROM notification")
    finally:
        await conn.close()
    # The seeded ones and those the earlier tests' orders wrote: every one sent, once.
    assert len(rows) >= 1000
    assert {r["status"] for r in rows} == {"Sent"}
    assert set(ids) == {r["id"] for r in rows}


# Last in the module: h1 stays dead.
async def test_a_host_killed_mid_load_loses_no_acknowledged_order(client, cluster):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    coach = uuid.uuid4()
    pair = [
        event_json(coach=coach, start=start + timedelta(hours=h), capacity=1000) for h in (0, 2)
    ]
    await publish(client, *pair)
    events = [uuid.UUID(e["eventId"]) for e in pair]
    athletes = [uuid.uuid4() for _ in range(300)]
    in_flight, kill_after = 16, 60
    gate = asyncio.Semaphore(in_flight)
    # (athlete, status or the transport error, the answer's body, the host that answered)
    before: list[Outcome] = []  # sent before h1 was dead
    after: list[Outcome] = []  # sent once it was
    dying, dead = cluster.hosts.members[0], asyncio.Event()
    kill: list[asyncio.Task] = []

    async def order(athlete: uuid.UUID) -> None:
        async with gate:
            sent_after = dead.is_set()
            body, headers = order_body(athlete, *events), bearer(athlete, "athlete")
            try:
                r = await client.post("/v1/bookings", json=body, headers=headers)
                answer = r.json() if r.status_code < 500 else r.text  # the balancer's own: HTML
                outcome = Outcome(athlete, r.status_code, answer, r.headers.get("x-served-by"))
            except httpx.TransportError as exc:  # the balancer closed without an answer
                outcome = Outcome(athlete, type(exc).__name__, None, None)
        (after if sent_after else before).append(outcome)
        if not kill and sum(1 for o in before if o.status == 201) >= kill_after:
            kill.append(asyncio.create_task(killing()))

    async def killing() -> None:
        await asyncio.to_thread(dying.kill)
        dead.set()

    await asyncio.gather(*(order(a) for a in athletes))
    assert dead.is_set(), "the load ended before the host was killed"
    assert len(after) > 100  # the load went on well past the death

    done = before + after
    acknowledged = {
        uuid.UUID(o.body["orderId"]): (
            o.athlete,
            {uuid.UUID(b["bookingId"]) for b in o.body["bookings"]},
        )
        for o in done
        if o.status == 201
    }
    failed = [o for o in done if o.status != 201]
    # Only requests the dying host had taken fail: the balancer's 502, or the connection closed
    # without an answer; at most those in flight.
    assert {o.status for o in failed} <= {502, "RemoteProtocolError"}, failed
    assert len(failed) <= in_flight
    # Everything sent after the death is routed around it.
    assert [o.status for o in after] == [201] * len(after)
    assert {o.host for o in after} == {"h2"}
    assert await _balancer_sees(cluster.balancer, "h1", "DOWN")

    conn = await asyncpg.connect(cluster.dsn)
    try:
        rows = await conn.fetch(
            "SELECT o.id, o.user_id, array_agg(b.id) AS bookings FROM booking_order o"
            " LEFT JOIN booking b ON b.order_id = o.id WHERE o.user_id = ANY($1::uuid[])"
            " GROUP BY o.id, o.user_id",
            athletes,
        )
    finally:
        await conn.close()
    stored = {r["id"]: (r["user_id"], {b for b in r["bookings"] if b}) for r in rows}
    for order_id, expected in acknowledged.items():  # every acknowledged order, whole
        assert stored.get(order_id) == expected
    assert all(len(bookings) == 2 for _, bookings in stored.values())  # none half-written
    assert len(stored) - len(acknowledged) <= len(failed)  # committed as the host died: whole too
    assert len(acknowledged) + len(failed) == len(athletes)


async def _balancer_sees(balancer: Balancer, host: str, state: str, within: float = 10.0) -> bool:
    """Whether the balancer's health checks mark `host` as `state` within `within` seconds (a
    bounded wait on a real component's checks, every 200 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if (await asyncio.to_thread(balancer.states)).get(host) == state:
            return True
        await asyncio.sleep(0.1)
    return False
