"""`leko-bookings events import`: any number of events, from a JSON array or NDJSON (one event
per line), upserted in batches of the catalog's largest upsert (`MAX_EVENTS_PER_UPSERT`), each
batch one transaction of `upsert_events`, with a progress bar on a terminal (tqdm).

Every event is validated before the first batch is written: a field error, or an eventId given
twice, writes nothing. A batch the catalog refuses (an event ending before it starts, a start
without offset) stops the import there: the batches before it stay written (an upsert by eventId:
running the corrected input again is safe), and the refusal says which events were written.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from leko_bookings.errors import DomainError, validation
from leko_bookings.resolvers.catalog import MAX_EVENTS_PER_UPSERT, EventData, upsert_events
from leko_bookings.resolvers.context import Context


def read_events(text: str) -> list[Any]:
    """The events of a JSON array, one JSON object, or NDJSON (blank lines skipped); a
    ValueError saying where the text is not that."""
    body = text.strip()
    if not body:
        raise ValueError("it holds no events (empty)")
    if body.startswith("["):
        try:
            found = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON array: {exc}") from None
        return list(found)
    try:
        return [json.loads(body)]  # one event, maybe over several lines
    except json.JSONDecodeError:
        pass
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"line {number} is not JSON: {exc.msg} (column {exc.colno})"
                ) from None
    return events


def check_distinct(events: list[EventData]) -> None:
    """An eventId given twice in one import: which one wins would depend on the batches."""
    twice = [str(i) for i, n in Counter(e.event_id for e in events).items() if n > 1]
    if twice:
        raise validation(
            f"Each eventId may appear once per import; {len(twice)} appear more than once, "
            f"e.g. {twice[0]}."
        )


class BatchRefused(Exception):
    """The catalog refused a batch: the events before it are written, it and later ones not."""

    def __init__(self, written: int, batch: range, total: int, message: str) -> None:
        self.written = written
        super().__init__(
            f"events {batch.start + 1}..{batch.stop} of {total} refused: {message} "
            f"({written} event(s) before them upserted, none after; upserting is by eventId, "
            "so importing the corrected input again is safe)"
        )


@dataclass(frozen=True, slots=True)
class Imported:
    events: int
    batches: int
    seconds: float


def batches(count: int, size: int = MAX_EVENTS_PER_UPSERT) -> list[range]:
    return [range(i, min(i + size, count)) for i in range(0, count, size)]


async def upsert_all(
    context: Callable[[], Context], events: list[EventData], progress: Callable[[int], object]
) -> Imported:
    """Upsert `events` batch by batch, each with a fresh `context()` (its instant: now)."""
    started = time.monotonic()
    parts = batches(len(events))
    for part in parts:
        try:
            await upsert_events(context(), events[part.start : part.stop])
        except DomainError as exc:
            raise BatchRefused(part.start, part, len(events), exc.message) from exc
        progress(len(part))
    return Imported(len(events), len(parts), time.monotonic() - started)


def progress_bar(total: int) -> tqdm:
    """A progress bar on stderr when it is a terminal; silent (and free) otherwise."""
    return tqdm(
        total=total,
        unit=" events",
        desc="upserting",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )
