"""Per-request plumbing shared by REST and GraphQL: request ids, the caller, the context."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leko_bookings.auth import Authenticator, Principal
from leko_bookings.db import database_unavailable
from leko_bookings.errors import (
    DATABASE_UNREACHABLE,
    DomainError,
    ErrorCode,
    TooManyRequests,
    Unavailable,
    validation,
)
from leko_bookings.logs import note_caller, note_request_id
from leko_bookings.resolvers import rate_limits
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings

TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
REQUEST_ID_HEADER = "x-request-id"

log = logging.getLogger("leko_bookings.errors")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def utc_instant(value: datetime) -> str:
    """An instant as both transports write it: UTC, `Z` (`2026-06-01T09:00:00Z`): what
    `isoformat()` writes, with `Z` for `+00:00` (orjson writes the same text, in a third of the
    time; tests/test_reading.py compares them over the whole range of instants)."""
    if value.tzinfo is not UTC:  # the database's instants are UTC already
        value = value.astimezone(UTC)
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()


def parse_traceparent(value: str | None) -> tuple[str, bool]:
    """(request id, header acceptable). The trace id of a valid W3C traceparent, else a new id.

    A header of the contract's pattern is always accepted; one W3C says to ignore (version ff,
    all-zero ids) starts a fresh trace instead of failing the request.
    """
    fresh = uuid.uuid4().hex
    if value is None:
        return fresh, True
    match = TRACEPARENT.match(value)
    if not match:
        return fresh, False
    version, trace_id, parent_id, _ = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return fresh, True
    return trace_id, True


class RequestIdMiddleware:
    """Gives every request an id (from `traceparent` or new) and echoes it in `x-request-id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"traceparent")
        request_id, ok = parse_traceparent(raw.decode("latin-1") if raw is not None else None)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["traceparent_ok"] = ok
        note_request_id(request_id)  # for the request's log records

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` (declared or streamed) with 413, before they are
    buffered. The error surfaces where the body is read, so each transport renders it (REST
    the contract's body, GraphQL a GraphQL error)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        too_large = declared.isdigit() and int(declared) > self.max_bytes
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_large:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def error_headers(request: Request, error: DomainError) -> dict[str, str]:
    """What an error answer carries on either transport: the request id, when to retry (a rate
    limit, a dependency unavailable) and the bearer challenge (401, RFC 6750)."""
    headers = {REQUEST_ID_HEADER: request_id(request)}
    if isinstance(error, TooManyRequests | Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    if error.code is ErrorCode.unauthorized:
        headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if request.headers.get("authorization") else "Bearer"
        )
    return headers


def unreachable_database(request: Request, exc: BaseException) -> Unavailable | None:
    """The error to answer when `exc` means the database cannot be reached (logged as a
    warning), else None: the failure is another one."""
    if not database_unavailable(exc):
        return None
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return Unavailable(DATABASE_UNREACHABLE)


async def check_traceparent(request: Request) -> None:
    if not getattr(request.state, "traceparent_ok", True):
        raise validation(
            "traceparent must be a W3C trace context header: "
            "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>."
        )


async def current_principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(request.headers.get("authorization"))
    note_caller(principal.user_id)  # the request's log records carry the user id
    return principal


async def resolver_context(request: Request, principal: Principal) -> Context:
    """The caller's context, once per request (REST and GraphQL), after the caller's request
    limit took a token (429 otherwise)."""
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    ctx = Context(principal=principal, now=clock(), settings=settings)
    await rate_limits.take_request(ctx)
    return ctx


def unexpected_failure(request: Request, exc: BaseException) -> DomainError:
    """The error to answer for a failure nothing expected: 503 when the database cannot be
    reached, else 500 `internal`, logged with its traceback (the client sees no detail)."""
    if unavailable := unreachable_database(request, exc):
        return unavailable
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "Something went wrong on our side; the request id helps us find it."
    return DomainError(ErrorCode.internal, message)
