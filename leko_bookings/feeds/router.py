"""GET /calendar/{token}.ics: a calendar feed for calendar apps. No bearer token (the URL's
token is the credential), not a contract path (outside `/v1` and its OpenAPI document). Errors
(404 unknown or revoked, 429 with Retry-After) are rendered by the app's REST renderer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from leko_bookings.feeds import ics
from leko_bookings.http import Clock
from leko_bookings.resolvers import calendar_feeds

router = APIRouter(include_in_schema=False)
MEDIA_TYPE = "text/calendar; charset=utf-8"


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or a list of tags compared weakly."""
    if if_none_match is None:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


@router.get(calendar_feeds.FEED_PATH)
async def calendar_feed(token: str, request: Request) -> Response:
    clock: Clock = request.app.state.clock
    feed = await calendar_feeds.read_feed(token, clock(), request.app.state.settings)
    body = ics.document(feed)
    headers = {"ETag": ics.etag(body), "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
