"""Per-user rate limits: token buckets kept in the database, shared by every process.

A bucket holds at most `burst` tokens and refills continuously at `per_minute` tokens a minute;
each request takes one, and a request finding less than one token is refused (429
`tooManyRequests`, with the seconds until a token is back). Two limits: every authenticated
request (`all:<user>`) and order creation (`orders:<user>`), each bucket keyed by the caller.
Operators (admin, scheduler: people acting for the platform and its cron jobs) are not limited.

Taking a token is ONE statement, an UPSERT that refills, checks and takes atomically: on
PostgreSQL concurrent statements on one key queue on its row and each sees the previous one's
result, so with any number of processes exactly the tokens there are get taken; SQLite runs one
statement at a time. Time is the context's clock (`ctx.now`), never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

from tortoise import BaseDBAsyncClient, connections

from leko_bookings.auth import Role
from leko_bookings.errors import TooManyRequests
from leko_bookings.models import RateBucket
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings

EXEMPT = (Role.admin, Role.scheduler)
REQUESTS, ORDERS = "all", "orders"  # the keys' prefixes

# Parameters: key, burst, now (Unix seconds), per minute. Refused: the WHERE leaves the row as it
# is and RETURNING yields nothing. `refilled_at` never moves back (a process with a late clock
# refills nothing rather than taking tokens from the future).
_TAKE = """
INSERT INTO "rate_bucket" AS b ("key", "tokens", "refilled_at") VALUES ({key}, {burst} - 1, {now})
ON CONFLICT ("key") DO UPDATE
SET "tokens" = {refill} - 1, "refilled_at" = {greatest}(b."refilled_at", {now})
WHERE {refill} >= 1
RETURNING "tokens"
"""
_REFILL = (
    '{least}({burst}, b."tokens" + {greatest}(0, {now} - b."refilled_at") * {per_minute} / 60)'
)
_DIALECT = {
    "postgres": {
        "key": "$1",
        "burst": "$2::float8",
        "now": "$3::float8",
        "per_minute": "$4::float8",
        "least": "LEAST",
        "greatest": "GREATEST",
    },
    "sqlite": {
        "key": "?1",
        "burst": "?2",
        "now": "?3",
        "per_minute": "?4",
        "least": "MIN",
        "greatest": "MAX",
    },
}
TAKE_SQL = {
    dialect: _TAKE.format(refill=_REFILL.format(**words), **words)
    for dialect, words in _DIALECT.items()
}


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the keys' prefix: REQUESTS or ORDERS
    what: str  # for the message
    per_minute: int  # 0: no limit
    burst: int

    def seconds_until_token(self, bucket: RateBucket | None, now: float) -> int:
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


def _connection() -> BaseDBAsyncClient:
    return connections.get("default")


async def take(ctx: Context, limit: Limit) -> None:
    """Take one token of the caller's bucket of `limit`, or raise TooManyRequests."""
    if limit.per_minute == 0 or ctx.principal.has(*EXEMPT):
        return
    conn = _connection()
    key = f"{limit.name}:{ctx.principal.user_id}"
    now = ctx.now.timestamp()
    params = [key, float(limit.burst), now, float(limit.per_minute)]
    # execute_query_dict: Tortoise's execute_query drops RETURNING rows of an INSERT on asyncpg.
    rows = await conn.execute_query_dict(TAKE_SQL[conn.capabilities.dialect], params)
    if rows:
        return
    retry_after = limit.seconds_until_token(await RateBucket.get_or_none(key=key), now)
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


async def forget(user_id: UUID) -> None:
    """Drop a user's buckets (erasure: no row keeps their id)."""
    await RateBucket.filter(key__in=[f"{name}:{user_id}" for name in (REQUESTS, ORDERS)]).delete()
