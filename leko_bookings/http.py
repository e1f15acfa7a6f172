"""Per-request plumbing shared by REST and GraphQL: request ids, the caller, the context."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leko_bookings.auth import Authenticator, Principal
from leko_bookings.errors import validation
from leko_bookings.resolvers import rate_limits
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings

TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
REQUEST_ID_HEADER = "x-request-id"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


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
    buffered. The error surfaces where the body is read, so it gets the contract's body."""

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


async def check_traceparent(request: Request) -> None:
    if not getattr(request.state, "traceparent_ok", True):
        raise validation(
            "traceparent must be a W3C trace context header: "
            "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>."
        )


async def current_principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request.headers.get("authorization"))


async def resolver_context(request: Request, principal: Principal) -> Context:
    """The caller's context, once per request (REST and GraphQL), after the caller's request
    limit took a token (429 otherwise)."""
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    ctx = Context(principal=principal, now=clock(), settings=settings)
    await rate_limits.take_request(ctx)
    return ctx
