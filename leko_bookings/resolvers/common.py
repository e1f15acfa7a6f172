"""Small helpers shared by resolvers: instants, overlap, ids, page requests and cursors."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, NamedTuple, TypeVar
from uuid import UUID

from leko_bookings.errors import ValidationFailed, validation

T = TypeVar("T")

_last_v7 = (0, 0)


def time_ordered_uuid() -> UUID:
    """A UUIDv7 (RFC 9562): creation order within a process is id order, so rows written at the
    same instant (one transaction's history) sort as they were written."""
    global _last_v7
    ms = time.time_ns() // 1_000_000
    last_ms, last_seq = _last_v7
    seq = last_seq + 1 if ms <= last_ms else 0
    ms = max(ms, last_ms)
    if seq > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
        ms, seq = ms + 1, 0
    _last_v7 = (ms, seq)
    rand = secrets.randbits(62)
    return UUID(int=(ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand)


def utc(value: datetime, name: str) -> datetime:
    """An instant as UTC; a date-time without an offset is refused (SPEC_NOTES, Reading)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise validation(
            f"{name} must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00Z."
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        raise validation(
            f"{name} is outside the instants this service holds "
            "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)."
        ) from None


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: touching ends do not overlap."""
    return a_start < b_end and b_start < a_end


def _window_bound(value: datetime | None, name: str) -> datetime | None:
    """A window bound as UTC. One beyond the instants held (year 1 written with a positive
    offset, year 9999 with a negative one) is the first or last instant: nothing lies past it."""
    if value is None:
        return None
    try:
        return utc(value, name)
    except ValidationFailed:
        if value.utcoffset() is None:
            raise
        return (
            datetime.min.replace(tzinfo=UTC)
            if value.year == 1
            else datetime.max.replace(tzinfo=UTC)
        )


def check_window(
    start_at: datetime | None, end_at: datetime | None
) -> tuple[datetime | None, datetime | None]:
    start = _window_bound(start_at, "startAt")
    end = _window_bound(end_at, "endAt")
    if start and end and start > end:
        raise validation("startAt must not be after endAt.")
    return start, end


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Cursor pagination (Relay): `first` items after the opaque `after` cursor, or `last` items
    before `before`; neither: all (REST) or the transport's default."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None or self.before is not None


class Bounds(NamedTuple):
    """What the store reads for a page: rows after (`backward`: before) the cursor's
    (moment, id) in the list's order, at most `limit` (one more than asked: whether more exist)."""

    moment: datetime | None
    row_id: UUID | None
    limit: int | None
    backward: bool = False


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool = False
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None
    key: Callable[[T], tuple[datetime, UUID]] | None = None
    count: Callable[[], Awaitable[int]] | None = None  # the whole list's size, when asked

    def cursors(self) -> list[str]:
        """Each item's cursor (made only when a reader asks, e.g. for edges)."""
        key = self.key
        return [] if key is None else [encode_cursor(*key(item)) for item in self.items]


def encode_cursor(moment: datetime, row_id: UUID) -> str:
    raw = f"{moment.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, row_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(moment), UUID(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation("after: not a cursor this service issued.") from exc


def check_page_size(page: PageRequest, maximum: int) -> None:
    if page.first is not None and page.last is not None:
        raise validation("Give first or last, not both.")
    if (page.after is not None and page.backward) or (
        page.before is not None and page.first is not None
    ):
        raise validation("after goes with first, before with last.")
    for name, size in (("first", page.first), ("last", page.last)):
        if size is not None and not 1 <= size <= maximum:
            raise validation(f"{name} must be between 1 and {maximum}.")


def page_bounds(page: PageRequest) -> Bounds:
    """Where a page starts and how many rows to read (one more than asked: whether more exist)."""
    cursor = page.before if page.backward else page.after
    moment, row_id = decode_cursor(cursor) if cursor else (None, None)
    size = page.last if page.backward else page.first
    return Bounds(moment, row_id, None if size is None else size + 1, page.backward)


def page_of(rows: list[T], page: PageRequest, key: Callable[[T], tuple[datetime, UUID]]) -> Page[T]:
    """A page of rows read by `page_bounds` (backward: in reverse order), in the list's order;
    its cursors made of each row's `key` (the (moment, id) rows are ordered by). Moving
    forward, a previous page is said to exist when the page started after a cursor (and a next
    one, moving backward, when it ended before one)."""
    size = page.last if page.backward else page.first
    more = size is not None and len(rows) > size
    items = rows[:size] if more else list(rows)
    if page.backward:
        items.reverse()
    start = encode_cursor(*key(items[0])) if items else None
    end = encode_cursor(*key(items[-1])) if items else None
    if page.backward:
        return Page(items, page.before is not None, more, start, end, key)
    return Page(items, more, page.after is not None, start, end, key)
