"""Per-user rate limits: token buckets kept in the database, shared by every process.

A bucket holds at most `burst` tokens and refills continuously at `per_minute` tokens a minute;
each request takes one, and a request finding less than one token is refused (429
`tooManyRequests`, with the seconds until a token is back). Two limits: every authenticated
request (`all:<user>`) and order creation (`orders:<user>`), each bucket keyed by the caller.
Operators (admin, scheduler: people acting for the platform and its cron jobs) are not limited.
A calendar feed's reads, which carry no bearer token, have a bucket per feed (`feed:<feed id>`).

A token is taken by one atomic statement (`store/rate_limits.py`), exact with any number of
processes. Time is the context's clock (`ctx.now`), never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leko_bookings import metrics
from leko_bookings.auth import Role
from leko_bookings.errors import TooManyRequests
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings
from leko_bookings.store import rate_limits as buckets
from leko_bookings.store.rate_limits import Bucket

EXEMPT = (Role.admin, Role.scheduler)
REQUESTS, ORDERS, FEEDS = "all", "orders", "feed"  # the keys' prefixes


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the keys' prefix: REQUESTS, ORDERS or FEEDS
    what: str  # for the message
    per_minute: int  # 0: no limit
    burst: int

    def seconds_until_token(self, bucket: Bucket | None, now: float) -> int:
        """Whole seconds until the bucket holds a token again (at least 1)."""
        if bucket is None:  # emptied meanwhile (erasure): a token is there
            return 1
        elapsed = max(0.0, now - bucket.refilled_at)
        level = min(self.burst, bucket.tokens + elapsed * self.per_minute / 60)
        # Rounded to the microsecond first: float noise must not add a whole second.
        return max(1, math.ceil(round((1 - level) * 60 / self.per_minute, 6)))


def request_limit(settings: Settings) -> Limit:
    return Limit(REQUESTS, "requests", settings.rate_limit_per_minute, settings.rate_limit_burst)


def order_limit(settings: Settings) -> Limit:
    return Limit(
        ORDERS, "orders", settings.order_rate_limit_per_minute, settings.order_rate_limit_burst
    )


def feed_limit(settings: Settings) -> Limit:
    return Limit(
        FEEDS,
        "reads of this calendar feed",
        settings.calendar_feed_rate_limit_per_minute,
        settings.calendar_feed_rate_limit_burst,
    )


def _key(name: str, owner: UUID) -> str:
    """One bucket of one limit: `<limit>:<user id>` (`<limit>:<feed id>` for a feed)."""
    return f"{name}:{owner}"


async def take(ctx: Context, limit: Limit) -> None:
    """Take one token of the caller's bucket of `limit`, or raise TooManyRequests."""
    if limit.per_minute == 0 or ctx.principal.has(*EXEMPT):
        return
    await _take(_key(limit.name, ctx.principal.user_id), limit, ctx.now)


async def _take(key: str, limit: Limit, at: datetime) -> None:
    now = at.timestamp()
    if await buckets.take_token(key, limit.burst, now, limit.per_minute):
        return
    retry_after = limit.seconds_until_token(await buckets.bucket(key), now)
    metrics.count_rate_limited(limit.name)
    raise TooManyRequests(
        f"Too many {limit.what}: at most {limit.per_minute} a minute "
        f"(bursts of {limit.burst}). Retry in {retry_after} s.",
        retry_after,
    )


async def take_request(ctx: Context) -> None:
    """The limit on every authenticated request (REST and GraphQL)."""
    await take(ctx, request_limit(ctx.settings))


async def take_order(ctx: Context) -> None:
    """The limit on creating orders (POST /bookings, GraphQL bookEvents)."""
    await take(ctx, order_limit(ctx.settings))


async def take_feed_read(feed_id: UUID, now: datetime, settings: Settings) -> None:
    """The limit on reading one calendar feed (no caller is known: the feed is the key)."""
    limit = feed_limit(settings)
    if limit.per_minute != 0:
        await _take(_key(FEEDS, feed_id), limit, now)


async def purge_full(ctx: Context) -> int:
    """The notify run: a bucket untouched for as long as it takes to refill from empty is full,
    which is what no bucket means; those are dropped (the table holds the recent callers only).
    A limit turned off (0 a minute) drops all of its buckets. How many were dropped."""
    now, dropped = ctx.now.timestamp(), 0
    for limit in (request_limit(ctx.settings), order_limit(ctx.settings), feed_limit(ctx.settings)):
        off = limit.per_minute == 0
        before = None if off else now - limit.burst * 60 / limit.per_minute
        dropped += await buckets.purge_untouched(f"{limit.name}:", before)
    return dropped


async def forget(user_id: UUID) -> None:
    """Drop a user's buckets (erasure: no row keeps their id)."""
    await buckets.forget([_key(name, user_id) for name in (REQUESTS, ORDERS)])


async def forget_feeds(feed_ids: list[UUID]) -> None:
    """Drop the buckets of feeds that are gone (revoked, replaced, erased)."""
    await buckets.forget([_key(FEEDS, feed_id) for feed_id in feed_ids])
