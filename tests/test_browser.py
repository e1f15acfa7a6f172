"""GraphiQL and Swagger UI render and work in a real browser with no route to the internet
(issue 12, item 8): headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright against a
real `leko-bookings serve`. Every request the pages make to anything but the test server is
aborted and recorded, and none may be made; DNS resolves nothing but loopback besides.

Skipped only where /usr/bin/chromium is absent outside CI; `.ci/run` installs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from leko_bookings.auth import mint_token
from leko_bookings.settings import Settings
from tests.conftest import SECRET
from tests.live_server import live_server, requires_program

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No route out even for what page.route does not see: only loopback resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
WAIT_MS = 30_000

pytestmark = requires_program(CHROMIUM, "chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    env = {
        "LEKO_DATABASE_URL": f"sqlite://{folder / 'browser.sqlite3'}",
        "LEKO_JWT_SECRET": SECRET,
    }
    with live_server(env, log=folder / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A page of the test server, and what it tried that it should not have."""

    page: Page
    server: str
    outside: list[str] = field(default_factory=list)  # requests to anything but the server
    crashes: list[str] = field(default_factory=list)  # uncaught exceptions in the page

    def open(self, path: str) -> None:
        self.page.goto(self.server + path)

    def stayed_home(self) -> None:
        assert self.outside == [], "the page tried to reach the internet"
        assert self.crashes == []


def guarded(context: BrowserContext, server: str) -> Visit:
    """A new page of `context` on `server`: every request to anything else aborted and
    recorded (`Visit.outside`), uncaught exceptions recorded (`Visit.crashes`)."""
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    seen = Visit(page, server)
    home = urlsplit(server).netloc

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == home:
            route.continue_()
        else:
            seen.outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", guard)
    page.on("pageerror", lambda error: seen.crashes.append(str(error)))
    return seen


@pytest.fixture
def visit(browser: Browser, server: str) -> Iterator[Visit]:
    context = browser.new_context(service_workers="block")
    try:
        yield guarded(context, server)
    finally:
        context.close()


def test_the_guard_sees_a_page_going_out(visit: Visit) -> None:
    visit.open("/")
    visit.page.evaluate("fetch('https://unpkg.com/react').catch(() => null)")
    assert visit.outside == ["https://unpkg.com/react"]


# CodeMirror 5 (GraphiQL 3's editors) keeps its editor object on its wrapper element.
PUT_CURSOR_AFTER = """([selector, text]) => {
    const editor = document.querySelector(selector).CodeMirror;
    const at = editor.getValue().indexOf(text);
    editor.focus();
    editor.setCursor(editor.posFromIndex(at + text.length));
}"""
SET_TEXT = "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"


def test_graphiql_runs_a_query_with_the_token_typed_into_its_headers(visit: Visit) -> None:
    user = uuid.uuid4()
    token = mint_token(Settings(jwt_secret=SECRET), user, ["athlete"])
    visit.open("/graphql")
    page = visit.page
    headers = page.locator(HEADERS_EDITOR)
    headers.wait_for()
    assert '"Authorization": "Bearer "' in headers.inner_text()
    # Anonymous, like the page's default query: GraphiQL takes the operation name from its
    # editor's change events, which it debounces.
    query = f'{{ bookings(userId: "{user}") {{ nodes {{ bookingId }} }} }}'
    page.evaluate(SET_TEXT, [QUERY_EDITOR, query])
    page.evaluate(PUT_CURSOR_AFTER, [HEADERS_EDITOR, "Bearer "])
    page.keyboard.type(token)
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    result.filter(has_text='"bookings"').wait_for()
    assert '"nodes": []' in result.inner_text()
    assert '"errors"' not in result.inner_text()
    visit.stayed_home()


def test_swagger_ui_lists_every_operation_of_the_served_document(visit: Visit) -> None:
    document = httpx.get(f"{visit.server}/v1/openapi.json").json()
    expected = sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    )
    visit.open("/v1/docs")
    page = visit.page
    page.locator('.opblock-summary-path[data-path="/bookings/{bookingId}"]').first.wait_for()
    shown = page.locator(".opblock-summary").evaluate_all(
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent,
            b.querySelector('.opblock-summary-path').dataset.path,
        ])"""
    )
    assert sorted(map(tuple, shown)) == expected
    visit.stayed_home()


def test_the_landing_page_leads_to_graphiql(visit: Visit) -> None:
    visit.open("/")
    visit.page.get_by_role("link", name="GraphiQL").click()
    visit.page.locator(QUERY_EDITOR).wait_for()
    visit.stayed_home()
