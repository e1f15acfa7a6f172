"""Per HTTP request: the fields its log records carry (`logs.RequestLog`), its metrics (count and
duration by route template, method and status) and its access line, which replaces uvicorn's.

The access line (logger `leko_bookings.access`, INFO) is `METHOD <route template> <status>
<ms> ms`, with `status`, `durationMs` and the request's fields (`requestId`, `method`, `route`,
`userId`; GraphQL's `operation`, `operationType`) in a JSON record. The route is the matched
template (`/v1/bookings/{bookingId}`, `/calendar/{token}.ics`), never the raw path, which may
carry a secret (a feed's token); an unmatched path is `unmatched` in the metrics and has no
route in the log. The probes (`/healthz`, `/readyz`) and `/metrics` are neither logged nor
counted.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leko_bookings import metrics
from leko_bookings.logs import REQUEST, RequestLog

NOT_OBSERVED = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"

access_log = logging.getLogger("leko_bookings.access")


def route_templates(routes: list[BaseRoute]) -> dict[int, str]:
    """The effective path template (`/v1/bookings/{bookingId}`, with the prefix of an included
    router) by the id of each route object and of each endpoint that serves one path only: what
    the router leaves in the scope (`route` for FastAPI's routes, `endpoint` for Starlette's
    routes and mounts, which FastAPI's router does not name in `route`)."""
    by_route: dict[int, str] = {}
    by_endpoint: dict[int, set[str]] = {}
    for context in iter_route_contexts(routes):
        original, template = context.original_route, context.path_format or context.path
        if template is None:
            continue
        by_route[id(original)] = template
        endpoint = getattr(original, "endpoint", None) or getattr(original, "app", None)
        if endpoint is not None:
            by_endpoint.setdefault(id(endpoint), set()).add(template)
    unique = {key: next(iter(paths)) for key, paths in by_endpoint.items() if len(paths) == 1}
    return unique | by_route


def route_template(scope: Scope, templates: dict[int, str]) -> str | None:
    """The path template of the route that answered, if one did."""
    for key in ("route", "endpoint"):
        found = scope.get(key)
        if found is not None and (template := templates.get(id(found))) is not None:
            return template
    return None


class ObservabilityMiddleware:
    """Sets the request's log fields for everything logged while answering it; counts, times and
    logs the answer. The outermost layer (`ObservedApp`): `RequestIdMiddleware`, inside, fills
    in the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates: dict[int, str] | None = None  # once the app's routes are all there

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_OBSERVED:
            await self.app(scope, receive, send)
            return
        request = RequestLog(request_id="", method=scope["method"])
        token = REQUEST.set(request)
        status = 500  # unless the app answers otherwise (an exception ends in a 500)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - start
            if self.templates is None:
                self.templates = route_templates(scope["app"].routes)
            request.route = route_template(scope, self.templates)
            metrics.observe_request(request.route or UNMATCHED, request.method, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                ms = round(seconds * 1000, 2)
                access_log.info(
                    "%s %s %d %.2f ms",
                    request.method,
                    request.route or "-",
                    status,
                    ms,
                    extra={"status": status, "durationMs": ms},
                )
            REQUEST.reset(token)


class ObservedApp(FastAPI):
    """FastAPI with `ObservabilityMiddleware` outside every layer of its own, so that it sees the
    answer of a failure too (rendered by Starlette's `ServerErrorMiddleware`, the outermost of
    FastAPI's stack, after every middleware added with `add_middleware` has seen the exception
    go by) and the records written while rendering it carry the request's fields."""

    def build_middleware_stack(self) -> ASGIApp:
        return ObservabilityMiddleware(super().build_middleware_stack())
