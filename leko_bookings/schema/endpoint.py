"""The /graphql HTTP endpoint: Strawberry's FastAPI router, and the GraphQL side's one renderer of
the errors raised before execution.

The caller (401), its request limit (429), the body's size (413, raised by `BodyLimitMiddleware`
while the body is read), a dependency that cannot be reached (503: the token keys, the
database) and a request Strawberry cannot read (400: no query, unreadable JSON) fail before
anything is executed. `GraphQLErrorRoute` answers them as GraphQL clients read errors:
`{"errors": [{"message", "extensions": {"code", "requestId", ...}}]}` with no `data` (the
request failed before execution, as GraphQL over HTTP says), the HTTP status of the code and
the headers every error answer carries (`http.error_headers`). Errors during execution are
Strawberry's (typed union members, or `errors` entries with HTTP 200)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from strawberry.fastapi import GraphQLRouter
from strawberry.schema import BaseSchema

from leko_bookings.errors import DomainError, ErrorCode
from leko_bookings.http import error_headers, request_id, unexpected_failure
from leko_bookings.schema.context import get_context
from leko_bookings.ui import graphiql_page

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


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


class GraphQLErrorRoute(APIRoute):
    """A FastAPI route whose handler answers what it raises (its dependencies, the context
    getter, reading the body) as a GraphQL error, rather than leaving it to the REST renderer."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every failure is answered (an unexpected one logged)
                return render_request_error(request, exc)
            if response.status_code >= 400 and isinstance(response, PlainTextResponse):
                # Strawberry's own refusal of the HTTP request (no query, unreadable JSON, a
                # mutation over GET), which it answers as plain text.
                refusal = DomainError(ErrorCode.validation, bytes(response.body).decode())
                return graphql_error_response(request, refusal, response.status_code)
            return response

        return handle


class GraphQLEndpoint(GraphQLRouter):
    """Strawberry's FastAPI router answering with orjson (a calendar's answer is ~40 kB), its
    request errors rendered by `GraphQLErrorRoute`, its GraphiQL page ours (leko_bookings/ui.py)."""

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Our GraphiQL page (every file from /static: works offline) instead of Strawberry's,
        which loads its scripts from a CDN."""
        return graphiql_page(request.url.path)


OTHER_METHODS = ["PUT", "PATCH", "DELETE"]


async def _method_not_allowed(request: Request) -> Response:
    error = DomainError(ErrorCode.validation, f"{request.method} is not allowed on /graphql.")
    return graphql_error_response(request, error, 405, {"Allow": "GET, POST"})


def graphql_router(schema: BaseSchema) -> GraphQLEndpoint:
    """The router to include at /graphql: the service's context, GraphiQL, its error route, and
    a GraphQL-shaped 405 for the methods GraphQL over HTTP does not use."""
    router = GraphQLEndpoint(
        schema, context_getter=get_context, graphql_ide="graphiql", route_class=GraphQLErrorRoute
    )
    router.add_api_route("", _method_not_allowed, methods=OTHER_METHODS, include_in_schema=False)
    return router
