"""Hand-written and pre-rendered SQL for the hot paths, on both dialects: statements rendered
once (`Compiled`), parameters numbered per dialect (`Params`), multi-row inserts (`insert`), and
decoding the values SQLite stores as text."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID, uuid4

from tortoise import connections
from tortoise.expressions import Q
from tortoise.fields.base import DatabaseDefault
from tortoise.models import Model
from tortoise.queryset import QuerySet

Row = dict[str, Any]
M = TypeVar("M", bound=Model)

# The private API of the pinned tortoise-orm (==1.1.9) and pypika-tortoise (==0.6.5) this
# module uses, and nothing else in the code does (tests/test_private_api.py touches each name,
# so an upgrade that changes one fails there first):
PRIVATE_API = (
    "tortoise.queryset.QuerySet._choose_db_if_not_chosen",  # Compiled: the connection's dialect
    "tortoise.queryset.QuerySet._make_query",  # Compiled: build the statement without running it
    "tortoise.queryset.QuerySet.query",  # Compiled: the built pypika query
    "pypika_tortoise.queries.QueryBuilder.get_parameterized_sql",  # Compiled: its SQL and values
    "tortoise.models.Model._init_from_db",  # model_of: a model from a hand-written row
    "tortoise.models.Model._saved_in_db",  # insert: rows written by a multi-row INSERT
    "tortoise.models.Model._meta",  # column names, fields and table of a model
)


def as_uuid(value: Any) -> UUID:
    """A UUID column's value (text on SQLite)."""
    return value if isinstance(value, UUID) else UUID(str(value))


def as_instant(value: Any) -> datetime:
    """A date-time column's value (text on SQLite, as Tortoise stores it)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


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


def model_of(model: type[M], row: Row) -> M:
    """A model instance from a hand-written SELECT of `columns_of(model)`."""
    return model._init_from_db(**row)


def column_values(instance: Model) -> Row:
    """A model's values by column name, as a row of it holds them."""
    meta = instance._meta
    return {column: getattr(instance, name) for name, column in meta.fields_db_projection.items()}


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


def paginate_after(
    query: QuerySet,
    moment_field: str,
    newest_first: bool,
    moment: datetime | None,
    row_id: UUID | None,
    limit: int | None,
    backward: bool = False,
) -> QuerySet:
    """Ordered by (moment, id) (`newest_first`: descending), after a cursor's (moment, id) when
    given, at most `limit`. `backward`: the other way round, from the cursor towards the list's
    start (the caller reverses the rows)."""
    descending = newest_first != backward
    if moment is not None and row_id is not None:
        op = "lt" if descending else "gt"
        earlier_or_later: dict[str, Any] = {f"{moment_field}__{op}": moment}
        same_moment: dict[str, Any] = {moment_field: moment, f"id__{op}": row_id}
        query = query.filter(Q(**earlier_or_later) | Q(**same_moment))
    order = (f"-{moment_field}", "-id") if descending else (moment_field, "id")
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    return query


E = TypeVar("E", bound=Enum)


def enum_of(kind: type[E]) -> dict[str, E]:
    """A column's text (or the member itself) -> the member: a dict lookup, not `kind(value)`."""
    return {member.value: member for member in kind}


@cache  # once the models are initialised (their foreign key columns exist only from then)
def _decoders(model: type[Model]) -> dict[str, Callable[[Any], Any]]:
    meta = model._meta
    return {
        meta.fields_db_projection[name]: meta.fields_map[name].to_python_value
        for name in meta.fields_db_projection
    }


def decoded_rows(
    rows: list[Row], model: type[Model], related: type[Model]
) -> list[tuple[Row, Row]]:
    """The rows of a `select_related` query, each split into the model's columns and the related
    model's (keyed by column name; values as PostgreSQL's driver returns them, SQLite's stored
    text and integers decoded to the same types)."""
    if not rows:
        return []
    own = [k for k in rows[0] if "." not in k]
    joined = [(k, k.rsplit(".", 1)[1]) for k in rows[0] if "." in k]
    if connections.get("default").capabilities.dialect == "postgres":
        return [({k: r[k] for k in own}, {c: r[k] for k, c in joined}) for r in rows]
    a, b = _decoders(model), _decoders(related)
    return [({k: a[k](r[k]) for k in own}, {c: b[c](r[k]) for k, c in joined}) for r in rows]
