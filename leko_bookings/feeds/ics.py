"""A feed as an iCalendar document (RFC 5545), written with `icalendar`, and its entity tag.

No METHOD: each VEVENT's DTSTAMP is then the time its information was last revised (RFC 5545,
3.8.7.2), the same as LAST-MODIFIED, so an unchanged feed is the same bytes (and ETag) on every
fetch. Instants are written in UTC (`...Z`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC

from icalendar import Calendar, Event

from leko_bookings.resolvers.calendar_feeds import Feed, FeedEntry

PRODID = "-//LE-KO//Bookings//EN"


def _vevent(entry: FeedEntry) -> Event:
    vevent = Event()
    vevent.add("uid", entry.uid)
    vevent.add("dtstamp", entry.last_modified.astimezone(UTC))
    vevent.add("dtstart", entry.start_at.astimezone(UTC))
    vevent.add("dtend", entry.end_at.astimezone(UTC))
    vevent.add("summary", entry.summary)
    vevent.add("description", entry.description)
    vevent.add("status", entry.status.value)
    vevent.add("sequence", entry.sequence)
    vevent.add("last-modified", entry.last_modified.astimezone(UTC))
    return vevent


def document(feed: Feed) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", feed.name)  # RFC 7986
    calendar.add("x-wr-calname", feed.name)  # what Google, Apple and Outlook read
    calendar.add("refresh-interval", feed.refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", feed.refresh)
    for entry in feed.entries:
        calendar.add_component(_vevent(entry))
    return calendar.to_ical()


def etag(body: bytes) -> str:
    """A strong entity tag of the document: the same bytes, the same tag."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'
