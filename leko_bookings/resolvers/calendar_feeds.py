"""Calendar feeds (issue 14): a secret URL per user that a calendar app (Google, Apple, Outlook)
subscribes to, showing the user's sessions. Every rule of a feed is here; the GET route
(`feeds/`) and the GraphQL mutations (`schema/calendar_feeds.py`) only translate.

- A user has at most one feed; creating one replaces the previous one (its URL stops working),
  revoking deletes it. Both act on the caller's own feed only.
- The URL's token is the credential: 256 random bits (`secrets.token_urlsafe(32)`); only its
  SHA-256 is stored, so the URL is shown once, when the feed is created.
- A feed shows what overlaps [now - 30 days, now + 365 days): each booking of the user as the
  athlete, but those they dismissed (as in their calendar list), and each event the user coaches
  that has bookings (of any status).
- STATUS comes from the bookings' statuses only (a session that happened stays as it was, even
  in an event canceled afterwards): CANCELLED when no booking holds a seat any more (canceled,
  rejected, expired), TENTATIVE while every seat-holding one is Pending, else CONFIRMED.
- SEQUENCE counts the changes since the entry appeared: the event's revisions (every write of
  its row: a catalog change, a cancellation) plus the history entries of the booking, or of all
  the event's bookings, past the first. Both only grow: the history is append-only, and an
  athlete's erasure, which deletes their bookings with their history, adds to the events they
  booked as many revisions as entries it removes, plus one (`before_erasure`). A move's history
  entries (`Moved`) are not counted: the event's revision counts the move once.
- UID `<booking id>@<domain>` or `<event id>@<domain>` (`LEKO_CALENDAR_UID_DOMAIN`): stable.
- Reads are limited per feed (`resolvers/rate_limits.py`), after the feed is found; an unknown
  or revoked token is not found (and takes no bucket).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from tortoise.transactions import in_transaction

from leko_bookings.errors import Forbidden, NotFound, validation
from leko_bookings.models import BookingStatus, HistoryAction
from leko_bookings.resolvers import rate_limits
from leko_bookings.resolvers.common import time_ordered_uuid
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.settings import Settings
from leko_bookings.store import calendar_feeds as feed_rows
from leko_bookings.store import erasure as erasure_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store.locks import lock_user
from leko_bookings.store.views import NIL, CalendarEntryView

FEED_PATH = "/calendar/{token}.ics"
"""Where a feed is served (the GET route's path), after the public base URL."""
PAST, AHEAD = timedelta(days=30), timedelta(days=365)
UNCOUNTED = (HistoryAction.Moved,)  # the event's revision counts a move
CALENDAR_NAME = "LE-KO bookings"
REFRESH = timedelta(hours=1)  # how often calendar apps are asked to fetch again


class FeedStatus(StrEnum):
    """An entry's STATUS (RFC 5545, VEVENT)."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class CreatedFeed:
    url: str  # absolute; holds the token, shown this once
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One VEVENT of a feed."""

    uid: str
    start_at: datetime
    end_at: datetime
    summary: str
    description: str
    status: FeedStatus
    sequence: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    refresh: timedelta
    entries: tuple[FeedEntry, ...]  # by start, then UID


def token_hash(token: str) -> str:
    """What is stored of a feed's token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _owner(ctx: Context) -> UUID:
    me = ctx.principal.user_id
    if me == NIL:  # the erased users' id: the calendar of no one
        raise Forbidden("The nil id stands for erased users; it has no calendar.")
    return me


async def create_feed(ctx: Context, request_base_url: str | None) -> CreatedFeed:
    """A new feed for the caller, replacing theirs if any. Its URL starts with
    `LEKO_PUBLIC_BASE_URL` when set, else with the base URL the request came to."""
    me = _owner(ctx)
    base = ctx.settings.public_base_url or request_base_url
    if not base:
        raise validation("The service's public URL is unknown: set LEKO_PUBLIC_BASE_URL.")
    token = secrets.token_urlsafe(32)
    async with in_transaction() as conn:
        await lock_user(conn, me)
        replaced = await feed_rows.replace(time_ordered_uuid(), me, token_hash(token), ctx.now)
        await rate_limits.forget_feeds(replaced)
    return CreatedFeed(base.rstrip("/") + FEED_PATH.format(token=token), ctx.now)


async def revoke_feed(ctx: Context) -> bool:
    """Delete the caller's feed (its URL stops working); False when they had none."""
    me = _owner(ctx)
    async with in_transaction() as conn:
        await lock_user(conn, me)
        revoked = await feed_rows.delete_of(me)
        await rate_limits.forget_feeds(revoked)
    return bool(revoked)


async def read_feed(token: str, now: datetime, settings: Settings) -> Feed:
    """The feed whose URL holds `token`, as of `now`. No bearer token: the URL's token is the
    credential (unknown or revoked: not found), and the feed's own bucket limits its reads."""
    feed = await feed_rows.feed_by_token_hash(token_hash(token))
    if feed is None:
        raise NotFound("No such calendar feed: the URL is wrong or was revoked.")
    await rate_limits.take_feed_read(feed.id, now, settings)
    found = await feed_rows.calendar_entries(feed.user_id, now - PAST, now + AHEAD, UNCOUNTED)
    entries = [_entry(view, settings.calendar_uid_domain) for view in found]
    ordered = tuple(sorted(entries, key=lambda e: (e.start_at, e.uid)))
    return Feed(CALENDAR_NAME, REFRESH, ordered)


async def before_erasure(user_id: UUID, now: datetime) -> None:
    """Inside an erasure's transaction, before the user's bookings go: their feed goes (with
    its bucket), and each event they booked counts as many revisions as history entries leave
    with their bookings in it, plus one, so its coach's SEQUENCE still grows."""
    await rate_limits.forget_feeds(await feed_rows.delete_of(user_id))
    removed = await erasure_rows.history_sizes_by_event(user_id)
    await event_rows.add_revisions({event: n + 1 for event, n in removed.items()}, now)


def status_of(statuses: tuple[BookingStatus, ...]) -> FeedStatus:
    """A booking's STATUS (one status), or an event's (each of its bookings')."""
    held = [s for s in statuses if s in SEAT_HOLDING]
    if not held:
        return FeedStatus.CANCELLED
    if all(s is BookingStatus.Pending for s in held):
        return FeedStatus.TENTATIVE
    return FeedStatus.CONFIRMED


def _entry(view: CalendarEntryView, domain: str) -> FeedEntry:
    slot = view.slot_type.value.lower()
    if view.booking_id is not None:  # the athlete's booking
        summary = f"LE-KO session ({slot})"
        description = f"Your booking {view.booking_id}: {view.statuses[0].value}."
    else:  # the coach's event
        held = sum(s in SEAT_HOLDING for s in view.statuses)
        pending = sum(s is BookingStatus.Pending for s in view.statuses)
        athletes = f"{held} athlete" + ("" if held == 1 else "s")
        waiting = f", {pending} awaiting your approval" if pending else ""
        summary = f"LE-KO session you coach ({slot}): {athletes}{waiting}"
        counts = ", ".join(
            f"{sum(s is status for s in view.statuses)} {status.value}"
            for status in BookingStatus
            if status in view.statuses
        )
        description = f"Your event {view.event_id}: bookings {counts}."
    return FeedEntry(
        uid=f"{view.booking_id or view.event_id}@{domain}",
        start_at=view.start_at,
        end_at=view.end_at,
        summary=summary,
        description=description,
        status=status_of(view.statuses),
        sequence=max(0, view.event_revision + view.history_entries - 1),
        last_modified=view.last_modified,
    )
