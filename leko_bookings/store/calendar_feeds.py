"""Calendar feeds: the feed rows (found by their token's hash), and what a user's feed shows —
their bookings as the athlete and their events with bookings as the coach, each with what its
SEQUENCE and LAST-MODIFIED are made of (the rules: `resolvers/calendar_feeds.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from leko_bookings.models import BookingStatus, CalendarFeed, HistoryAction, SlotType
from leko_bookings.store.sql import Params, as_instant, as_uuid, enum_of
from leko_bookings.store.views import CalendarEntryView, CalendarFeedView

_STATUS = enum_of(BookingStatus)
_SLOT_TYPE = enum_of(SlotType)


def _view(feed: CalendarFeed) -> CalendarFeedView:
    return CalendarFeedView(feed.id, feed.user_id, feed.created_at)


async def feed_by_token_hash(token_hash: str) -> CalendarFeedView | None:
    found = await CalendarFeed.get_or_none(token_hash=token_hash)
    return None if found is None else _view(found)


async def replace(feed_id: UUID, user_id: UUID, token_hash: str, now: datetime) -> list[UUID]:
    """Inside a transaction holding the user's lock: the user's feed is this one from now on.
    Returns the ids of the feeds it replaced."""
    replaced = await delete_of(user_id)
    await CalendarFeed.create(id=feed_id, user_id=user_id, token_hash=token_hash, created_at=now)
    return replaced


async def delete_of(user_id: UUID) -> list[UUID]:
    """Delete the user's feed; the ids of those deleted."""
    ids = list(await CalendarFeed.filter(user_id=user_id).values_list("id", flat=True))
    if ids:
        await CalendarFeed.filter(id__in=ids).delete()
    return [as_uuid(i) for i in ids]


# One row per booking, with its event and its history's size (but `{skip}`) and latest entry.
# `{times}`: the booking's (its athlete's entry) or the event's (its coach's); `{where}`: whose,
# and when.
_ROWS = (
    'SELECT b."id", b."event_id", {times}, b."status", e."slot_type", e."revision", '
    'b."updated_at", e."updated_at", COUNT(h."id"), MAX(h."at") '
    'FROM "booking" b JOIN "event" e ON e."id" = b."event_id" '
    'LEFT JOIN "booking_history" h ON h."booking_id" = b."id" AND h."action" {skip} '
    'WHERE {where} GROUP BY b."id", e."id" ORDER BY {times}, b."id"'
)


def _entry(row: Sequence[Any]) -> CalendarEntryView:
    """One row of `_ROWS` (driver values, or SQLite's text) as the entry of its booking."""
    booking_id, event_id, start, end, status, slot, revision, *writes, entries, last = row
    latest = max(as_instant(w) for w in (*writes, *([] if last is None else [last])))
    return CalendarEntryView(
        event_id=as_uuid(event_id),
        booking_id=as_uuid(booking_id),
        start_at=as_instant(start),
        end_at=as_instant(end),
        slot_type=_SLOT_TYPE[slot],
        statuses=(_STATUS[status],),
        history_entries=int(entries),
        event_revision=int(revision),
        last_modified=latest,
    )


def _coached(bookings: list[CalendarEntryView]) -> CalendarEntryView:
    """One event's entry from the entries of its bookings (the event's times on each)."""
    first = bookings[0]
    return CalendarEntryView(
        event_id=first.event_id,
        booking_id=None,
        start_at=first.start_at,
        end_at=first.end_at,
        slot_type=first.slot_type,
        statuses=tuple(s for b in bookings for s in b.statuses),
        history_entries=sum(b.history_entries for b in bookings),
        event_revision=first.event_revision,
        last_modified=max(b.last_modified for b in bookings),
    )


async def calendar_entries(
    user_id: UUID, start: datetime, end: datetime, uncounted: Sequence[HistoryAction]
) -> list[CalendarEntryView]:
    """What the user's feed shows overlapping [start, end): their bookings as the athlete but
    the dismissed ones (as in their calendar list), then each of the events they coach that has
    bookings (of any status), each by start then id, with their history entries counted but
    those of the `uncounted` actions. Two statements."""
    p = Params()
    user, since, until = p(user_id), p(start), p(end)
    skip = p.none_of([a.value for a in uncounted], "text")
    own = (
        f'b."user_id" = {user} AND b."dismissed_at" IS NULL '
        f'AND b."end_at" > {since} AND b."start_at" < {until}'
    )
    rows = await p.rows(_ROWS.format(times='b."start_at", b."end_at"', where=own, skip=skip))
    entries = [_entry(row) for row in rows]
    coached = f'e."coach_id" = {user} AND e."end_at" > {since} AND e."start_at" < {until}'
    rows = await p.rows(_ROWS.format(times='e."start_at", e."end_at"', where=coached, skip=skip))
    by_event: dict[UUID, list[CalendarEntryView]] = {}
    for row in rows:
        booking = _entry(row)
        by_event.setdefault(booking.event_id, []).append(booking)
    return entries + [_coached(bookings) for bookings in by_event.values()]
