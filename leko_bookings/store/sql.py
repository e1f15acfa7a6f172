"""Hand-written SQL on both dialects: parameters numbered per dialect (`Params`), rows read by
position, a page's cursor clause (`page_clause`), multi-row inserts (`insert`), and decoding the
values SQLite stores as text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

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

    def none_of(self, values: list[Any], pg_type: str) -> str:
        """`<> ALL($n::type[])` or SQLite's `NOT IN (?n, ...)` (`any_of`'s opposite)."""
        if self.postgres:
            return f"<> ALL({self(values)}::{pg_type}[])"
        return f"NOT IN ({', '.join(self(v) for v in values)})"

    async def fetch(self, sql: str) -> list[Row]:
        return list(await self.conn.execute_query_dict(sql, self.values))

    async def rows(self, sql: str) -> Sequence[Sequence[Any]]:
        """The rows as the driver returns them, read by position (no dictionary per row)."""
        return (await self.conn.execute_query(sql, self.values))[1]


PageBounds = tuple[datetime | None, UUID | None, int | None, bool]
"""A page's (moment, id) cursor, rows to read, backward (`resolvers/common.py: page_bounds`)."""


def page_clause(p: Params, conditions: list[str], bounds: PageBounds, table: str = "") -> str:
    """WHERE, ORDER BY (start, id) and LIMIT of a page of rows ordered by `start_at` then `id`
    (of the table aliased `table`, if given): after the cursor; backward: before it, latest
    first (the resolver puts the rows back in order)."""
    moment, row_id, limit, backward = bounds
    op, order = ("<", "DESC") if backward else (">", "ASC")
    start, key = f'{table}"start_at"', f'{table}"id"'
    if moment is not None and row_id is not None:
        at, after = p(moment), p(row_id)
        conditions = [
            *conditions,
            f"({start} {op} {at} OR ({start} = {at} AND {key} {op} {after}))",
        ]
    sql = f" WHERE {' AND '.join(conditions)} ORDER BY {start} {order}, {key} {order}"
    return sql if limit is None else f"{sql} LIMIT {p(limit)}"


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


@cache  # once the models are initialised
def positional_decoders(model: type[Model], columns: tuple[str, ...]) -> tuple[Callable, ...]:
    """For rows read by position: each column's decoder from what SQLite stores (text for UUIDs
    and instants, integers for booleans) to the type PostgreSQL's driver returns."""
    meta = model._meta
    by_column = {column: name for name, column in meta.fields_db_projection.items()}
    return tuple(meta.fields_map[by_column[c]].to_python_value for c in columns)
