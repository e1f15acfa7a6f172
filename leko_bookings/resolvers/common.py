"""Small helpers shared by resolvers: instants, overlap, pages, locks."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from tortoise import BaseDBAsyncClient, connections
from tortoise.expressions import Q
from tortoise.fields.base import DatabaseDefault
from tortoise.models import Model
from tortoise.queryset import QuerySet

from leko_bookings.errors import ValidationFailed, validation

T = TypeVar("T")
Row = dict[str, Any]

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


def as_uuid(value: Any) -> UUID:
    """A UUID column's value (text on SQLite)."""
    return value if isinstance(value, UUID) else UUID(str(value))


def as_instant(value: Any) -> datetime:
    """A date-time column's value (text on SQLite, as Tortoise stores it)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


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


def _stand_in(kind: type, index: int) -> Any:
    """A value of `kind` no query holds by itself (see `Compiled`)."""
    if kind is UUID:
        return uuid4()
    if kind is datetime:  # an instant in 1901, distinct to the microsecond
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=secrets.randbelow(10**12))
    if kind is int:
        return 1_000_000_007 + index
    raise TypeError(f"no stand-in for {kind}")


Slot = tuple[int, int, bool]  # (parameter position, value index, passed as text)


class Compiled:
    """A queryset rendered to SQL once per dialect and shape, then run with new values: what a
    hot path asks is fixed, so Tortoise and pypika need not build and render it per request.

    `build(*values)` makes the queryset from values of the given kinds (UUID, datetime, int;
    None leaves its filter out). For each dialect and each set of values that are None, it is
    built once with stand-in values whose places among the rendered parameters are where each
    call's values go, as Tortoise passes them (a UUID as itself on PostgreSQL, as text on
    SQLite). Every other parameter (a constant LIMIT, a status) is part of the statement. Rows
    come back as the driver returns them (keys: column names; a `select_related` model's
    prefixed `<model>__<relation>.`; on SQLite, stored text: decode with the models' fields)."""

    def __init__(self, build: Callable[..., QuerySet], *kinds: type) -> None:
        self.build = build
        self.kinds = kinds or (UUID,)
        self._compiled: dict[tuple[str, tuple[bool, ...]], tuple[str, list[Any], list[Slot]]] = {}

    def _compile(self, key: tuple[str, tuple[bool, ...]]) -> tuple[str, list[Any], list[Slot]]:
        given = key[1]
        stand_ins = [
            _stand_in(kind, i) if present else None
            for i, (kind, present) in enumerate(zip(self.kinds, given, strict=True))
        ]
        query = self.build(*stand_ins)
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        slots = []
        for position, param in enumerate(params):
            for index, stand_in in enumerate(stand_ins):
                if stand_in is None or isinstance(param, bool):
                    continue
                if type(param) is type(stand_in) and param == stand_in:
                    slots.append((position, index, False))
                elif isinstance(param, str) and param == str(stand_in):
                    slots.append((position, index, True))
        placed = {index for _, index, _ in slots}
        if placed != {i for i, v in enumerate(stand_ins) if v is not None}:
            raise ValueError(f"every value must be a parameter of {sql!r}")
        self._compiled[key] = (sql, list(params), slots)
        return self._compiled[key]

    async def rows(self, *values: Any) -> list[Row]:
        conn = connections.get("default")
        key = (conn.capabilities.dialect, tuple(v is not None for v in values))
        sql, params, slots = self._compiled.get(key) or self._compile(key)
        params = list(params)
        for position, index, as_text in slots:
            params[position] = str(values[index]) if as_text else values[index]
        return list(await conn.execute_query_dict(sql, params))


@cache  # once the models are initialised (their foreign key columns exist only from then)
def columns_of(model: type[Model]) -> str:
    """A model's columns, quoted, for a hand-written SELECT whose rows become models
    (`Model._init_from_db(**row)`)."""
    return ", ".join(f'"{c}"' for c in model._meta.fields_db_projection.values())


# Parameters one statement may carry (SQLite's and PostgreSQL's limit is 32,766 and 32,767).
MAX_PARAMETERS = 30_000


async def insert(instances: Sequence[Model], *, ignore_conflicts: bool = False) -> None:
    """New instances of one model in one multi-row INSERT (per 30,000 values): Tortoise's
    `bulk_create` builds the statement on every call and runs it once per row. Values are
    converted by the models' fields, as Tortoise writes them; every field must be set."""
    if not instances:
        return
    meta = instances[0]._meta
    fields = [(name, meta.fields_map[name]) for name in meta.fields_db_projection]
    columns = ", ".join(f'"{c}"' for c in meta.fields_db_projection.values())
    per_statement = MAX_PARAMETERS // len(fields)
    for start in range(0, len(instances), per_statement):
        p = Params()
        rows = []
        for instance in instances[start : start + per_statement]:
            values = [(getattr(instance, name), field) for name, field in fields]
            if any(isinstance(v, DatabaseDefault) for v, _ in values):
                raise ValueError(f"insert: set every field of {meta.db_table} (no defaults)")
            values = [field.to_db_value(v, instance) for v, field in values]
            rows.append(f"({', '.join(p(v) for v in values)})")
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(rows)}{conflict}'
        await p.conn.execute_query(sql, p.values)
    for instance in instances:
        instance._saved_in_db = True


class Params:
    """Parameters of a hand-written statement, numbered for the default connection's dialect
    (`$n` on PostgreSQL, `?n` on SQLite) and converted as Tortoise stores them."""

    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.postgres = self.conn.capabilities.dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        if not self.postgres and isinstance(value, UUID):
            value = str(value)
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else f"?{len(self.values)}"

    def any_of(self, values: list[Any], pg_type: str) -> str:
        """`= ANY($n::type[])` (one plan whatever the count) or SQLite's `IN (?n, ...)`."""
        if self.postgres:
            return f"= ANY({self(values)}::{pg_type}[])"
        return f"IN ({', '.join(self(v) for v in values)})"

    async def fetch(self, sql: str) -> list[Row]:
        return list(await self.conn.execute_query_dict(sql, self.values))
