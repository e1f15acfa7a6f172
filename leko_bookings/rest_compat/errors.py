"""One renderer for every REST error: the contract's bodies, never FastAPI's 422 or a stack.

Every domain error, a database that cannot be reached, FastAPI's request validation and
Starlette's HTTP errors are answered here. The body's shape is the one the matched route
declares for the status (`responses.declared_body`: `Error`, `Errors` or the order's
`BookEventErrorResponse`); without a matched route (an unknown path) it is `Errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from tortoise.exceptions import BaseORMException

from leko_bookings.errors import DomainError, ErrorCode
from leko_bookings.http import (
    error_headers,
    request_id,
    unexpected_failure,
    unreachable_database,
)
from leko_bookings.rest_compat.responses import BOOK_EVENT_ERRORS, ERROR, declared_body

# What a database that went away may raise (TimeoutError is an OSError); `unreachable_database`
# decides, the rest go on to the catch-all 500.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    BaseORMException,
)


def endpoint_of(request: Request, route: object = None) -> str:
    """`METHOD /path-template` as the contract names it (without the base path)."""
    route = route or request.scope.get("route")
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
    route: APIRoute | None = None,
) -> JSONResponse:
    """The contract's body for the route's declaration of this status (by default the code's
    own status; the route by default the matched one)."""
    status = status or error.status
    route = route or request.scope.get("route")
    entry: dict[str, Any] = {
        "code": error.code.value,
        "message": error.message,
        "endpoint": endpoint_of(request, route),
        "requestId": request_id(request),
    }
    body: dict[str, Any]
    declared = declared_body(route, status)
    if declared == ERROR:
        body = entry
    elif declared == BOOK_EVENT_ERRORS:
        refusals = [
            {"eventId": str(r.event_id), "bookingError": r.booking_error.value}
            for r in error.refusals
        ]
        body = entry | {"errors": refusals}
    else:
        body = {"errors": [entry]}
    all_headers = error_headers(request, error) | dict(headers or {})
    retry_after = getattr(error, "retry_after", None)  # e.g. an Idempotency-Key still in use
    if retry_after is not None:
        all_headers.setdefault("Retry-After", str(retry_after))
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


def _empty_parameter(request: Request) -> tuple[APIRoute, str] | None:
    """(route, parameter) when the path is an operation's with a path parameter left empty
    (`/v1/bookings//note`): a client sent an empty id, not a path that does not exist."""
    path = request.scope["path"]
    if "//" not in path:
        return None
    filled = path.replace("//", "/\0/")
    for route in iter_route_contexts(request.app.routes):
        original = route.original_route
        if not isinstance(original, APIRoute):
            continue
        if request.method not in (route.methods or ()):
            continue
        match = route.path_regex.match(filled)
        if match is None:
            continue
        empty = [name for name, value in match.groupdict().items() if value == "\0"]
        if empty:
            return original, empty[0]
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
            route, name = empty
            message = f"Invalid request: path.{name}: must be a UUID, not empty."
            error = DomainError(ErrorCode.validation, message)
            return error_response(request, error, status=400, route=route)
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


async def _database_failure(request: Request, exc: Exception) -> JSONResponse:
    """The database unreachable: 503 `unexpected` with Retry-After. Rendered here rather than
    by the catch-all handler of `Exception`, which Starlette re-raises once it has answered (the
    server then logs a stack and drops the client's keep-alive connection). Other failures go
    on to the catch-all (a logged 500)."""
    error = unreachable_database(request, exc)
    if error is None:
        raise exc
    return error_response(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, unexpected_failure(request, exc))


def install_error_handlers(app: FastAPI) -> None:
    """The REST renderer for every error (domain errors include `Unavailable`: 503)."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http)
    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, _database_failure)
    app.add_exception_handler(Exception, _unexpected)
