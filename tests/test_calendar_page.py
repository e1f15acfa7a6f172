"""The reference calendar page at /calendar (issue 14, part 3).

Fast checks (no browser, no database): the page and its assets are served, reference nothing
outside the service, work without a token (the sign-in form), and every GraphQL document the
page's script sends is valid against the published schema. `seed` prints links that sign in.

End to end: headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright against real `leko-
bookings serve` processes, one on SQLite and two on one PostgreSQL database (the coach's page on the
other process in the main flow), each request to anything but the test server aborted and recorded
(none may be made; DNS resolves nothing but loopback besides). An athlete signs in and books from
the week view; in a second browser context the coach sees the Pending booking appear without
reloading and accepts it; the athlete's page shows Accepted without reloading. Waits are for what
the pages show (Playwright's `expect`, bounded), never fixed sleeps. Screenshots go to test-
artifacts/calendar/<database>/ at the repository root.

The browser tests are skipped only where /usr/bin/chromium is absent outside CI; `.ci/run`
installs it."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import jwt
import pytest
from graphql import FieldNode, OperationDefinitionNode, build_schema, parse, validate
from playwright.sync_api import Browser, Locator, expect

from leko_bookings.auth import mint_token
from leko_bookings.schema import sdl
from leko_bookings.settings import Settings
from leko_bookings.ui import STATIC_DIR
from tests import test_browser
from tests.conftest import SECRET, create_pg_database, drop_pg_database, pg_url
from tests.factories import event_json
from tests.live_server import CLI, live_server, requires_program
from tests.test_browser import CHROMIUM, WAIT_MS, Visit, guarded
from tests.test_offline_ui import EMBEDDED_URL, HTML, ORIGIN, external, references

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "calendar"
PAGE_JS = STATIC_DIR / "calendar" / "calendar.js"
PAGE_CSS = STATIC_DIR / "calendar" / "calendar.css"

needs_chromium = requires_program(CHROMIUM, "chromium")


# --- served, offline, without a token ---------------------------------------------------------


async def test_the_page_is_served_with_its_assets_and_nothing_from_elsewhere(client):
    response = await client.get("/calendar", headers=HTML)  # no Authorization: none is needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    refs = references(response.text)
    assert external(refs) == []
    assets = {urlsplit(u).path for u in refs.urls if u.startswith("/static/")}
    assert {
        "/static/calendar/calendar.js",
        "/static/calendar/calendar.css",
        "/static/vendor/graphql-ws/graphql-ws.min.js",
    } <= assets
    for url in refs.urls:
        if url.startswith("/static/"):
            served = await client.get(urljoin(ORIGIN, url))
            assert served.status_code == 200, url
            assert "immutable" in served.headers["cache-control"], url  # versioned by `?v=`


def test_the_pages_own_script_and_style_name_no_origin():
    for source in (PAGE_JS, PAGE_CSS):
        text = source.read_text(encoding="utf-8")
        assert re.findall(r"\b(?:https?|wss?)://", text) == [], source
        assert EMBEDDED_URL.findall(text) == [], source
        assert "@import" not in text, source


async def test_without_a_token_the_page_shows_the_sign_in_form(client):
    html = (await client.get("/calendar", headers=HTML)).text
    form = re.search(r'<form id="sign-in"[^>]*>', html)
    assert form is not None
    assert "hidden" not in form.group(0)  # shown until a script signs in
    assert '<textarea id="token"' in html
    assert re.search(r'<main id="calendar-app" data-endpoint="/graphql" hidden>', html)


# --- the page's GraphQL documents ---------------------------------------------------------------

DOCUMENT = re.compile(r"const (\w+) = /\* GraphQL \*/ `(.*?)`;", re.S)
# What the page does, by the root field each operation selects (the list).
OPERATIONS = {
    "query": {"viewer", "bookings", "events", "notifications"},
    "mutation": {
        "bookEvents",
        "cancelBooking",
        "acceptBooking",
        "rejectBooking",
        "markBookingAsCompleted",
        "markNotificationsRead",
        "createCalendarFeed",
    },
    "subscription": {"eventAvailability", "calendarChanges"},
}


def page_documents() -> dict[str, str]:
    """The page's GraphQL documents by constant name, fragments substituted in."""
    found = dict(DOCUMENT.findall(PAGE_JS.read_text(encoding="utf-8")))
    fragments = {name: text for name, text in found.items() if text.lstrip().startswith("fragment")}
    documents = {}
    for name, text in found.items():
        if name in fragments:
            continue
        for fragment, body in fragments.items():
            text = text.replace("${" + fragment + "}", body)
        assert "${" not in text, name
        documents[name] = text
    return documents


def test_every_graphql_document_of_the_page_is_valid_against_the_schema():
    schema = build_schema(sdl())
    documents = page_documents()
    assert len(documents) >= 14
    seen: dict[str, set[str]] = {"query": set(), "mutation": set(), "subscription": set()}
    names = []
    for constant, text in documents.items():
        document = parse(text)
        assert validate(schema, document) == [], constant
        (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert operation.name is not None, f"{constant}: name every operation"
        names.append(operation.name.value)
        kind = operation.operation.value
        assert constant.endswith(kind.upper()), constant
        selections = operation.selection_set.selections
        seen[kind] |= {s.name.value for s in selections if isinstance(s, FieldNode)}
    assert len(names) == len(set(names))
    assert seen == OPERATIONS


# --- the demo's links ---------------------------------------------------------------------------


def test_seed_prints_calendar_links_that_carry_each_token(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'seed.sqlite3'}",
        "LEKO_JWT_SECRET": SECRET,
        "AERICH_NO_TORTOISE_V1_WARNING": "1",
    }
    done = subprocess.run(
        [*CLI, "seed"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    links = re.findall(r"^(athlete|coach):\s+(\S+)$", done.stdout, re.M)
    assert [role for role, _ in links] == ["athlete", "coach"]
    for role, link in links:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://127.0.0.1:8000/calendar"
        token = parts.fragment.removeprefix("token=")
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert claims["roles"] == [role]


# --- end to end in headless Chromium ------------------------------------------------------------

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename ... on Error { message } }
}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(the server, another server on the same database): on SQLite the same one process; on
    PostgreSQL two processes, so that a page on one sees what is done through the other."""
    folder = tmp_path_factory.mktemp("calendar")
    env = {"LEKO_JWT_SECRET": SECRET}
    if request.param == "sqlite":
        env["LEKO_DATABASE_URL"] = f"sqlite://{folder / 'calendar.sqlite3'}"
        with live_server(env, log=folder / "server.log") as url:
            yield url, url
        return
    name = f"leko_page_{uuid.uuid4().hex[:8]}"
    # Playwright's sync API runs an event loop in this thread once the browser is up.
    in_thread = ThreadPoolExecutor(1)
    in_thread.submit(asyncio.run, create_pg_database(name)).result()
    env["LEKO_DATABASE_URL"] = pg_url(name).replace("maxsize=60", "maxsize=10")
    try:
        with (
            live_server(env, log=folder / "first.log") as first,
            live_server(env, "--no-migrate", log=folder / "second.log") as second,
        ):
            yield first, second
    finally:
        in_thread.submit(asyncio.run, drop_pg_database(name)).result()
        in_thread.shutdown()


@pytest.fixture(scope="module")
def server(servers: tuple[str, str]) -> str:
    return servers[0]


browser = test_browser.browser  # the fixture: Debian's Chromium, headless, no route out


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """test-artifacts/calendar/<database>/: the screenshots of the run on that database."""
    folder = ARTIFACTS / request.node.callspec.params["servers"]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def visits(browser: Browser, server: str) -> Iterator[Callable[..., Visit]]:
    """Opens a new browser context (its own storage: another person) on the test server (or
    on the one given)."""
    contexts = []

    def open_context(on: str = server) -> Visit:
        # UTC and a fixed locale: the weeks the page shows are the weeks this test computes.
        context = browser.new_context(
            service_workers="block",
            timezone_id="UTC",
            locale="en-GB",
            viewport={"width": 1400, "height": 1000},
        )
        contexts.append(context)
        return guarded(context, on)

    try:
        yield open_context
    finally:
        for context in contexts:
            context.close()


def token(user: uuid.UUID, role: str) -> str:
    return mint_token(Settings(jwt_secret=SECRET), user, [role])


def upsert(server: str, events: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{server}/graphql",
        json={"query": UPSERT, "variables": {"events": events}},
        headers={"Authorization": f"Bearer {token(uuid.uuid4(), 'scheduler')}"},
        timeout=30,
    )
    assert response.json()["data"]["upsertEvents"]["__typename"] == "UpsertEventsSuccess", (
        response.text
    )


def publish(server: str, coach: uuid.UUID, start: datetime, capacity: int = 5) -> dict[str, Any]:
    """A private event: its bookings start Pending, for the coach to accept or reject (a public
    event's are Accepted at once)."""
    event = event_json(coach=coach, start=start, capacity=capacity, public=False)
    upsert(server, [event])
    return event


def soon(hours: int) -> datetime:
    """A whole hour `hours` from now (well past the 30-minute order lead time)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def monday(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def sign_in_by_link(visit: Visit, user_token: str) -> None:
    visit.open(f"/calendar#token={user_token}")
    expect(visit.page.get_by_test_id("who")).to_contain_text("Signed in as", timeout=WAIT_MS)


def show_week_of(visit: Visit, moment: datetime, shown: datetime | None = None) -> None:
    """From the week holding `shown` (default: now, where the page opens) to the one holding
    `moment`."""
    weeks = (monday(moment) - monday(shown or datetime.now(UTC))).days // 7
    for _ in range(abs(weeks)):
        visit.page.get_by_test_id("next" if weeks > 0 else "previous").click()


def event_row(visit: Visit, event_id: str) -> Locator:
    return visit.page.locator(f'[data-testid="event"][data-event-id="{event_id}"]')


def booking_card(visit: Visit, event_id: str) -> Locator:
    return visit.page.locator(
        f'[data-testid="week-grid"] [data-testid="booking"][data-event-id="{event_id}"]'
    )


def wait_until_live(visit: Visit, event_id: str) -> None:
    """The socket is acknowledged and the seats subscription has sent the event's seats (it
    was subscribed after calendarChanges, on the same socket)."""
    expect(visit.page.get_by_test_id("live")).to_have_attribute(
        "data-state", "live", timeout=WAIT_MS
    )
    expect(event_row(visit, event_id)).to_have_attribute("data-live", "yes", timeout=WAIT_MS)


def mark_loaded(visit: Visit) -> None:
    """A mark in the page's window: still there at the end means the page never reloaded."""
    visit.page.evaluate("window.loadedOnce = true")


def never_reloaded(visit: Visit) -> None:
    assert visit.page.evaluate("window.loadedOnce === true"), "the page was reloaded"


def shoot(visit: Visit, folder: Path, name: str) -> None:
    visit.page.screenshot(path=folder / f"{name}.png", full_page=True)


@needs_chromium
def test_without_a_token_the_form_signs_in_with_a_pasted_token(visits, artifacts):
    visit = visits()
    page = visit.page
    visit.open("/calendar")
    expect(page.get_by_test_id("sign-in")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#calendar-app")).to_be_hidden()
    shoot(visit, artifacts, "0-sign-in")
    page.locator("#token").fill("not-a-token")
    page.get_by_test_id("sign-in-button").click()
    expect(page.locator("#sign-in-error")).not_to_be_empty(timeout=WAIT_MS)
    expect(page.locator("#calendar-app")).to_be_hidden()

    athlete = uuid.uuid4()
    page.locator("#token").fill(token(athlete, "athlete"))
    page.get_by_test_id("sign-in-button").click()
    expect(page.get_by_test_id("who")).to_contain_text(str(athlete), timeout=WAIT_MS)
    expect(page.get_by_test_id("sign-in")).to_be_hidden()
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    visit.stayed_home()


@needs_chromium
def test_a_link_fills_the_token_and_leaves_the_address_bar(visits):
    visit = visits()
    coach = uuid.uuid4()
    coach_token = token(coach, "coach")
    sign_in_by_link(visit, coach_token)
    assert urlsplit(visit.page.url).fragment == ""
    assert visit.page.evaluate("Object.values({...sessionStorage})") == [coach_token]
    visit.page.reload()  # the token is kept for the tab
    expect(visit.page.get_by_test_id("who")).to_contain_text(str(coach), timeout=WAIT_MS)
    visit.stayed_home()


@needs_chromium
def test_an_athlete_books_and_the_coach_accepts_both_pages_live(servers, visits, artifacts):
    """On PostgreSQL the coach's page is served by the other process."""
    server, other = servers
    athlete, coach = uuid.uuid4(), uuid.uuid4()
    event = publish(server, coach, soon(3))
    event_id, start = event["eventId"], datetime.fromisoformat(event["startAt"])

    # The coach's page first: open on the event's week, live.
    coach_page = visits(other)
    sign_in_by_link(coach_page, token(coach, "coach"))
    show_week_of(coach_page, start)
    wait_until_live(coach_page, event_id)
    expect(event_row(coach_page, event_id).get_by_test_id("seats-left")).to_have_text("5 of 5")
    expect(booking_card(coach_page, event_id)).to_have_count(0)
    mark_loaded(coach_page)
    shoot(coach_page, artifacts, "1-coach-before")

    # The athlete books the event from the week view and sees it.
    athlete_page = visits()
    sign_in_by_link(athlete_page, token(athlete, "athlete"))
    show_week_of(athlete_page, start)
    wait_until_live(athlete_page, event_id)
    mark_loaded(athlete_page)
    shoot(athlete_page, artifacts, "2-athlete-week")
    event_row(athlete_page, event_id).get_by_test_id("book-event").click()
    card = booking_card(athlete_page, event_id)
    expect(card).to_have_attribute("data-status", "Pending", timeout=WAIT_MS)
    expect(event_row(athlete_page, event_id).get_by_test_id("booked")).to_have_text(
        "Booked: Pending"
    )
    expect(event_row(athlete_page, event_id).get_by_test_id("seats-left")).to_have_text(
        "4 of 5", timeout=WAIT_MS
    )
    shoot(athlete_page, artifacts, "3-athlete-booked")

    # The coach's page shows the Pending booking, without reloading, and accepts it.
    coach_card = booking_card(coach_page, event_id)
    expect(coach_card).to_have_attribute("data-status", "Pending", timeout=WAIT_MS)
    expect(coach_card).to_contain_text(f"athlete {str(athlete)[:8]}")
    expect(event_row(coach_page, event_id).get_by_test_id("seats-left")).to_have_text(
        "4 of 5", timeout=WAIT_MS
    )
    expect(coach_page.page.get_by_test_id("unread-count")).not_to_have_text("0", timeout=WAIT_MS)
    shoot(coach_page, artifacts, "4-coach-pending")
    coach_card.get_by_test_id("accept").click()
    expect(coach_card).to_have_attribute("data-status", "Accepted", timeout=WAIT_MS)

    # The athlete's page shows Accepted, without reloading.
    expect(card).to_have_attribute("data-status", "Accepted", timeout=WAIT_MS)
    expect(card.get_by_test_id("booking-status")).to_have_text("Accepted")
    shoot(athlete_page, artifacts, "5-athlete-accepted")
    shoot(coach_page, artifacts, "6-coach-accepted")

    for visit in (coach_page, athlete_page):
        never_reloaded(visit)
        visit.stayed_home()


@needs_chromium
def test_one_order_of_two_events_a_month_view_a_cancel_with_a_reason_and_a_feed(
    server, visits, artifacts
):
    athlete, coach = uuid.uuid4(), uuid.uuid4()
    first = publish(server, coach, soon(4))
    second = publish(server, coach, soon(6), capacity=1)
    start = datetime.fromisoformat(first["startAt"])

    coach_page = visits()
    sign_in_by_link(coach_page, token(coach, "coach"))
    show_week_of(coach_page, start)
    wait_until_live(coach_page, first["eventId"])
    mark_loaded(coach_page)

    visit = visits()
    page = visit.page
    sign_in_by_link(visit, token(athlete, "athlete"))
    show_week_of(visit, start)
    wait_until_live(visit, first["eventId"])
    mark_loaded(visit)
    for event in (first, second):
        event_row(visit, event["eventId"]).get_by_test_id("select-event").check()
    expect(page.get_by_test_id("book-selected")).to_contain_text("(2)")
    page.get_by_test_id("book-selected").click()
    for event in (first, second):
        expect(booking_card(visit, event["eventId"])).to_have_attribute(
            "data-status", "Pending", timeout=WAIT_MS
        )
    expect(page.get_by_test_id("message")).to_contain_text("Booked 2 event(s)")
    # The one-seat event is full now, for everyone watching.
    for watcher in (visit, coach_page):
        expect(event_row(watcher, second["eventId"]).get_by_test_id("seats-left")).to_have_text(
            "0 of 1", timeout=WAIT_MS
        )

    # The month view shows both bookings on their days.
    page.get_by_test_id("month-view").click()
    month = page.get_by_test_id("month-grid")
    for event in (first, second):
        day = datetime.fromisoformat(event["startAt"]).date().isoformat()
        expect(
            month.locator(f'[data-date="{day}"] [data-event-id="{event["eventId"]}"]')
        ).to_be_visible(timeout=WAIT_MS)
    shoot(visit, artifacts, "7-athlete-month")
    page.get_by_test_id("week-view").click()

    # Cancel one with a reason: the coach's page sees it canceled, with the reason.
    card = booking_card(visit, second["eventId"])
    card.get_by_test_id("cancel").click()
    page.get_by_test_id("cancel-reason").select_option("NoTime")
    page.get_by_test_id("cancel-text").fill("Moved abroad")
    page.get_by_test_id("cancel-confirm").click()
    expect(card).to_have_attribute("data-status", "Canceled", timeout=WAIT_MS)
    coach_card = booking_card(coach_page, second["eventId"])
    expect(coach_card).to_have_attribute("data-status", "Canceled", timeout=WAIT_MS)
    expect(coach_card).to_contain_text("NoTime (Moved abroad)")
    expect(event_row(coach_page, second["eventId"]).get_by_test_id("seats-left")).to_have_text(
        "1 of 1", timeout=WAIT_MS
    )
    shoot(coach_page, artifacts, "8-coach-canceled")

    # The coach rejects the other.
    rejected = booking_card(coach_page, first["eventId"])
    rejected.get_by_test_id("reject").click()
    expect(booking_card(visit, first["eventId"])).to_have_attribute(
        "data-status", "Rejected", timeout=WAIT_MS
    )

    # A feed URL of this server, to paste into a calendar app.
    page.get_by_test_id("create-feed").click()
    feed = page.get_by_test_id("feed-url")
    expect(feed).to_be_visible(timeout=WAIT_MS)
    assert re.fullmatch(re.escape(visit.server) + r"/calendar/[\w-]+\.ics", feed.input_value())
    assert httpx.get(feed.input_value()).headers["content-type"].startswith("text/calendar")
    shoot(visit, artifacts, "9-athlete-feed")

    for watcher in (coach_page, visit):
        never_reloaded(watcher)
        watcher.stayed_home()


@needs_chromium
def test_an_accepted_session_moved_into_the_past_can_be_marked_completed(server, visits, artifacts):
    athlete, coach = uuid.uuid4(), uuid.uuid4()
    event = publish(server, coach, soon(5))
    booked = httpx.post(
        f"{server}/graphql",
        json={
            "query": "mutation ($u: UUID!, $e: [UUID!]!) { bookEvents(userId: $u, eventIds: $e, "
            "paymentMethod: {type: Cash}) { ... on BookingOrder { bookings { bookingId } } } }",
            "variables": {"u": str(athlete), "e": [event["eventId"]]},
        },
        headers={"Authorization": f"Bearer {token(athlete, 'athlete')}"},
        timeout=30,
    ).json()
    assert booked["data"]["bookEvents"]["bookings"], booked

    visit = visits()
    sign_in_by_link(visit, token(coach, "coach"))
    start = datetime.fromisoformat(event["startAt"])
    show_week_of(visit, start)
    card = booking_card(visit, event["eventId"])
    card.get_by_test_id("accept").click()
    expect(card).to_have_attribute("data-status", "Accepted", timeout=WAIT_MS)
    expect(card.get_by_test_id("complete")).to_have_count(0)  # not before the end
    mark_loaded(visit)

    # The catalog moves the event to an hour that has passed; the page learns of the move live
    # (when the new time falls in another week, the page is taken there).
    moved_start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    moved = {**event, "startAt": moved_start.isoformat()}
    moved["endAt"] = (moved_start + timedelta(hours=1)).isoformat()
    upsert(server, [moved])
    show_week_of(visit, moved_start, shown=start)
    expect(card.get_by_test_id("complete")).to_be_visible(timeout=WAIT_MS)
    card.get_by_test_id("complete").click()
    expect(card.get_by_test_id("booking-status")).to_have_text(
        "Accepted ✓ completed", timeout=WAIT_MS
    )
    shoot(visit, artifacts, "10-coach-completed")
    never_reloaded(visit)
    visit.stayed_home()
