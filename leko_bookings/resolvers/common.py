"""Small helpers shared by resolvers: instants, overlap, pages, locks (SQL ones: `sql.py`)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from leko_bookings.errors import ValidationFailed, validation

T = TypeVar("T")

# Namespace of the per-user advisory locks (pg_advisory_xact_lock(int, int)).
USER_LOCK_NAMESPACE = 0x4C4B5553


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


async def lock_user(conn: BaseDBAsyncClient, user_id: UUID) -> None:
    """Serialise one user's writes across processes (PostgreSQL advisory lock, held to commit).

    On SQLite there is one writer and Tortoise runs one transaction at a time: nothing to do.
    """
    if conn.capabilities.dialect != "postgres":
        return
    key = int.from_bytes(hashlib.blake2b(user_id.bytes, digest_size=4).digest(), "big", signed=True)
    await conn.execute_query(
        "SELECT pg_advisory_xact_lock($1::int, $2::int)", [USER_LOCK_NAMESPACE, key]
    )


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Cursor pagination: `first` items after the opaque `after` cursor (None: all)."""

    first: int | None = None
    after: str | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool = False
    end_cursor: str | None = None
    cursors: list[str] = field(default_factory=list)


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
    if page.first is not None and not 1 <= page.first <= maximum:
        raise validation(f"first must be between 1 and {maximum}.")


def paginate(query: QuerySet, page: PageRequest, moment_field: str, newest_first: bool) -> QuerySet:
    moment, row_id = decode_cursor(page.after) if page.after else (None, None)
    limit = None if page.first is None else page.first + 1
    return paginate_after(query, moment_field, newest_first, moment, row_id, limit)


def paginate_after(
    query: QuerySet,
    moment_field: str,
    newest_first: bool,
    moment: datetime | None,
    row_id: UUID | None,
    limit: int | None,
) -> QuerySet:
    """Ordered by (moment, id), after a cursor's (moment, id) when given, at most `limit`."""
    if moment is not None and row_id is not None:
        op = "lt" if newest_first else "gt"
        earlier_or_later: dict[str, Any] = {f"{moment_field}__{op}": moment}
        same_moment: dict[str, Any] = {moment_field: moment, f"id__{op}": row_id}
        query = query.filter(Q(**earlier_or_later) | Q(**same_moment))
    order = (f"-{moment_field}", "-id") if newest_first else (moment_field, "id")
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    return query


def page_of(rows: list, page: PageRequest, moment: str) -> Page:
    has_next = page.first is not None and len(rows) > page.first
    items = rows[: page.first] if has_next else rows
    cursors = [encode_cursor(getattr(r, moment), r.id) for r in items]
    return Page(items, has_next, cursors[-1] if cursors else None, cursors)
