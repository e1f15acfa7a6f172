"""Traces (OpenTelemetry), an optional extra: `pip install leko-bookings[otel]`.

On only when all three hold (read when the app is created):

- `OTEL_TRACES_EXPORTER` names an exporter (not empty, not `none`): `otlp` (OTLP over
  HTTP/protobuf, configured by the standard `OTEL_EXPORTER_OTLP_*` variables) or `console`;
- `OTEL_SDK_DISABLED` is not `true`;
- the `otel` extra is installed (else a warning is logged and traces stay off).

When off, nothing of the SDK, the instrumentations or Strawberry's tracing extension is
imported (FastAPI itself always imports the OpenTelemetry API; with no provider it records
nothing).

When on: a span per HTTP request (FastAPI's own telemetry, which reads the global provider;
the contrib FastAPI instrumentation cannot wrap `ObservedApp`'s stack; an incoming `traceparent`
continues the caller's trace, whose trace id is also the request id, http.py), a span per
GraphQL operation (Strawberry's `OpenTelemetryExtension`, with its parse, validation and
resolver spans) and a span per SQL statement on PostgreSQL (the asyncpg instrumentation). The
tracer provider is the global one if the process already has one (e.g. set by
`opentelemetry-instrument` or a test); else one is made here with `OTEL_SERVICE_NAME` (default
`leko-bookings`), `OTEL_RESOURCE_ATTRIBUTES` and a `BatchSpanProcessor` per named exporter.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

SERVICE_NAME = "leko-bookings"
_installed = False  # set by install(): Strawberry's extension is made per operation then


def requested() -> bool:
    """The environment asks for traces (the packages may still be missing)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    return exporters not in ("", "none")


def install(app: FastAPI) -> bool:
    """Trace this app if `requested()` and the `otel` extra is installed; True if so."""
    global _installed
    if not requested():
        return False
    try:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    except ImportError:
        log.warning("OTEL_TRACES_EXPORTER is set but the otel extra is not installed: no traces")
        return False
    _ensure_provider()  # FastAPI's own telemetry spans each request once a provider is set
    asyncpg = AsyncPGInstrumentor()
    if not asyncpg.is_instrumented_by_opentelemetry:
        asyncpg.instrument()
    _installed = True
    return True


def _ensure_provider() -> None:
    """A global SDK tracer provider from the standard variables, unless one is set already."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # configured already (opentelemetry-instrument, a test)
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))  # + OTEL_RESOURCE_*
    for name in os.environ["OTEL_TRACES_EXPORTER"].lower().split(","):
        exporter: Any
        match name.strip():
            case "otlp":
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
            case "console":
                exporter = ConsoleSpanExporter()
            case other:
                log.warning("unknown trace exporter %r (known: otlp, console)", other)
                continue
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def graphql_extension() -> SchemaExtension:
    """Per operation: Strawberry's OpenTelemetry extension when traces are on, else an
    extension without hooks (Strawberry runs none of it)."""
    if not _installed:
        return SchemaExtension()
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return OpenTelemetryExtension()
