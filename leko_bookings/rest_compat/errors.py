"""One renderer for every REST error: the contract's bodies, never FastAPI's 422 or a stack."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from leko_bookings.db import database_unavailable
from leko_bookings.errors import DomainError, ErrorCode, TooManyRequests, Unavailable
from leko_bookings.http import REQUEST_ID_HEADER, request_id

log = logging.getLogger("leko_bookings.errors")

# Where the contract types an error as a single `Error` rather than `Errors` (SPEC_NOTES).
SINGLE_ERROR_404 = {
    "GET /bookings/{bookingId}",
    "PATCH /bookings/{bookingId}/completed",
    "PATCH /bookings/{bookingId}/note",
    "POST /bookings/{bookingId}/dismiss",
}
BOOK_EVENT_400 = "POST /bookings"
GRAPHQL_PATH = "/graphql"


def endpoint_of(request: Request) -> str:
    """`METHOD /path-template` as the contract names it (without the base path)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    base = request.app.state.settings.base_path.rstrip("/")
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    return f"{request.method} {path}"


def error_response(
    request: Request,
    error: DomainError,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
    endpoint: str | None = None,
) -> JSONResponse:
    """The contract's body for this endpoint and status (by default the code's own status)."""
    status = status or error.status
    endpoint = endpoint or endpoint_of(request)
    rid = request_id(request)
    entry: dict[str, Any] = {
        "code": error.code.value,
        "message": error.message,
        "endpoint": endpoint,
        "requestId": rid,
    }
    body: dict[str, Any]
    if status == 404 and endpoint in SINGLE_ERROR_404:
        body = entry
    elif status == 400 and endpoint == BOOK_EVENT_400:
        body = entry | {
            "errors": [
                {"eventId": str(r.event_id), "bookingError": r.booking_error.value}
                for r in error.refusals
            ]
        }
    else:
        if request.url.path.rstrip("/") == GRAPHQL_PATH:  # a GraphQL error as its clients read it
            entry["extensions"] = error.extensions
        body = {"errors": [entry]}
    all_headers = {REQUEST_ID_HEADER: rid, **(headers or {})}
    if isinstance(error, TooManyRequests):
        all_headers["Retry-After"] = str(error.retry_after)
    if error.code is ErrorCode.unauthorized:
        all_headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if request.headers.get("authorization") else "Bearer"
        )
    return JSONResponse(body, status_code=status, headers=all_headers)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:3]:
        if err.get("type") == "json_invalid":
            parts.append(
                f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'unreadable')})"
            )
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def allowed_methods(request: Request) -> str:
    """The methods served at this path, for `Allow` (Starlette's names one route's only).

    A literal path (`/bookings/notify`) is a resource of its own, not a value of a template's
    parameter (`/bookings/{bookingId}`), as OpenAPI matches paths.
    """
    path = request.scope["path"]
    matching = [
        route
        for route in iter_route_contexts(request.app.routes)
        if isinstance(route.original_route, APIRoute) and route.path_regex.match(path)
    ]
    chosen = [route for route in matching if "{" not in (route.path or "")] or matching
    return ", ".join(sorted({method for route in chosen for method in route.methods or ()}))


def _empty_parameter(request: Request) -> tuple[str, str] | None:
    """(endpoint, parameter) when the path is an operation's with a path parameter left empty
    (`/v1/bookings//note`): a client sent an empty id, not a path that does not exist."""
    path = request.scope["path"]
    if "//" not in path:
        return None
    filled = path.replace("//", "/\0/")
    base = request.app.state.settings.base_path.rstrip("/")
    for route in iter_route_contexts(request.app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if request.method not in (route.methods or ()):
            continue
        match = route.path_regex.match(filled)
        if match is None:
            continue
        empty = [name for name, value in match.groupdict().items() if value == "\0"]
        if empty:
            return f"{request.method} {(route.path or '').removeprefix(base)}", empty[0]
    return None


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(request, exc)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message = f"Invalid request: {_describe(list(exc.errors()))}."
    return error_response(request, DomainError(ErrorCode.validation, message))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        if empty := _empty_parameter(request):
            endpoint, name = empty
            message = f"Invalid request: path.{name}: must be a UUID, not empty."
            error = DomainError(ErrorCode.validation, message)
            return error_response(request, error, status=400, endpoint=endpoint)
        error = DomainError(ErrorCode.notFound, f"No such path: {request.url.path}.")
    elif exc.status_code == 405:
        error = DomainError(
            ErrorCode.validation, f"{request.method} is not allowed on {request.url.path}."
        )
        allow = allowed_methods(request)
        return error_response(request, error, {"Allow": allow} if allow else exc.headers, 405)
    else:
        error = DomainError(ErrorCode.validation, str(exc.detail))
    return error_response(request, error, headers=exc.headers, status=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        error = Unavailable("The database cannot be reached right now; retry shortly.")
        return error_response(request, error, headers={"Retry-After": "1"})
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request,
        DomainError(
            ErrorCode.internal, "Something went wrong on our side; the request id helps us find it."
        ),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
