"""Traces (leko_bookings/tracing.py): spans per request, GraphQL operation and SQL statement,
continuing the caller's trace; nothing of OpenTelemetry's SDK loaded when off."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from leko_bookings import tracing
from leko_bookings.app import create_app
from leko_bookings.settings import Settings
from tests.conftest import FakeClock, RecordingChannel, Users, client_for

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


class Recording(SpanProcessor):
    """The process's one span processor (a global tracer provider is set once per process):
    hands each ended span to the running test's exporter, or drops it between tests."""

    def __init__(self) -> None:
        self.exporter: InMemorySpanExporter | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.exporter is not None:
            self.exporter.export([span])


RECORDING = Recording()


@functools.cache
def global_provider() -> TracerProvider:
    """The global tracer provider (OpenTelemetry's public `set_tracer_provider`, once)."""
    provider = TracerProvider()
    provider.add_span_processor(RECORDING)
    trace.set_tracer_provider(provider)
    return provider


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Traces requested by the environment, recorded in memory for this test (tracing.install
    keeps the provider already set)."""
    global_provider()
    exporter = InMemorySpanExporter()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.setattr(tracing, "_installed", False)
    RECORDING.exporter = exporter
    try:
        yield exporter
    finally:
        RECORDING.exporter = None
        AsyncPGInstrumentor().uninstrument()


@pytest.fixture
async def traced(
    spans: InMemorySpanExporter,
    db: str,
    settings: Settings,
    clock: FakeClock,
    channel: RecordingChannel,
) -> httpx.AsyncClient:
    app = create_app(settings, clock=clock, manage_database=False, channel=channel)
    assert tracing._installed
    async with client_for(app) as c:
        yield c


def in_trace(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == int(TRACE_ID, 16)]


async def test_rest_request_continues_the_callers_trace(
    traced: httpx.AsyncClient, spans: InMemorySpanExporter, users: Users, dialect: str
) -> None:
    r = await traced.get(
        "/v1/bookings",
        params={"userId": str(users.athlete)},
        headers={**users.as_athlete, "traceparent": TRACEPARENT},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == TRACE_ID
    finished = spans.get_finished_spans()
    assert finished
    assert in_trace(list(finished)) == list(finished)  # every span in the caller's trace
    server = [s for s in finished if s.kind == SpanKind.SERVER]
    assert len(server) == 1
    assert server[0].parent is not None
    assert server[0].parent.span_id == int(PARENT_ID, 16)
    assert server[0].attributes is not None
    assert server[0].attributes.get("http.route") == "/v1/bookings"
    sql = [s for s in finished if s.attributes and "db.statement" in s.attributes]
    sql += [s for s in finished if s.attributes and "db.query.text" in s.attributes]
    if dialect == "postgres":  # the asyncpg instrumentation: PostgreSQL only
        assert sql
        assert all(s.kind == SpanKind.CLIENT for s in sql)
    else:
        assert not sql


async def test_rest_error_body_carries_the_trace_id(
    traced: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    r = await traced.get("/v1/bookings", headers={"traceparent": TRACEPARENT})
    assert r.status_code == 401
    assert r.json()["errors"][0]["requestId"] == TRACE_ID
    assert in_trace(list(spans.get_finished_spans()))


async def test_graphql_operation_span_under_the_request_span(
    traced: httpx.AsyncClient, spans: InMemorySpanExporter, users: Users
) -> None:
    r = await traced.post(
        "/graphql",
        json={"query": "query Probe { __typename }"},
        headers={**users.as_athlete, "traceparent": TRACEPARENT},
    )
    assert r.status_code == 200, r.text
    finished = list(spans.get_finished_spans())
    assert in_trace(finished) == finished
    operation = [s for s in finished if s.name == "GraphQL Query: Probe"]
    request = [s for s in finished if s.name == "POST /graphql"]
    assert len(operation) == 1
    assert len(request) == 1
    assert request[0].context is not None
    assert operation[0].parent is not None
    assert operation[0].parent.span_id == request[0].context.span_id
    assert request[0].parent is not None
    assert request[0].parent.span_id == int(PARENT_ID, 16)


OFF = textwrap.dedent(
    """
    import sys
    from leko_bookings.app import create_app
    from leko_bookings.schema import schema
    from leko_bookings.settings import Settings
    create_app(Settings(database_url="sqlite://:memory:", jwt_secret="s" * 48))
    schema.get_extensions()
    loaded = sorted(
        m for m in sys.modules
        if m.startswith(("opentelemetry.sdk", "opentelemetry.instrumentation",
                         "opentelemetry.exporter", "strawberry.extensions.tracing"))
    )
    print(",".join(loaded))
    """
)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
    ],
    ids=["unset", "none", "sdk-disabled"],
)
def test_nothing_loaded_when_off(env: dict[str, str]) -> None:
    """FastAPI itself imports the OpenTelemetry API; the SDK, the instrumentations, the exporters
    and Strawberry's tracing extension stay out."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", OFF],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
