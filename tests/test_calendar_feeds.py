"""Calendar feeds (issue 14): createCalendarFeed / revokeCalendarFeed on GraphQL, and
GET /calendar/{token}.ics read by a calendar app (no bearer token), parsed with `icalendar`."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar

from leko_bookings.app import create_app
from leko_bookings.auth import Principal, Role
from leko_bookings.models import CalendarFeed
from leko_bookings.resolvers.catalog import parse_events, upsert_events
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings
from leko_bookings.store.views import NIL
from tests.conftest import NO_RATE_LIMITS, NOW, SECRET, client_for
from tests.factories import book, create_event, event_json, gql

DAY = timedelta(days=1)
DOMAIN = "feeds.leko.test"

CREATE = """mutation { createCalendarFeed { __typename
  ... on CalendarFeed { url createdAt } ... on Error { code message } } }"""
REVOKE = """mutation { revokeCalendarFeed { __typename
  ... on CalendarFeedRevoked { revoked } ... on Error { code message } } }"""
ACCEPT = """mutation($id: UUID!) { acceptBooking(bookingId: $id) { __typename } }"""
CANCEL = """mutation($id: UUID!) {
  cancelBooking(bookingId: $id, reasonCode: NoTime) { __typename } }"""
DISMISS = """mutation($id: UUID!, $user: UUID!) {
  dismissBooking(bookingId: $id, userId: $user) { __typename } }"""
ERASE = """mutation { deleteUserFromBookings { __typename } }"""


@pytest.fixture
def settings(database: str) -> Settings:
    return Settings(
        database_url=database, jwt_secret=SECRET, calendar_uid_domain=DOMAIN, **NO_RATE_LIMITS
    )


# --------------------------------------------------------------------------------------------
# Helpers


async def create_feed(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    data = await gql(client, headers, CREATE)
    result = data["data"]["createCalendarFeed"]
    assert result["__typename"] == "CalendarFeed", result
    return result["url"]


async def revoke_feed(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    result = (await gql(client, headers, REVOKE))["data"]["revokeCalendarFeed"]
    assert result["__typename"] == "CalendarFeedRevoked", result
    return result["revoked"]


async def fetch(client: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """What a calendar app does: a GET of the URL, no bearer token."""
    return await client.get(urlsplit(url).path, headers=headers)


def vevents(response: httpx.Response) -> dict[str, Any]:
    """The feed's VEVENTs by UID (each UID once)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    found = list(calendar.walk("VEVENT"))
    by_uid = {str(v["UID"]): v for v in found}
    assert len(by_uid) == len(found)
    return by_uid


def uid(object_id: uuid.UUID | str) -> str:
    return f"{object_id}@{DOMAIN}"


def summary(vevent: Any) -> tuple[str, int]:
    return str(vevent["STATUS"]), int(vevent.decoded("SEQUENCE"))


async def booking_id(response: httpx.Response) -> uuid.UUID:
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["bookings"][0]["bookingId"])


async def ok(client, headers, query: str, field: str, **variables: Any) -> None:
    data = await gql(client, headers, query, **variables)
    assert data["data"][field]["__typename"] not in ("ValidationError", "ForbiddenError"), data


def _operator(settings: Settings, now: datetime) -> Context:
    return Context(Principal(uuid.uuid4(), frozenset({Role.admin})), now, settings)


# --------------------------------------------------------------------------------------------
# What a feed holds


async def test_a_feed_holds_the_users_bookings_and_coached_events_in_the_window(
    client, users, settings, clock
):
    coach, athlete, other = users.coach, users.athlete, users.other_athlete
    # Booked 60 days ago: a session 40 days ago (outside the window) and one 10 days ago.
    clock.now = NOW - 60 * DAY
    old = await create_event(settings, clock.now, coach=coach, start=NOW - 40 * DAY)
    recent = await create_event(settings, clock.now, coach=coach, start=NOW - 10 * DAY)
    b_old = await booking_id(await book(client, users.as_athlete, athlete, old))
    b_recent = await booking_id(await book(client, users.as_athlete, athlete, recent))
    clock.now = NOW
    pending = await create_event(settings, NOW, coach=coach, start=NOW + 2 * DAY, public=False)
    accepted = await create_event(settings, NOW, coach=coach, start=NOW + 3 * DAY)
    canceled = await create_event(settings, NOW, coach=coach, start=NOW + 4 * DAY)
    dismissed = await create_event(settings, NOW, coach=coach, start=NOW + 5 * DAY)
    far = await create_event(settings, NOW, coach=coach, start=NOW + 400 * DAY)
    empty = await create_event(settings, NOW, coach=coach, start=NOW + 6 * DAY)
    own = await create_event(settings, NOW, coach=athlete, start=NOW + 7 * DAY)  # they coach too
    elsewhere = await create_event(settings, NOW, coach=users.other_coach, start=NOW + 8 * DAY)
    ids = {}
    for name, event in (
        ("pending", pending),
        ("accepted", accepted),
        ("canceled", canceled),
        ("dismissed", dismissed),
        ("far", far),
    ):
        ids[name] = await booking_id(await book(client, users.as_athlete, athlete, event))
    theirs = await booking_id(await book(client, users.as_other_athlete, other, accepted))
    their_own = await booking_id(await book(client, users.as_other_athlete, other, own))
    their_elsewhere = await booking_id(await book(client, users.as_other_athlete, other, elsewhere))
    for name in ("canceled", "dismissed"):
        await ok(client, users.as_athlete, CANCEL, "cancelBooking", id=str(ids[name]))
    dismiss = {"id": str(ids["dismissed"]), "user": str(athlete)}
    await ok(client, users.as_athlete, DISMISS, "dismissBooking", **dismiss)

    response = await fetch(client, await create_feed(client, users.as_athlete))
    mine = vevents(response)
    assert {u: str(v["STATUS"]) for u, v in mine.items()} == {
        uid(b_recent): "CONFIRMED",
        uid(ids["pending"]): "TENTATIVE",
        uid(ids["accepted"]): "CONFIRMED",
        uid(ids["canceled"]): "CANCELLED",
        uid(own): "CONFIRMED",  # the event they coach, booked by the other athlete
    }
    pending_entry = mine[uid(ids["pending"])]
    assert pending_entry.decoded("DTSTART") == NOW + 2 * DAY
    assert pending_entry.decoded("DTEND") == NOW + 2 * DAY + timedelta(minutes=60)
    assert b"DTSTART:20260603T090000Z" in response.content  # written in UTC
    assert str(pending_entry["SUMMARY"]) == "LE-KO session (offline)"
    assert "1 athlete" in str(mine[uid(own)]["SUMMARY"])
    assert str(Calendar.from_ical(response.content)["X-WR-CALNAME"]) == "LE-KO bookings"
    # Nothing of anyone else's: not the other athlete's bookings (even in the same events).
    for other_id in (theirs, their_own, their_elsewhere, b_old, ids["far"], ids["dismissed"]):
        assert str(other_id).encode() not in response.content
    assert str(other).encode() not in response.content

    coached = vevents(await fetch(client, await create_feed(client, users.as_coach)))
    assert {u: str(v["STATUS"]) for u, v in coached.items()} == {
        uid(recent): "CONFIRMED",
        uid(pending): "TENTATIVE",
        uid(accepted): "CONFIRMED",
        uid(canceled): "CANCELLED",  # its one booking holds no seat any more
        uid(dismissed): "CANCELLED",  # dismissing hides it from the athlete's calendar only
    }
    assert not {uid(empty), uid(far), uid(old)} & set(coached)
    assert "2 athletes" in str(coached[uid(accepted)]["SUMMARY"])
    assert "1 awaiting your approval" in str(coached[uid(pending)]["SUMMARY"])


async def test_uid_stays_sequence_grows_and_the_etag_follows_changes(
    client, users, settings, clock
):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + 2 * DAY, public=False)
    booking = await booking_id(await book(client, users.as_athlete, users.athlete, event))
    url = await create_feed(client, users.as_athlete)
    coach_url = await create_feed(client, users.as_coach)

    first = await fetch(client, url)
    again = await fetch(client, url)
    assert set(vevents(first)) == set(vevents(again)) == {uid(booking)}
    assert first.content == again.content
    etag = first.headers["etag"]
    assert etag == again.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert summary(vevents(first)[uid(booking)]) == ("TENTATIVE", 0)
    coach_before = summary(vevents(await fetch(client, coach_url))[uid(event)])
    assert coach_before == ("TENTATIVE", 0)

    not_modified = await fetch(client, url, **{"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    weak = await fetch(client, url, **{"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304

    clock.advance(minutes=5)
    await ok(client, users.as_coach, ACCEPT, "acceptBooking", id=str(booking))

    changed = await fetch(client, url, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    entry = vevents(changed)[uid(booking)]
    assert summary(entry) == ("CONFIRMED", 1)
    assert entry.decoded("LAST-MODIFIED") == clock.now
    assert summary(vevents(await fetch(client, coach_url))[uid(event)]) == ("CONFIRMED", 1)


async def test_a_catalog_change_grows_sequence_and_an_unchanged_sync_changes_nothing(
    client, users, settings, clock
):
    data = event_json(coach=users.coach, start=NOW + 2 * DAY)
    ctx = _operator(settings, NOW)
    await upsert_events(ctx, parse_events([data]))
    event = uuid.UUID(data["eventId"])
    booking = await booking_id(await book(client, users.as_athlete, users.athlete, event))
    url = await create_feed(client, users.as_athlete)
    first = await fetch(client, url)
    assert summary(vevents(first)[uid(booking)]) == ("CONFIRMED", 0)

    clock.advance(hours=1)
    await upsert_events(_operator(settings, clock.now), parse_events([data]))  # the same again
    assert (await fetch(client, url, **{"If-None-Match": first.headers["etag"]})).status_code == 304

    moved = event_json(coach=users.coach, start=NOW + 2 * DAY + timedelta(hours=2), event_id=event)
    await upsert_events(_operator(settings, clock.now), parse_events([moved]))
    entry = vevents(await fetch(client, url))[uid(booking)]
    assert entry.decoded("DTSTART") == NOW + 2 * DAY + timedelta(hours=2)
    assert summary(entry) == ("CONFIRMED", 1)
    assert entry.decoded("LAST-MODIFIED") == clock.now
    coached = vevents(await fetch(client, await create_feed(client, users.as_coach)))
    assert summary(coached[uid(event)]) == ("CONFIRMED", 1)


# --------------------------------------------------------------------------------------------
# The URL: its token is the credential


async def test_the_url_is_absolute_and_only_its_hash_is_stored(client, users):
    url = await create_feed(client, users.as_athlete)
    assert re.fullmatch(r"http://test/calendar/[A-Za-z0-9_-]{43,}\.ics", url)
    token = urlsplit(url).path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes, base64url
    row = await CalendarFeed.get(user_id=users.athlete)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(await CalendarFeed.all().values())


async def test_the_public_base_url_setting_starts_the_url(db, users, clock, channel):
    configured = Settings(
        database_url=db,
        jwt_secret=SECRET,
        public_base_url="https://cal.example.com/leko/",
        **NO_RATE_LIMITS,
    )
    app = create_app(configured, clock=clock, manage_database=False, channel=channel)
    async with client_for(app) as client:
        url = await create_feed(client, users.as_athlete)
    assert re.fullmatch(r"https://cal\.example\.com/leko/calendar/[A-Za-z0-9_-]{43,}\.ics", url)


async def test_no_bearer_token_is_needed_and_an_unknown_token_is_not_found(client, users):
    url = await create_feed(client, users.as_athlete)
    assert (await fetch(client, url)).status_code == 200
    assert (await fetch(client, url, Authorization="Bearer not-a-token")).status_code == 200
    for wrong in ("/calendar/unknown.ics", f"/calendar/{urlsplit(url).path[10:-5]}x.ics"):
        r = await client.get(wrong)
        assert r.status_code == 404, r.text
        assert r.json()["errors"][0]["code"] == "notFound"
    r = await client.post("/graphql", json={"query": CREATE})  # managing a feed needs a token
    assert r.status_code == 401


async def test_revoking_and_rotating_stop_the_old_url(client, users):
    theirs = await create_feed(client, users.as_other_athlete)
    first = await create_feed(client, users.as_athlete)
    second = await create_feed(client, users.as_athlete)  # rotation
    assert first != second
    assert (await fetch(client, first)).status_code == 404
    assert (await fetch(client, second)).status_code == 200
    assert await revoke_feed(client, users.as_athlete) is True
    assert (await fetch(client, second)).status_code == 404
    assert await revoke_feed(client, users.as_athlete) is False  # nothing left to revoke
    assert (await fetch(client, theirs)).status_code == 200  # another user's feed is theirs
    assert await CalendarFeed.filter(user_id=users.athlete).count() == 0


async def test_the_nil_user_has_no_calendar(client, users):
    result = (await gql(client, users.headers(NIL, "coach"), CREATE))["data"]
    assert result["createCalendarFeed"]["__typename"] == "ForbiddenError"


async def test_reads_are_rate_limited_per_feed(db, users, clock, channel):
    limits = NO_RATE_LIMITS | {"calendar_feed_rate_limit_per_minute": 6}
    limited = Settings(
        database_url=db, jwt_secret=SECRET, calendar_feed_rate_limit_burst=2, **limits
    )
    app = create_app(limited, clock=clock, manage_database=False, channel=channel)
    async with client_for(app) as client:
        url = await create_feed(client, users.as_athlete)
        other = await create_feed(client, users.as_other_athlete)
        assert [(await fetch(client, url)).status_code for _ in range(2)] == [200, 200]
        refused = await fetch(client, url)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"  # 6 a minute: a token every 10 s
        assert refused.json()["errors"][0]["code"] == "tooManyRequests"
        assert (await fetch(client, other)).status_code == 200  # each feed has its bucket
        clock.advance(seconds=10)
        assert (await fetch(client, url)).status_code == 200


# --------------------------------------------------------------------------------------------
# Erasure


async def test_erasure_deletes_the_feed_and_the_coach_s_sequence_still_grows(
    client, users, settings, clock
):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + 2 * DAY)
    await book(client, users.as_athlete, users.athlete, event)
    await book(client, users.as_other_athlete, users.other_athlete, event)
    url = await create_feed(client, users.as_athlete)
    coach_url = await create_feed(client, users.as_coach)
    assert (await fetch(client, url)).status_code == 200
    before = vevents(await fetch(client, coach_url))[uid(event)]
    assert "2 athletes" in str(before["SUMMARY"])

    await ok(client, users.as_athlete, ERASE, "deleteUserFromBookings")

    assert (await fetch(client, url)).status_code == 404
    assert await CalendarFeed.filter(user_id=users.athlete).count() == 0
    after = vevents(await fetch(client, coach_url))[uid(event)]
    assert "1 athlete" in str(after["SUMMARY"])
    # Their booking left with its history; the event counted it as changes.
    assert int(after.decoded("SEQUENCE")) > int(before.decoded("SEQUENCE"))


async def test_a_user_holding_only_a_feed_can_be_erased(client, users):
    url = await create_feed(client, users.as_other_athlete)
    data = await gql(client, users.as_other_athlete, ERASE)
    assert data["data"]["deleteUserFromBookings"]["__typename"] == "UserDataDeleted"
    assert (await fetch(client, url)).status_code == 404
    data = await gql(client, users.as_other_athlete, ERASE)
    assert data["data"]["deleteUserFromBookings"]["__typename"] == "NotFoundError"
