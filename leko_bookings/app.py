"""The app factory: REST compatibility paths, GraphQL, the served contract, the error renderers,
the browser pages (ui.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from tortoise.contrib.fastapi import RegisterTortoise

from leko_bookings import __version__, metrics, tracing, ui
from leko_bookings.auth import Authenticator
from leko_bookings.channels import Channel, channel_from_settings
from leko_bookings.db import tortoise_config
from leko_bookings.feeds.router import router as calendar_feeds_router
from leko_bookings.health import router as health_router
from leko_bookings.http import BodyLimitMiddleware, Clock, RequestIdMiddleware, system_clock
from leko_bookings.observability import ObservedApp
from leko_bookings.rest_compat.bookings import router as bookings_router
from leko_bookings.rest_compat.errors import install_error_handlers
from leko_bookings.rest_compat.openapi import served_document
from leko_bookings.schema import schema, sdl
from leko_bookings.schema.endpoint import graphql_endpoint
from leko_bookings.settings import Settings, get_settings
from leko_bookings.store.changes import listening

GRAPHQL_PATH = "/graphql"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    manage_database: bool = True,
    channel: Channel | None = None,
) -> FastAPI:
    """Build the service. `manage_database=False` when the caller (tests) owns Tortoise."""
    settings = settings or get_settings()
    base = settings.base_path.rstrip("/")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if not manage_database:
                yield
                return
            config = tortoise_config(
                settings.database_url, timeout=settings.database_timeout_seconds
            )
            async with (
                RegisterTortoise(app, config=config),
                listening(settings),
                metrics.sampling_pool(),
            ):
                yield
        finally:
            await app.state.channel.aclose()

    app = ObservedApp(  # FastAPI, observed: log fields, metrics, access line (observability.py)
        title="LE-KO Bookings",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.authenticator = Authenticator(settings)
    app.state.channel = channel or channel_from_settings(settings)
    app.state.sockets = Counter()  # this process's open WebSockets per user
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries the request id
    install_error_handlers(app)  # REST's; /graphql renders its own (schema/endpoint.py)
    app.include_router(bookings_router, prefix=base)
    app.include_router(calendar_feeds_router)  # /calendar/{token}.ics, outside the contract
    app.include_router(health_router)  # /healthz, /readyz: outside the contract
    if settings.metrics_token is not None:  # else no /metrics here (404; or --metrics-port)
        token = settings.metrics_token.get_secret_value()
        app.router.routes.append(Route("/metrics", metrics.metrics_endpoint(token)))
    graphql = graphql_endpoint(schema, settings)  # an ASGI app: HTTP and WebSocket
    app.router.routes += [Route(GRAPHQL_PATH, graphql), WebSocketRoute(GRAPHQL_PATH, graphql)]
    document = served_document(base)

    @app.get(f"{base}/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(document)

    ui.install(app, base=base, graphql=GRAPHQL_PATH, sdl=sdl())  # pages that work offline
    tracing.install(app)  # OpenTelemetry spans, when OTEL_TRACES_EXPORTER asks (tracing.py)

    return app
