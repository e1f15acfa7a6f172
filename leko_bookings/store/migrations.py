"""The migration lock (`db.migrate`): a transaction-level advisory lock on a connection of its
own, held while aerich migrates, with its timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from leko_bookings.db import (
    LOCK_TIMEOUT_GRACE_SECONDS,
    MIGRATION_LOCK_KEY,
    MigrationLockTimeout,
    asyncpg_connect_kwargs,
)
from leko_bookings.settings import dialect_of


def lock_timeout_error(timeout: float) -> MigrationLockTimeout:
    return MigrationLockTimeout(
        f"gave up waiting for the migration lock after {timeout:g} s "
        "(LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS): another process is migrating this database, "
        "or the database (or its pooler) did not answer in time; nothing was migrated"
    )


@asynccontextmanager
async def migration_lock(url: str, lock_timeout: float) -> AsyncIterator[None]:
    """Serialise the migrations of processes and hosts starting at once (PostgreSQL).

    A transaction-level advisory lock, taken on a connection of its own whose transaction stays
    open while the migrations run (aerich runs each in a transaction of its own, on its pool):
    it goes with that transaction, or with the connection when its client leaves — behind a
    transaction pooler (PgBouncer) too, which drops a server connection left inside a transaction,
    where a session-level lock would stay held by the pooled server connection. Only simple-query
    statements run on it (no prepared statement), so any pooler mode works. Gives up after
    `lock_timeout` seconds: PostgreSQL stops waiting for the lock (its `lock_timeout`, set for
    this transaction), and the client bounds what comes before (connecting, a pooler queueing the
    statement) by the same deadline, plus a grace for the server's answer."""
    if dialect_of(url) != "postgres":
        yield
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lock_timeout
    conn: asyncpg.Connection | None = None
    try:
        async with asyncio.timeout_at(deadline + LOCK_TIMEOUT_GRACE_SECONDS):
            conn = await asyncpg.connect(**asyncpg_connect_kwargs(url))
            remaining_ms = max(1, int((deadline - loop.time()) * 1000))
            await conn.execute(
                "BEGIN;"
                f" SET LOCAL lock_timeout = {remaining_ms};"
                # An operator's idle-in-transaction limit would end it while aerich migrates.
                " SET LOCAL idle_in_transaction_session_timeout = 0;"
                f" SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            )
    except (TimeoutError, asyncpg.LockNotAvailableError) as exc:
        if conn is not None:
            conn.terminate()
        raise lock_timeout_error(lock_timeout) from exc
    except BaseException:
        if conn is not None:
            conn.terminate()
        raise
    assert conn is not None
    try:
        yield
    finally:
        try:
            await conn.execute("ROLLBACK")  # nothing was written on it: ending it frees the lock
            await conn.close()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()  # lost: the server (or the pooler) ends its transaction, and the lock
