"""The /graphql HTTP endpoint: Strawberry's ASGI view, and the GraphQL side's one renderer of the
errors raised before execution.

The caller (401), its request limit (429), the body's size (413, raised by `BodyLimitMiddleware`
while the body is read), a dependency that cannot be reached (503: the token keys, the
database) and a request Strawberry cannot read (400: no query; JSON unreadable, not an object,
nested deeper than MAX_JSON_DEPTH; a batch) fail before anything is executed.
`GraphQLErrorRoute` answers them as GraphQL clients read errors:
`{"errors": [{"message", "extensions": {"code", "requestId", ...}}]}` with no `data` (the
request failed before execution, as GraphQL over HTTP says), the HTTP status of the code and
the headers every error answer carries (`http.error_headers`). Errors during execution are
Strawberry's (typed union members, or `errors` entries with HTTP 200), but for the database
becoming unreachable: a 503 (schema/outage.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

import orjson
from cross_web import HTTPException
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from leko_bookings.errors import DomainError, ErrorCode, validation
from leko_bookings.http import error_headers, request_id, unexpected_failure
from leko_bookings.resolvers import rate_limits
from leko_bookings.resolvers.context import Context
from leko_bookings.schema.context import GraphQLContext, new_context
from leko_bookings.settings import Settings
from leko_bookings.ui import graphiql_page


def graphql_error_response(
    request: Request,
    error: DomainError,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A request error as a GraphQL response: the message, and the contract's code (with what
    else the error tells, e.g. `retryAfter`) and the request id in `extensions`."""
    extensions = error.extensions | {"requestId": request_id(request)}
    body = {"errors": [{"message": error.message, "extensions": extensions}]}
    return Response(
        orjson.dumps(body),
        status_code=status or error.status,
        media_type="application/json",
        headers=error_headers(request, error) | dict(headers or {}),
    )


def render_request_error(request: Request, exc: Exception) -> Response:
    """Any failure before execution, as a GraphQL response of its HTTP status."""
    if isinstance(exc, DomainError):
        return graphql_error_response(request, exc)
    if isinstance(exc, StarletteHTTPException):  # 413 from the body limit, among others
        error = DomainError(ErrorCode.validation, str(exc.detail))
        return graphql_error_response(request, error, exc.status_code, exc.headers)
    if isinstance(exc, RequestValidationError):
        return graphql_error_response(request, DomainError(ErrorCode.validation, str(exc)))
    return graphql_error_response(request, unexpected_failure(request, exc))


ALLOWED_METHODS = ("GET", "POST")
SEND_SECONDS = 10.0  # a WebSocket message not taken by the client within this: closed (1008)
# How deep a request's JSON may nest (the body is level 1): far deeper than any request of the
# schema (its inputs nest 3 levels in `variables`) and far below what recursion would reach.
MAX_JSON_DEPTH = 64


class NestedTooDeeply(json.JSONDecodeError):
    """JSON nested deeper than MAX_JSON_DEPTH: unreadable to the view (over a WebSocket, as any
    message that is not JSON: closed with 4400)."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether `value` (parsed JSON) has arrays or objects nested more than `limit` levels
    (`value` itself is level 1); iterative, so any depth is measured without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        assert isinstance(children, Iterable)
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


JSON_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, writing each message as a text frame (the protocol's;
    the HTTP answers are orjson's bytes) and closing a socket whose client does not take a
    message within SEND_SECONDS (1008, "Slow consumer"): nothing queues without bound."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        text = orjson.dumps(message).decode()
        try:
            await asyncio.wait_for(self.ws.send_text(text), SEND_SECONDS)
        except TimeoutError:
            with contextlib.suppress(Exception):
                await self.ws.close(code=1008, reason="Slow consumer")
            raise WebSocketDisconnected from None
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """Strawberry's `graphql-transport-ws` handler; each operation a socket starts (a
    subscription, or a query or mutation sent over it) is a request of its caller: it runs at
    the instant it starts and takes a token of the caller's request limit, as over HTTP (refused:
    an `error` message with the code `tooManyRequests` and `retryAfter`)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        context = self.context
        if context.has_caller and context.request is not None:  # else not acknowledged: 4401
            now = context.request.app.state.clock()
            context.set_caller(replace(context.ctx, now=now))
            try:
                await rate_limits.take_request(context.ctx)
            except DomainError as exc:
                error = GraphQLError(exc.message, extensions=exc.extensions).formatted
                refused = ErrorMessage(id=message["id"], type="error", payload=[error])
                await self.send_message(refused)
                return
        await super().handle_subscribe(message)


class GraphQLEndpoint(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI GraphQL view, routed at /graphql without FastAPI's routing and
    dependency injection in between (the calendar asks once per screen: what runs before the
    query is the same work for every request). It answers with orjson (a calendar's answer is
    ~40 kB), serves our GraphiQL page (leko_bookings/ui.py), and answers what fails before
    execution — the caller, the request limit, the body, a dependency, a request Strawberry
    cannot read, a method GraphQL over HTTP does not use — as a GraphQL error
    (`render_request_error`), rather than leaving it to the REST renderer."""

    websocket_adapter_class = TextWebSocketAdapter
    graphql_transport_ws_handler_class = LimitedTransportWSHandler

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON the view reads (HTTP bodies and parameters, WebSocket messages), nested
        at most MAX_JSON_DEPTH levels: deeper is `NestedTooDeeply` (the standard parser would
        recurse until Python's limit, a 500)."""
        try:
            value = json.loads(data)
        except RecursionError:
            raise NestedTooDeeply from None
        if isinstance(value, dict | list) and nested_deeper_than(value, MAX_JSON_DEPTH):
            raise NestedTooDeeply
        return value

    def parse_json(self, data: str | bytes) -> Any:
        """An HTTP request's JSON (the body; GET's `variables` and `extensions`): unreadable,
        nested too deeply, or not an object (nor an array: a batch, which Strawberry refuses
        next, batching being off) is a 400 GraphQL error, never a 500."""
        try:
            value = self.decode_json(data)
        except NestedTooDeeply as exc:
            raise validation(f"The request's JSON is {exc.msg}.") from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(value, dict | list):
            kind = "null" if value is None else JSON_KINDS.get(type(value), "not an object")
            raise validation(f"The request's JSON must be an object, not {kind}.")
        return value

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Our GraphiQL page (every file from /static: works offline) instead of Strawberry's,
        which loads its scripts from a CDN."""
        return graphiql_page(request.url.path)

    async def get_context(self, request: Request | WebSocket, response: Any) -> GraphQLContext:
        return await new_context(request, response)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """A WebSocket's caller, from `connection_init`'s payload `{"Authorization": "Bearer
        <JWT>"}`: a missing or bad token, or one socket more than the caller may hold in this
        process, closes it with 4403; when the token expires, the server closes it (4403)."""
        websocket = context.request
        assert isinstance(websocket, WebSocket)
        params = getattr(context, "connection_params", None) or {}
        authorization = params.get("Authorization") or params.get("authorization")
        app = websocket.app
        try:
            principal, expires = await app.state.authenticator.authenticate_until(authorization)
        except DomainError as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        sockets: Counter[UUID] = app.state.sockets
        settings = app.state.settings
        if sockets[principal.user_id] >= settings.sockets_per_user:
            raise ConnectionRejectionError({"message": "Too many sockets for this user."})
        sockets[principal.user_id] += 1
        context.set_caller(Context(principal, app.state.clock(), settings))
        loop = asyncio.get_running_loop()
        expiry = loop.call_later(max(0.0, expires - time.time()), _expire, websocket)
        websocket.scope["leko_socket"] = (principal.user_id, expiry)
        return UNSET

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                _closed(scope)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        await (await self.answer(request))(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        if request.method not in ALLOWED_METHODS:
            error = DomainError(
                ErrorCode.validation, f"{request.method} is not allowed on /graphql."
            )
            return graphql_error_response(request, error, 405, {"Allow": "GET, POST"})
        try:
            response = await self.run(request)
        except HTTPException as exc:  # Strawberry's refusal of the HTTP request
            refusal = DomainError(ErrorCode.validation, exc.reason)
            return graphql_error_response(request, refusal, exc.status_code)
        except Exception as exc:  # every failure is answered (an unexpected one logged)
            return render_request_error(request, exc)
        if response.status_code >= 400 and isinstance(response, PlainTextResponse):
            # Strawberry's own refusal of the HTTP request (no query, unreadable JSON, a
            # mutation over GET), which it answers as plain text.
            refusal = DomainError(ErrorCode.validation, bytes(response.body).decode())
            return graphql_error_response(request, refusal, response.status_code)
        return response


_CLOSING: set[asyncio.Task[None]] = set()  # closes under way (a task needs a reference)


def _expire(websocket: WebSocket) -> None:
    """The socket's token expired: close it (4403)."""
    task = asyncio.get_running_loop().create_task(_expired(websocket))
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


async def _expired(websocket: WebSocket) -> None:
    with contextlib.suppress(Exception):  # closed meanwhile
        await websocket.close(code=4403, reason="Token expired")


def _closed(scope: Scope) -> None:
    """A WebSocket ended: its caller holds one socket less, its expiry timer is cancelled."""
    held = scope.pop("leko_socket", None)
    if held is None:
        return
    user_id, expiry = held
    expiry.cancel()
    sockets: Counter[UUID] = scope["app"].state.sockets
    sockets[user_id] -= 1
    if sockets[user_id] <= 0:
        del sockets[user_id]


def graphql_endpoint(schema: BaseSchema, settings: Settings) -> GraphQLEndpoint:
    """The ASGI app to route at /graphql (every method: those GraphQL over HTTP does not use
    get a GraphQL-shaped 405; WebSockets speak `graphql-transport-ws`)."""
    return GraphQLEndpoint(
        schema,
        graphql_ide="graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.subscriptions_per_socket,
        allowed_origins=[o.strip() for o in settings.websocket_origins.split(",") if o.strip()],
    )
