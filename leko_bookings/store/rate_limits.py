"""Token buckets of the rate limits (the rule: `resolvers/rate_limits.py`).

Taking a token is ONE statement, an UPSERT that refills, checks and takes atomically: on
PostgreSQL concurrent statements on one key queue on its row and each sees the previous one's
result, so with any number of processes exactly the tokens there are get taken; SQLite runs one
statement at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from leko_bookings.models import RateBucket

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
class Bucket:
    """Tokens left at `refilled_at` (Unix seconds); from then on it refills up to its burst."""

    tokens: float
    refilled_at: float


async def take_token(key: str, burst: int, now: float, per_minute: int) -> bool:
    """Take one token of the bucket `key` (created full), refilled to `now` at `per_minute`
    tokens a minute up to `burst`; False, and the bucket left as it is, when less than one."""
    conn = connections.get("default")
    params = [key, float(burst), now, float(per_minute)]
    # execute_query_dict: Tortoise's execute_query drops RETURNING rows of an INSERT on asyncpg.
    return bool(await conn.execute_query_dict(TAKE_SQL[conn.capabilities.dialect], params))


async def bucket(key: str) -> Bucket | None:
    row = await RateBucket.get_or_none(key=key)
    return None if row is None else Bucket(row.tokens, row.refilled_at)


async def forget(keys: list[str]) -> None:
    """Drop these buckets."""
    await RateBucket.filter(key__in=keys).delete()


async def purge_untouched(prefix: str, before: float | None) -> int:
    """Drop the buckets of one limit (`prefix`) not taken from since `before` (Unix seconds;
    None: all of them); how many. A bucket taken from meanwhile no longer matches and stays."""
    found = RateBucket.filter(key__startswith=prefix)
    if before is not None:
        found = found.filter(refilled_at__lt=before)
    return await found.delete()
