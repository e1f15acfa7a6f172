"""Live subscriptions' database side: the process's PostgreSQL listener, and the booking history
read in the order `calendarChanges` delivers it (`changes_after`).

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from leko_bookings.db import asyncpg_dsn
from leko_bookings.models import BookingStatus, HistoryAction
from leko_bookings.settings import Settings
from leko_bookings.store.sql import Params, as_instant, as_uuid, enum_of
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


_ACTION = enum_of(HistoryAction)
_STATUS = enum_of(BookingStatus)


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """A row of the booking history, as a subscriber receives it."""

    seq: int
    booking_id: UUID
    at: datetime
    action: HistoryAction
    from_status: BookingStatus | None
    to_status: BookingStatus | None


@dataclass(frozen=True, slots=True)
class ChangeMark:
    """Where a subscriber is in the booking history. PostgreSQL: `watermark`, the oldest
    transaction id still running when it last read (every row of an older transaction was
    read), and the rows of newer ones already read, by seq (forgotten once the watermark
    passes their transaction). SQLite (one writer: rows are numbered in commit order): the last
    seq read. None: not read yet (the first read only marks where the subscriber starts)."""

    watermark: int | None = None
    seen: frozenset[tuple[int, int]] = frozenset()  # (seq, transaction id)


START = ChangeMark()


def _entry(seq: Any, booking_id: Any, at: Any, action: Any, old: Any, new: Any) -> ChangeEntry:
    return ChangeEntry(
        int(str(seq)),
        as_uuid(booking_id),
        as_instant(at),
        _ACTION[action],
        None if old is None else _STATUS[old],
        None if new is None else _STATUS[new],
    )


_COLUMNS = 'h."seq", h."booking_id", h."at", h."action", h."from_status", h."to_status"'


async def changes_after(
    mark: ChangeMark, party: UUID, since: datetime
) -> tuple[list[ChangeEntry], ChangeMark]:
    """The history rows of bookings where `party` is the athlete or the coach committed after
    `mark`, in seq order (each booking's in commit order), and the mark after them; at the
    first read (`START`), those written at or after `since` (when the subscriber asked). One
    statement."""
    p = Params()
    who = p(party)
    mine = f'(b."user_id" = {who} OR b."coach_id" = {who})'
    first = mark.watermark is None
    joined = '"booking_history" h JOIN "booking" b ON b."id" = h."booking_id"'
    if not p.postgres:
        new = f'h."at" >= {p(since)}' if first else f'h."seq" > {p(mark.watermark)}'
        rows = await p.rows(
            'SELECT w."x", c.* FROM (SELECT COALESCE(MAX("seq"), 0) "x" FROM "booking_history") w '
            f"LEFT JOIN (SELECT {_COLUMNS} FROM {joined} WHERE {new} AND {mine}) c ON 1 "
            'ORDER BY c."seq"'
        )
        # One writer at a time: every row up to the newest is committed and final.
        return [_entry(*row[1:]) for row in rows if row[1] is not None], ChangeMark(rows[0][0])
    # The first read: the rows of transactions since the watermark (to know them as seen) and
    # the subscriber's rows written since it asked (to send); each branch on its own index.
    if first:
        branches = ['h."tx" >= w."x"', f'h."at" >= {p(since)}']
    else:
        branches = [f'h."tx" >= {p(str(mark.watermark))}::text::xid8']
    read = " UNION ".join(
        f'SELECT h."tx"::text "tx", {_COLUMNS} FROM {joined} WHERE {new} AND {mine}'
        for new in branches
    )
    rows = await p.rows(
        'SELECT w."x"::text, c.* FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) "x") w '
        f'LEFT JOIN LATERAL ({read}) c ON TRUE ORDER BY c."seq"'
    )
    watermark = int(rows[0][0])
    entries = [(int(row[1]), _entry(*row[2:])) for row in rows if row[1] is not None]
    if first:
        found = [e for _, e in entries if e.at >= since]
    else:
        found = [e for tx, e in entries if (e.seq, tx) not in mark.seen]
    seen = frozenset((e.seq, tx) for tx, e in entries if tx >= watermark)
    return found, ChangeMark(watermark, seen)
