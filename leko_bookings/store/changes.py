"""The process's PostgreSQL listener for live subscriptions.

Every write of the booking history or of the event table sends `NOTIFY leko_changes` from the
writing transaction (a trigger: migrations/postgres, `change_notify`), delivered at its commit to
every process listening. `Listener` keeps one dedicated connection per process (not from the
pool: a pooled connection, or one through a transaction pooler, cannot LISTEN;
`LEKO_LISTEN_DATABASE_URL` may name a direct one) listening, reconnects after a failure, and
wakes everyone after each (re)connection so that what changed in the gap is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from leko_bookings.db import asyncpg_dsn
from leko_bookings.settings import Settings
from leko_bookings.wakeups import Hub, hub

CHANNEL = "leko_changes"
APPLICATION_NAME = "leko-change-listener"  # how operators (and tests) find it in pg_stat_activity
HEALTH_SECONDS = 5.0  # how often an idle listener checks its connection
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0)  # waits between attempts (the last repeats)

log = logging.getLogger("leko_bookings.changes")


class Listener:
    """LISTEN on `dsn` (an asyncpg DSN) for as long as `run` runs, waking `wakeups`."""

    def __init__(self, dsn: str, wakeups: Hub = hub) -> None:
        self.dsn = dsn
        self.hub = wakeups
        self.connection: asyncpg.Connection | None = None
        self.connections = 0  # how many times it (re)connected

    def _notified(self, *_: object) -> None:
        self.hub.wake()

    async def run(self) -> None:
        attempt = 0
        try:
            while True:
                try:
                    await self._listen()
                    attempt = 0
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("change listener: %r; reconnecting", exc)
                    self.hub.listening = False
                await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
                attempt += 1
        finally:
            self.hub.listening = False
            if self.connection is not None:
                with contextlib.suppress(Exception):
                    await self.connection.close(timeout=1)

    async def _listen(self) -> None:
        """Until the connection fails: listening, its health checked while idle."""
        conn = self.connection = await asyncpg.connect(
            self.dsn, timeout=5, server_settings={"application_name": APPLICATION_NAME}
        )
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def terminated(_: object) -> None:
            if not lost.done():
                lost.set_result(None)

        conn.add_termination_listener(terminated)
        await conn.add_listener(CHANNEL, self._notified)
        self.connections += 1
        self.hub.listening = True
        self.hub.wake()  # what changed while this process was not listening: read it again
        try:
            while not lost.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(lost), HEALTH_SECONDS)
                if not lost.done():
                    await conn.fetchval("SELECT 1", timeout=HEALTH_SECONDS)
        finally:
            self.hub.listening = False
            self.connection = None
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)


@contextlib.asynccontextmanager
async def listening(settings: Settings) -> AsyncIterator[None]:
    """This process's listener for as long as it serves (PostgreSQL; SQLite has no NOTIFY)."""
    if settings.dialect != "postgres":
        yield
        return
    listener = Listener(asyncpg_dsn(settings.listen_database_url or settings.database_url))
    task = asyncio.create_task(listener.run(), name="leko-change-listener")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
