"""The app factory: REST compatibility paths, GraphQL, the served contract, one error renderer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from strawberry.fastapi import GraphQLRouter
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.exceptions import BaseORMException

from leko_bookings import __version__
from leko_bookings.auth import Authenticator
from leko_bookings.channels import Channel, channel_from_settings
from leko_bookings.db import database_unavailable, tortoise_config
from leko_bookings.errors import Unavailable
from leko_bookings.http import BodyLimitMiddleware, Clock, RequestIdMiddleware, system_clock
from leko_bookings.rest_compat.bookings import router as bookings_router
from leko_bookings.rest_compat.errors import error_response, install_error_handlers
from leko_bookings.rest_compat.openapi import served_document
from leko_bookings.schema import schema
from leko_bookings.schema.context import get_context
from leko_bookings.settings import Settings, get_settings

log = logging.getLogger("leko_bookings.errors")

RETRY_AFTER_SECONDS = "1"
# What a database that went away may raise (TimeoutError is an OSError); `database_unavailable`
# decides, the rest go on to the catch-all 500.
DATABASE_FAILURES = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    BaseORMException,
)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A dependency that is down (the token keys): 503 `unexpected`, and when to retry."""
    assert isinstance(exc, Unavailable)
    return error_response(request, exc, headers={"Retry-After": RETRY_AFTER_SECONDS})


async def _database_failure(request: Request, exc: Exception) -> JSONResponse:
    """The database unreachable: 503 `unexpected` with Retry-After. Rendered here rather than
    by the catch-all handler of `Exception`, which Starlette re-raises once it has answered (the
    server then logs a stack and drops the client's keep-alive connection). Other failures go
    on to the catch-all (a logged 500)."""
    if not database_unavailable(exc):
        raise exc
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    error = Unavailable("The database cannot be reached right now; retry shortly.")
    return error_response(request, error, headers={"Retry-After": RETRY_AFTER_SECONDS})


class GraphQLEndpoint(GraphQLRouter):
    """Strawberry's FastAPI router answering with orjson (a calendar's answer is ~40 kB)."""

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


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
            async with RegisterTortoise(app, config=config):
                yield
        finally:
            await app.state.channel.aclose()

    app = FastAPI(
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries the request id
    install_error_handlers(app)
    app.add_exception_handler(Unavailable, _unavailable)
    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, _database_failure)
    app.include_router(bookings_router, prefix=base)
    app.include_router(
        GraphQLEndpoint(schema, context_getter=get_context, graphql_ide="graphiql"),
        prefix="/graphql",
    )
    document = served_document(base)

    @app.get(f"{base}/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(document)

    @app.get(f"{base}/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"{base}/openapi.json", title="LE-KO Bookings")

    return app
