"""Prometheus metrics: what they are, how outcomes are counted, how they are scraped.

Served in Prometheus's text format at `GET /metrics` with `LEKO_METRICS_TOKEN` as a bearer token
(no token configured: no /metrics route, 404), and on `serve --metrics-port` (no token there: a
port for the scraper's network only).

With `serve --workers N` every worker counts into files of its own in a directory `serve` makes
(prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`, `serving.py`); a scrape,
whichever process answers it, adds up every worker's files (`MultiProcessCollector`). A worker
that exits has its live gauges removed (`mark_process_dead`); its counts stay in the sums.

Resolvers count their outcomes through the small functions here (`count_order`,
`count_notifications`, `count_rate_limited`); the HTTP middleware (`observability.py`), the
GraphQL extension (`schema/telemetry.py`) and the subscriptions count the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leko_bookings.errors import DomainError, ErrorCode, OrderRefused, TooManyRequests
from leko_bookings.store.health import pool_usage

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: most answers take milliseconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# GraphQL operation names are the client's: a process labels the first this many it meets by
# their name and every later new one `other` (the series stay bounded).
MAX_OPERATION_NAMES = 100
# How often each worker writes its pool's occupancy (a scrape answered by a worker reads its own
# at once; the other workers' are at most this old).
POOL_SAMPLE_SECONDS = 1.0

disable_created_metrics()  # no `*_created` series (not in multiprocess mode either)

http_requests = Counter(
    "leko_http_requests",
    "HTTP requests answered, by route template, method and status (not /healthz, /readyz, "
    "/metrics).",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "leko_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=BUCKETS,
)
graphql_operations = Counter(
    "leko_graphql_operations",
    "GraphQL operations run (over HTTP and WebSocket), by operation name, type (query, mutation, "
    "subscription; unknown when the document could not be read) and outcome (ok, error: the "
    "answer carries errors).",
    ["operation", "type", "outcome"],
)
graphql_duration = Histogram(
    "leko_graphql_operation_duration_seconds",
    "Time to run a GraphQL query or mutation, by operation name and type.",
    ["operation", "type"],
    buckets=BUCKETS,
)
open_subscriptions = Gauge(
    "leko_graphql_open_subscriptions",
    "GraphQL subscriptions open now, by field.",
    ["field"],
    multiprocess_mode="livesum",
)
db_pool_connections = Gauge(
    "leko_db_pool_connections",
    "Database connections open in the pools of the server's processes.",
    multiprocess_mode="livesum",
)
db_pool_in_use = Gauge(
    "leko_db_pool_connections_in_use",
    "Database connections in use (taken from the pools) now.",
    multiprocess_mode="livesum",
)
db_pool_max = Gauge(
    "leko_db_pool_max_connections",
    "The most database connections the pools may open.",
    multiprocess_mode="livesum",
)
orders = Counter(
    "leko_orders",
    "Order requests (POST /bookings, bookEvents) by outcome: accepted; refused (a booking rule, "
    "nothing booked: see leko_order_refusals_total); invalid; forbidden; rate_limited; error.",
    ["outcome"],
)
order_refusals = Counter(
    "leko_order_refusals",
    "The events of refused orders that cannot be booked, by reason (the contract's bookingError).",
    ["reason"],
)
notifications = Counter(
    "leko_notifications",
    "Notification deliveries by outcome: sent; retried (failed, tried again later); failed (for "
    "good, after the last attempt); expired (its moment passed before delivery).",
    ["outcome"],
)
rate_limit_refusals = Counter(
    "leko_rate_limit_refusals",
    "Requests refused by a rate limit (429), by limit: all (every request), orders, feed.",
    ["limit"],
)


# -- counting ---------------------------------------------------------------------------------

_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """A GraphQL operation's label: its name, `anonymous`, or `other` past MAX_OPERATION_NAMES."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # (count, duration) by labels


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """An HTTP request answered (a method a client made up is counted as `other`)."""
    key = (route, method if method in METHODS else "other", status)
    series = _request_series.get(key)
    if series is None:
        labels = (key[0], key[1], str(status))
        series = _request_series[key] = (
            http_requests.labels(*labels),
            http_duration.labels(*labels),
        )
    series[0].inc()
    series[1].observe(seconds)


def observe_operation(name: str, kind: str, ok: bool, seconds: float | None) -> None:
    """A GraphQL operation ended (`seconds`: None for a subscription, open for its lifetime)."""
    graphql_operations.labels(name, kind, "ok" if ok else "error").inc()
    if seconds is not None:
        graphql_duration.labels(name, kind).observe(seconds)


def count_order(error: BaseException | None = None) -> None:
    """An order request ended: accepted (no error) or refused with this error."""
    if error is None:
        outcome = "accepted"
    elif isinstance(error, OrderRefused):
        outcome = "refused"
        for refusal in error.refusals:
            order_refusals.labels(refusal.booking_error.value).inc()
    elif isinstance(error, TooManyRequests):
        outcome = "rate_limited"
    elif isinstance(error, DomainError) and error.code is ErrorCode.forbidden:
        outcome = "forbidden"
    elif isinstance(error, DomainError) and error.code is ErrorCode.validation:
        outcome = "invalid"
    else:
        outcome = "error"
    orders.labels(outcome).inc()


def count_notifications(*, sent: int, retried: int, failed: int, expired: int) -> None:
    counts = {"sent": sent, "retried": retried, "failed": failed, "expired": expired}
    for outcome, n in counts.items():
        if n:
            notifications.labels(outcome).inc(n)


def count_rate_limited(limit: str) -> None:
    rate_limit_refusals.labels(limit).inc()


@contextlib.contextmanager
def subscription_open(field: str) -> Any:
    """While a subscription of `field` is open."""
    gauge = open_subscriptions.labels(field)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


# -- the pool ---------------------------------------------------------------------------------


def sample_pool() -> None:
    """Write this process's pool occupancy into the gauges."""
    usage = pool_usage()
    if usage is None:
        return
    db_pool_connections.set(usage.size)
    db_pool_in_use.set(usage.in_use)
    db_pool_max.set(usage.max_size)


async def _sample_forever(every: float) -> None:
    while True:
        sample_pool()
        await asyncio.sleep(every)


@asynccontextmanager
async def sampling_pool(every: float = POOL_SAMPLE_SECONDS) -> AsyncIterator[None]:
    """While the app serves: the pool's gauges written every `every` seconds."""
    task = asyncio.create_task(_sample_forever(every))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- scraping ---------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


def scrape_registry() -> Collector:
    """What a scrape reads: every worker's files (several workers), else this process's."""
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path)
    return registry


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and content type (Prometheus's text format unless OpenMetrics is
    asked for)."""
    sample_pool()
    encoder: Callable[[Collector], bytes]
    encoder, content_type = choose_encoder(accept or "")
    return encoder(scrape_registry()), content_type


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>` (the scheme in any case), compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def metrics_endpoint(token: str) -> Callable[[Request], Any]:
    """GET /metrics, for callers with the bearer token (401 otherwise)."""

    async def endpoint(request: Request) -> Response:
        if not bearer_matches(request.headers.get("authorization"), token):
            return JSONResponse(
                {"error": "GET /metrics needs Authorization: Bearer <LEKO_METRICS_TOKEN>."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body, content_type = exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    return endpoint


def start_metrics_server(host: str, port: int) -> Callable[[], None]:
    """Serve the metrics on `host:port` from a thread of this process (`serve --metrics-port`:
    the supervisor of several workers, or the one serving process); return how to stop it."""
    from prometheus_client import start_http_server

    server, thread = start_http_server(port, addr=host, registry=scrape_registry())

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
