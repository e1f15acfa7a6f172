"""A process's wake-ups for live GraphQL subscriptions: "something may have changed, read again".

Only ever a wake-up: what changed is read from the database by each subscription, so a lost or
coalesced wake-up costs a delay, never a change. Woken by the PostgreSQL listener of the process
(`store/changes.py`: LISTEN/NOTIFY on one dedicated connection; after it reconnects, everyone
reads again). Without a listener (SQLite's one process, or while the listener reconnects),
subscribers read again every half second (`resolvers/changes.py`).
"""

from __future__ import annotations

import asyncio
import contextlib


class Hub:
    """A counter of wake-ups and the waiters for the next one (no payload)."""

    def __init__(self) -> None:
        self.version = 0
        self.listening = False  # a database listener wakes this process after each commit
        self._next = asyncio.Event()

    def wake(self) -> None:
        self.version += 1
        woken, self._next = self._next, asyncio.Event()
        woken.set()

    async def wait(self, seen: int, at_most: float) -> int:
        """The version after `seen`: at once if it moved, else at the next wake-up or after
        `at_most` seconds (a read again anyway)."""
        if self.version == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._next.wait(), at_most)
        return self.version


hub = Hub()
