"""The service's browser pages: the landing page at `/`, GraphiQL at /graphql, Swagger UI at
{base}/docs and the reference calendar page at /calendar. Every script, style sheet and icon they
load is served from /static (the front-end packages vendored by scripts/vendor-assets, and the
calendar page's own static/calendar/), so the pages work without internet. None needs a token:
the pages hold no data, the calls made from them do."""

from __future__ import annotations

import hashlib
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import parse_qs

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from leko_bookings import __version__

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"
TITLE = "LE-KO Bookings"
TOKEN_COMMAND = "leko-bookings token --sub <uuid> --role athlete"
DEFAULT_HEADERS = '{"Authorization": "Bearer "}'
DEFAULT_QUERY = (
    "# Paste a token after `Bearer ` in the Headers tab below, then run a query. A token:\n"
    f"#   {TOKEN_COMMAND}\n"
    "query ($userId: UUID!) {\n"
    "  bookings(userId: $userId) { nodes { bookingId startAt bookingStatus } }\n"
    "}\n"
)
# A URL carrying its file's digest (`?v=`) never changes content: cached for a year. Without
# it, the browser revalidates (ETag / Last-Modified) on each use.
PINNED_CACHE = "public, max-age=31536000, immutable"
UNPINNED_CACHE = "no-cache"


class StaticAssets(StaticFiles):
    """StaticFiles with the cache headers above."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        pinned = "v" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        response.headers["Cache-Control"] = PINNED_CACHE if pinned else UNPINNED_CACHE
        return response


@cache
def asset(path: str) -> str:
    """The URL of a file under static/, versioned by its content."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:16]
    return f"{STATIC_PATH}/{path}?v={digest}"


def html_page(title: str, body: str, head: str = "") -> HTMLResponse:
    """A page of ours: its title, our icon, what it adds to <head>, its body."""
    return HTMLResponse(
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/svg+xml" href="{asset("favicon.svg")}">\n'
        f"{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )


def stylesheet(path: str) -> str:
    return f'<link rel="stylesheet" href="{asset(path)}">\n'


def script(path: str) -> str:
    return f'<script src="{asset(path)}"></script>\n'


GRAPHIQL_STYLE = """<style>
body { margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: sans-serif; }
#token-hint { margin: 0; padding: 6px 12px; font-size: 14px; background: #f3f6fa; }
#graphiql { flex: 1; min-height: 0; }
</style>
"""


def graphiql_page(endpoint: str) -> HTMLResponse:
    """GraphiQL on `endpoint`, its headers editor holding `Authorization: Bearer `."""
    head = (
        stylesheet("vendor/graphiql/graphiql.min.css")
        + GRAPHIQL_STYLE
        + script("vendor/react/react.production.min.js")
        + script("vendor/react-dom/react-dom.production.min.js")
        + script("vendor/graphiql/graphiql.min.js")
    )
    body = (
        '<p id="token-hint">Queries need a token: put it after <code>Bearer </code> in the '
        f"Headers tab. Get one with <code>{escape(TOKEN_COMMAND)}</code> (see the README, "
        '"First calls").</p>\n'
        f'<div id="graphiql" data-endpoint="{escape(endpoint)}" '
        f'data-headers="{escape(DEFAULT_HEADERS)}" data-query="{escape(DEFAULT_QUERY)}">'
        "Loading GraphiQL…</div>\n" + script("graphiql.js")
    )
    return html_page(f"{TITLE}: GraphiQL", body, head)


def swagger_ui_page(openapi_url: str) -> HTMLResponse:
    """FastAPI's Swagger UI page on the vendored Swagger UI, without the online validator."""
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{TITLE}: REST API",
        swagger_js_url=asset("vendor/swagger-ui-dist/swagger-ui-bundle.js"),
        swagger_css_url=asset("vendor/swagger-ui-dist/swagger-ui.css"),
        swagger_favicon_url=asset("vendor/swagger-ui-dist/favicon-32x32.png"),
        swagger_ui_parameters={"validatorUrl": None},
    )


CALENDAR_BODY = """<header id="top">
<h1>LE-KO Bookings: calendar</h1>
<p id="who" data-testid="who"></p>
<p id="live" data-testid="live" data-state="offline" role="status">Live updates: off</p>
<button type="button" id="sign-out" data-testid="sign-out" hidden>Sign out</button>
</header>
<form id="sign-in" data-testid="sign-in">
<h2>Sign in</h2>
<p>Paste a bearer token (a JWT). The demo prints links that fill it in
(<code>leko-bookings seed</code>); get one for any user with
<code>{token_command}</code>.</p>
<label for="token">Token</label>
<textarea id="token" name="token" rows="3" required autocomplete="off"
 spellcheck="false"></textarea>
<button type="submit" id="sign-in-button" data-testid="sign-in-button">Sign in</button>
<p id="sign-in-error" class="error" role="alert"></p>
</form>
<main id="calendar-app" data-endpoint="{endpoint}" hidden>
<p id="message" data-testid="message" role="status"></p>
<nav id="range-nav">
<button type="button" id="previous" data-testid="previous">&larr; Previous</button>
<button type="button" id="today" data-testid="today">Today</button>
<button type="button" id="next" data-testid="next">Next &rarr;</button>
<h2 id="range-title" data-testid="range-title"></h2>
<span class="views">
<button type="button" id="week-view" data-testid="week-view" aria-pressed="true">Week</button>
<button type="button" id="month-view" data-testid="month-view" aria-pressed="false">Month</button>
</span>
</nav>
<section id="calendar" data-testid="calendar" aria-label="Bookings"></section>
<section id="events-section" aria-labelledby="events-title">
<h2 id="events-title">This week's events</h2>
<p class="hint">Seats left update live. Tick several events to book them in one order.</p>
<table id="events" data-testid="events">
<thead><tr><th></th><th>When</th><th>Coach</th><th>Sport</th><th>Slot</th><th>Price</th>
<th>Seats left</th><th></th></tr></thead>
<tbody></tbody>
</table>
<button type="button" id="book-selected" data-testid="book-selected" disabled>
Book the ticked events</button>
</section>
<aside id="side">
<section id="notifications-section" aria-labelledby="notifications-title">
<h2 id="notifications-title">Unread notifications
<span id="unread-count" data-testid="unread-count">0</span></h2>
<ul id="notifications" data-testid="notifications"></ul>
<button type="button" id="mark-read" data-testid="mark-read" disabled>Mark all read</button>
</section>
<section id="feed-section" aria-labelledby="feed-title">
<h2 id="feed-title">Calendar feed</h2>
<p class="hint">An iCalendar URL for a calendar app. It is shown once: creating another
replaces it.</p>
<button type="button" id="create-feed" data-testid="create-feed">Create a feed URL</button>
<input id="feed-url" data-testid="feed-url" readonly hidden aria-label="Feed URL">
</section>
</aside>
</main>
<dialog id="cancel-dialog" data-testid="cancel-dialog">
<form method="dialog">
<h2>Cancel this booking</h2>
<p id="cancel-what"></p>
<label for="cancel-reason">Reason</label>
<select id="cancel-reason" data-testid="cancel-reason">
<option value="NotFeelingWell">Not feeling well</option>
<option value="NoTime">No time</option>
<option value="Other">Other</option>
</select>
<label for="cancel-text">Details (optional)</label>
<input id="cancel-text" data-testid="cancel-text" maxlength="500">
<button value="keep">Keep it</button>
<button value="confirm" data-testid="cancel-confirm">Cancel the booking</button>
</form>
</dialog>
"""


def calendar_page(endpoint: str) -> HTMLResponse:
    """The reference calendar page (issue 14): a plain page on the public GraphQL API at
    `endpoint`, live over its subscriptions; its script and style are static/calendar/."""
    head = stylesheet("calendar/calendar.css")
    body = (
        CALENDAR_BODY.format(endpoint=escape(endpoint), token_command=escape(TOKEN_COMMAND))
        + script("vendor/graphql-ws/graphql-ws.min.js")
        + script("calendar/calendar.js")
    )
    return html_page(f"{TITLE}: calendar", body, head)


def landing(request: Request, links: dict[str, tuple[str, str]]) -> Response:
    """`links` (name: (URL, what it is)) as a page for browsers, as JSON for other clients."""
    if "text/html" not in request.headers.get("accept", ""):
        urls = {name: url for name, (url, _) in links.items()}
        index = {"service": TITLE, "version": __version__, "links": urls}
        return Response(orjson.dumps(index), media_type="application/json")
    items = "".join(
        f'<li><a href="{escape(url)}">{escape(what)}</a> <code>{escape(url)}</code></li>\n'
        for url, what in links.values()
    )
    body = (
        f"<h1>{TITLE}</h1>\n<ul>\n{items}</ul>\n"
        f"<p>Calls need a token: <code>{escape(TOKEN_COMMAND)}</code> (see the README).</p>\n"
    )
    return html_page(TITLE, body, "<style>body { font-family: sans-serif; margin: 2em; }</style>\n")


def install(app: FastAPI, *, base: str, graphql: str, sdl: str) -> None:
    """/static, the landing page, Swagger UI at {base}/docs, the calendar page at /calendar and
    the SDL at {graphql}/schema.graphql (GraphiQL itself is the GraphQL endpoint's page:
    schema/endpoint.py)."""
    openapi_url = f"{base}/openapi.json"
    sdl_url = f"{graphql}/schema.graphql"
    links = {
        "graphiql": (graphql, "GraphiQL: the GraphQL API in the browser"),
        "swaggerUi": (f"{base}/docs", "Swagger UI: the REST API in the browser"),
        "openapi": (openapi_url, "The OpenAPI document of the REST API"),
        "sdl": (sdl_url, "The GraphQL schema (SDL)"),
        "calendar": ("/calendar", "The calendar page: bookings and events, live (GraphQL)"),
    }
    app.mount(STATIC_PATH, StaticAssets(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def landing_page(request: Request) -> Response:
        return landing(request, links)

    @app.get(f"{base}/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger_ui_page(openapi_url)

    @app.get("/calendar", include_in_schema=False)
    async def calendar() -> HTMLResponse:
        return calendar_page(graphql)

    @app.get(sdl_url, include_in_schema=False)
    async def schema_sdl() -> PlainTextResponse:
        return PlainTextResponse(sdl)
