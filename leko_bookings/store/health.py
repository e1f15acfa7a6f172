"""What the health and metrics endpoints read of the database: the migrations applied (aerich's
table) and the connection pool's occupancy (PostgreSQL: the pool our client keeps,
`db.BoundedAsyncpgClient.asyncpg_pool`, read with asyncpg's public `get_size()`,
`get_idle_size()`, `get_max_size()`; SQLite has one connection and no pool to report).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections
from tortoise.exceptions import OperationalError

from leko_bookings.db import BoundedAsyncpgClient
from leko_bookings.store.sql import Params

AERICH_TABLE = "aerich"


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """This process's connections to the database: open, in use, at most."""

    size: int
    in_use: int
    max_size: int


async def applied_migrations(app: str) -> set[str]:
    """The migration files aerich recorded as applied for `app` (none: no aerich table yet)."""
    p = Params()
    sql = f'SELECT "version" FROM "{AERICH_TABLE}" WHERE "app" = {p(app)}'
    try:
        rows = await p.rows(sql)
    except OperationalError as exc:
        if _no_such_table(exc):
            return set()
        raise
    return {str(row[0]) for row in rows}


def _no_such_table(exc: BaseException) -> bool:
    text = str(exc)
    return "no such table" in text or "does not exist" in text


def pool_usage() -> PoolUsage | None:
    """The default connection's pool now (None: Tortoise is not initialised here, or SQLite)."""
    try:
        client = connections.get("default")
    except Exception:  # no Tortoise context in this process (yet)
        return None
    if not isinstance(client, BoundedAsyncpgClient):
        return None
    pool = client.asyncpg_pool
    if pool is None:  # no connection asked for yet
        return PoolUsage(0, 0, client.pool_maxsize)
    size = pool.get_size()
    return PoolUsage(size, size - pool.get_idle_size(), pool.get_max_size())
