"""GET /metrics (issue 15, item 4): Prometheus's text format, behind LEKO_METRICS_TOKEN (or on
`serve --metrics-port`), counting what the README's "Metrics" section lists.

In-process tests (SQLite and PostgreSQL) read the process's registry through the endpoint and
compare counts before and after (the registry lives as long as the test session). The
multiprocess test runs a real 2-worker server on PostgreSQL: requests served by both workers add
up, whichever process answers the scrape (a worker, or the supervisor on --metrics-port)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from leko_bookings.app import create_app
from leko_bookings.settings import Settings
from tests.conftest import NOW, SECRET, client_for, create_pg_database, drop_pg_database, pg_url
from tests.factories import book, create_event, gql
from tests.live_server import free_port, live_server
from tests.test_subscriptions import publish, receive, seats, signed_in, subscribe

TOKEN = "metrics-token-" + "m" * 20
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = Counter[tuple[str, frozenset[tuple[str, str]]]]
Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def parse(text: str) -> Samples:
    found: Samples = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] += sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def scrape(client: httpx.AsyncClient) -> Samples:
    r = await client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


@pytest.fixture
def client_with(db, settings, clock, channel) -> Client:
    """A client on an app with the metrics token and these settings changed."""

    def make(**changes: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        changed = settings.model_copy(update={"metrics_token": SecretStr(TOKEN), **changes})
        return client_for(create_app(changed, clock=clock, manage_database=False, channel=channel))

    return make


@pytest.fixture
async def metered(client_with: Client) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with() as c:
        yield c


# -- access -----------------------------------------------------------------------------------


async def test_no_metrics_route_without_a_token():
    app = create_app(Settings(jwt_secret=SECRET, database_url="sqlite://:memory:"))
    async with client_for(app) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}", f"bearer  {TOKEN}"],
)
async def test_metrics_need_the_bearer_token(authorization):
    settings = Settings(jwt_secret=SECRET, database_url="sqlite://:memory:", metrics_token=TOKEN)
    async with client_for(create_app(settings)) as client:
        headers = {"Authorization": authorization} if authorization else {}
        r = await client.get("/metrics", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "leko_" not in r.text
        r = await client.get("/metrics", headers=AUTH)
        assert r.status_code == 200
        assert "# TYPE leko_http_requests_total counter" in r.text
        lower = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
        assert (await client.get("/metrics", headers=lower)).status_code == 200


# -- what is counted --------------------------------------------------------------------------


async def test_requests_by_route_template_method_and_status(metered, users):
    before = await scrape(metered)
    missing = uuid.uuid4()
    for _ in range(3):
        r = await metered.get(f"/v1/bookings/{missing}", headers=users.as_athlete)
        assert r.status_code == 404
    assert (await metered.get(f"/v1/bookings/{missing}")).status_code == 401
    assert (await metered.get("/no/such/path")).status_code == 404
    for probe in ("/healthz", "/readyz"):
        assert (await metered.get(probe)).status_code == 200
    after = await scrape(metered)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/v1/bookings/{bookingId}"
    assert delta("leko_http_requests_total", route=route, method="GET", status="404") == 3
    assert delta("leko_http_requests_total", route=route, method="GET", status="401") == 1
    assert delta("leko_http_requests_total", route="unmatched", status="404") == 1
    count = "leko_http_request_duration_seconds_count"
    assert delta(count, route=route, method="GET", status="404") == 3
    bucket = "leko_http_request_duration_seconds_bucket"
    assert delta(bucket, route=route, method="GET", status="404", le="+Inf") == 3
    # The probes and the scrapes are not counted; no raw path is a label.
    assert delta("leko_http_requests_total") == 5
    labels = {dict(ls).get("route") for n, ls in after if n == "leko_http_requests_total"}
    assert str(missing) not in " ".join(str(label) for label in labels)


NAMED = "query Upcoming { viewer { userId } }"
NAMED_MUTATION = "mutation Seen { markNotificationsRead(ids: []) { __typename } }"


async def test_graphql_operations_by_name_and_type(metered, users):
    before = await scrape(metered)
    for _ in range(2):
        assert "errors" not in await gql(metered, users.as_athlete, NAMED)
    await gql(metered, users.as_athlete, "{ viewer { userId } }")
    await gql(metered, users.as_athlete, NAMED_MUTATION)
    await gql(metered, users.as_athlete, "query Broken { nope }")  # invalid: an error
    r = await metered.post("/graphql", json={"query": "{"}, headers=users.as_athlete)
    assert r.status_code == 200, r.text
    after = await scrape(metered)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "leko_graphql_operations_total"
    assert delta(total, operation="Upcoming", type="query", outcome="ok") == 2
    assert delta(total, operation="anonymous", type="query", outcome="ok") == 1
    assert delta(total, operation="Seen", type="mutation", outcome="ok") == 1
    assert delta(total, operation="Broken", type="query", outcome="error") == 1
    assert delta(total, type="unknown", outcome="error") == 1  # a document that does not parse
    duration = "leko_graphql_operation_duration_seconds_count"
    assert delta(duration, operation="Upcoming", type="query") == 2
    assert delta("leko_http_requests_total", route="/graphql", method="POST", status="200") == 6


async def test_orders_accepted_and_refused_by_reason(metered, users, settings):
    full = await create_event(
        settings, NOW, coach=users.coach, start=NOW + timedelta(days=2), capacity=1
    )
    own = await create_event(settings, NOW, coach=users.athlete, start=NOW + timedelta(days=3))
    before = await scrape(metered)
    assert (await book(metered, users.as_athlete, users.athlete, full)).status_code == 201
    r = await book(metered, users.as_other_athlete, users.other_athlete, full, own)
    assert r.status_code == 400  # full, and (for the other athlete) fine
    r = await book(metered, users.as_athlete, users.athlete, own)
    assert r.status_code == 400  # self-booking
    r = await book(metered, users.as_athlete, users.other_athlete, own)
    assert r.status_code == 403  # for someone else
    r = await book(metered, users.as_athlete, users.athlete, uuid.uuid4())
    assert r.status_code == 400  # unknown event
    after = await scrape(metered)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leko_orders_total", outcome="accepted") == 1
    assert delta("leko_orders_total", outcome="refused") == 2
    assert delta("leko_orders_total", outcome="forbidden") == 1
    assert delta("leko_orders_total", outcome="invalid") == 1
    assert delta("leko_order_refusals_total", reason="overbooked") == 1
    assert delta("leko_order_refusals_total", reason="selfBookAttempt") == 1
    assert delta("leko_order_refusals_total") == 2


async def test_rate_limit_refusals_by_limit(client_with, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=2))
    limits = {
        "rate_limit_per_minute": 1,
        "rate_limit_burst": 2,
        "order_rate_limit_per_minute": 1,
        "order_rate_limit_burst": 1,
    }
    async with client_with(**limits) as client:
        before = await scrape(client)
        assert (await book(client, users.as_athlete, users.athlete, event)).status_code == 201
        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.status_code == 429  # the order limit
        r = await client.get("/v1/bookings", headers=users.as_athlete)
        assert r.status_code == 429  # the request limit
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leko_rate_limit_refusals_total", limit="orders") == 1
    assert delta("leko_rate_limit_refusals_total", limit="all") == 1
    assert delta("leko_orders_total", outcome="rate_limited") == 1
    status = "429"
    assert delta("leko_http_requests_total", route="/v1/bookings", status=status) == 2


NOTIFY = "mutation { notifyBookings { __typename } }"


async def test_notifications_sent_retried_failed_expired(
    client_with, users, settings, clock, channel, tmp_path: Path
):
    rules = tmp_path / "rules.json"
    rule = {"recipients": ["athlete", "coach"], "windowMinutes": 10}
    rules.write_text(json.dumps([{"name": "created", "trigger": "bookingCreated", **rule}]))
    changes = {"notification_rules_file": rules, "notification_max_attempts": 2}
    events = [
        await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=d))
        for d in (2, 3, 4)
    ]
    async with client_with(**changes) as client:
        before = await scrape(client)

        async def notify() -> None:
            data = await gql(client, users.as_scheduler, NOTIFY)
            assert data["data"]["notifyBookings"]["__typename"] == "NotifySummary"

        await book(client, users.as_athlete, users.athlete, events[0])
        await notify()  # sent: 2
        await book(client, users.as_athlete, users.athlete, events[1])
        channel.fail = True
        await notify()  # retried: 2
        clock.advance(seconds=settings.notification_backoff_seconds)
        await notify()  # failed: 2 (the second and last attempt)
        channel.fail = False
        await book(client, users.as_athlete, users.athlete, events[2])
        clock.advance(minutes=11)
        await notify()  # expired: 2
        after = await scrape(client)

    def delta(**labels: str) -> float:
        name = "leko_notifications_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(outcome="sent") == 2
    assert delta(outcome="retried") == 2
    assert delta(outcome="failed") == 2
    assert delta(outcome="expired") == 2


async def test_sqlite_reports_no_pool(metered, dialect):
    """SQLite has one connection and no pool: no pool is reported. (PostgreSQL's pool gauges:
    the served app's, `test_every_workers_counts_add_up_on_every_scrape` on `serve`.)"""
    if dialect != "sqlite":
        pytest.skip("SQLite only: the served app's pool is measured on a real server below")
    samples = await scrape(metered)
    assert value(samples, "leko_db_pool_max_connections") == 0
    assert value(samples, "leko_db_pool_connections") == 0


# -- several workers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`serve --workers 2 --metrics-port P` on PostgreSQL (maxsize 4 per worker): (URL, the
    metrics port's URL)."""
    name = f"leko_metrics_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_pg_database(name))
    port = free_port()
    env = {
        "LEKO_DATABASE_URL": pg_url(name).replace("maxsize=60", "maxsize=4"),
        "LEKO_JWT_SECRET": SECRET,
        "LEKO_METRICS_TOKEN": TOKEN,
    }
    log = tmp_path_factory.mktemp("metrics") / "server.log"
    try:
        with live_server(env, "--workers", "2", "--metrics-port", str(port), log=log) as url:
            yield url, f"http://127.0.0.1:{port}"
    finally:
        asyncio.run(drop_pg_database(name))


async def scrape_url(url: str, headers: dict[str, str] | None = None) -> Samples:
    async with httpx.AsyncClient(timeout=10) as fresh:  # a new connection: any worker answers
        r = await fresh.get(f"{url}/metrics", headers=headers or {})
    assert r.status_code == 200, r.text
    return parse(r.text)


@pytest.mark.postgres_only
async def test_every_workers_counts_add_up_on_every_scrape(two_workers):
    url, metrics_url = two_workers
    route = {"route": "/v1/bookings/{bookingId}", "method": "GET", "status": "401"}
    before = value(await scrape_url(url, AUTH), "leko_http_requests_total", **route)
    requests = 40

    async def one() -> None:
        async with httpx.AsyncClient(timeout=10) as fresh:  # one connection each: both workers
            r = await fresh.get(f"{url}/v1/bookings/{uuid.uuid4()}")
            assert r.status_code == 401

    await asyncio.gather(*(one() for _ in range(requests)))
    # Scrapes answered by either worker (new connections) and by the supervisor's metrics port
    # all see every request, whichever worker served it.
    for _ in range(4):
        samples = await scrape_url(url, AUTH)
        assert value(samples, "leko_http_requests_total", **route) - before == requests
        # Both workers write their pool's gauges: the maxima add up (2 x maxsize 4).
        assert value(samples, "leko_db_pool_max_connections") == 8
        in_use = value(samples, "leko_db_pool_connections_in_use")
        assert 0 <= in_use <= value(samples, "leko_db_pool_connections") <= 8
    samples = await scrape_url(metrics_url)  # no token on the metrics port
    assert value(samples, "leko_http_requests_total", **route) - before == requests
    async with httpx.AsyncClient(timeout=10) as fresh:
        assert (await fresh.get(f"{url}/metrics")).status_code == 401


@pytest.mark.postgres_only
async def test_open_subscriptions(two_workers):
    url, metrics_url = two_workers
    event = await publish(url)

    async def open_now() -> float:
        return value(await scrape_url(metrics_url), "leko_graphql_open_subscriptions")

    assert await open_now() == 0
    async with signed_in(url) as ws:
        await subscribe(ws, "1", [event])
        assert seats(await receive(ws, 5)) == (0, 5)
        assert await open_now() == 1
        samples = await scrape_url(metrics_url)
        field = {"field": "eventAvailability"}
        assert value(samples, "leko_graphql_open_subscriptions", **field) == 1
    for _ in range(100):  # the server notices the socket closed: polled for at most ~5 s
        if await open_now() == 0:
            break
        await asyncio.sleep(0.05)  # polling the server, not waiting on simulated time
    else:
        pytest.fail("the closed subscription is still counted as open")


def test_metrics_port_of_a_single_process(tmp_path: Path):
    """`serve --metrics-port` with one worker (SQLite): the process's own counts, no token, and
    no /metrics on the service's port without LEKO_METRICS_TOKEN."""
    port = free_port()
    env = {"LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'one.sqlite3'}", "LEKO_JWT_SECRET": SECRET}
    route = {"route": "/v1/bookings/{bookingId}", "method": "GET", "status": "401"}
    with live_server(env, "--metrics-port", str(port)) as url:
        for _ in range(3):
            assert httpx.get(f"{url}/v1/bookings/{uuid.uuid4()}").status_code == 401
        assert httpx.get(f"{url}/metrics").status_code == 404
        r = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert r.status_code == 200
    samples = parse(r.text)
    assert value(samples, "leko_http_requests_total", **route) == 3
    assert value(samples, "leko_db_pool_max_connections") == 0  # SQLite: no pool
