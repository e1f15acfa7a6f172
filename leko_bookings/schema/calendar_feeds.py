"""Calendar feeds on GraphQL: create (or rotate) and revoke the caller's feed (the rules:
`resolvers/calendar_feeds.py`; the feed itself is served by `feeds/router.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from leko_bookings.resolvers import calendar_feeds
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import ForbiddenError, ValidationError


@strawberry.type(
    description="The caller's calendar feed: subscribe to `url` in a calendar app. The URL is "
    "the credential and is shown this once; create another feed to replace it."
)
class CalendarFeed:
    url: str
    created_at: datetime


@strawberry.type
class CalendarFeedRevoked:
    revoked: bool = strawberry.field(description="False when the caller had no feed.")


CalendarFeedResult = Annotated[
    CalendarFeed | ValidationError | ForbiddenError, strawberry.union("CalendarFeedResult")
]
RevokeCalendarFeedResult = Annotated[
    CalendarFeedRevoked | ForbiddenError, strawberry.union("RevokeCalendarFeedResult")
]


def _request_base_url(info: Info) -> str | None:
    """The base URL the request came to (over a WebSocket, its HTTP spelling)."""
    request = info.context.request
    if request is None:
        return None
    url = request.base_url
    return str(url.replace(scheme={"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)))


@strawberry.type
class CalendarFeedMutation:
    @strawberry.mutation(
        description="A new calendar feed URL for the caller; the previous one stops working."
    )
    async def create_calendar_feed(self, info: Info) -> CalendarFeedResult:
        feed = await calendar_feeds.create_feed(info.context.ctx, _request_base_url(info))
        return CalendarFeed(url=feed.url, created_at=feed.created_at)

    @strawberry.mutation(description="Revoke the caller's calendar feed: its URL stops working.")
    async def revoke_calendar_feed(self, info: Info) -> RevokeCalendarFeedResult:
        return CalendarFeedRevoked(revoked=await calendar_feeds.revoke_feed(info.context.ctx))
