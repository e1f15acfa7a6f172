"""Stored serviceCardinality: which athletes' ranks with which coaches are stale, and their
renumbering (the rule and its proof: `resolvers/ranks.py`).

A booking's `service_rank` is its rank as last settled; the database's triggers (migration
`stored_ranks`) add a `booking_rank_stale` row for the athlete and coach of every booking
inserted, deleted, or changed in status, start, coach or athlete, in the writing transaction.
`store/bookings.py` trusts `service_rank` only where no such row is visible, and counts the
rank otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from asyncpg.exceptions import LockNotAvailableError

from leko_bookings.models import BookingStatus
from leko_bookings.store.sql import Params, as_uuid

Group = tuple[UUID, UUID]
"""An athlete and a coach: the bookings one set of ranks numbers."""


class GroupsBusy(Exception):
    """Another transaction holds a row lock on a booking of these groups (PostgreSQL's NOWAIT
    refused): renumbering them now could wait on it; they stay stale."""


@dataclass(frozen=True, slots=True)
class Stale:
    """Stale rows read in one go: their ids (the ones a renumbering may delete) and groups."""

    ids: tuple[int, ...]
    groups: tuple[Group, ...]


async def last_stale_id() -> int:
    """The newest stale row's id (0: none)."""
    rows = await Params().rows('SELECT MAX("id") FROM "booking_rank_stale"')
    return int(rows[0][0] or 0)


async def stale_after(last_id: int, up_to: int, limit: int) -> Stale:
    """Up to `limit` stale rows after `last_id` and up to `up_to`, in id order."""
    p = Params()
    rows = await p.rows(
        f'SELECT "id", "user_id", "coach_id" FROM "booking_rank_stale" WHERE "id" > {p(last_id)} '
        f'AND "id" <= {p(up_to)} ORDER BY "id" LIMIT {p(limit)}'
    )
    groups = dict.fromkeys((as_uuid(user), as_uuid(coach)) for _, user, coach in rows)
    return Stale(tuple(int(r[0]) for r in rows), tuple(groups))


def rank_window(held: str, where: str) -> str:
    """serviceCardinality, computed by the database: the `id` and rank `n` of each seat-holding
    booking (`held`: the condition on its status) that `where` (conditions on the unaliased
    booking) selects, numbered 1, 2, ... among its athlete's seat-holding bookings with the same
    coach that `where` selects too, by start then id."""
    return (
        'SELECT "id", ROW_NUMBER() OVER (PARTITION BY "user_id", "coach_id" '
        f'ORDER BY "start_at", "id") "n" FROM "booking" WHERE {where} AND "status" {held}'
    )


def _in_groups(p: Params, groups: Sequence[Group], table: str = "") -> str:
    """`(user_id, coach_id) IN (VALUES ...)` on the booking `table` names (or the unaliased)."""
    cast = "::uuid" if p.postgres else ""
    pairs = ", ".join(f"({p(user)}{cast}, {p(coach)}{cast})" for user, coach in groups)
    return f'({table}"user_id", {table}"coach_id") IN (VALUES {pairs})'


async def renumber(
    groups: Sequence[Group], stale_ids: Sequence[int], holding: Sequence[BookingStatus]
) -> None:
    """In the caller's transaction: lock every booking of these groups (PostgreSQL: in id
    order, NOWAIT, else `GroupsBusy`), store each one's rank (`rank_window`; `holding`: the
    statuses that hold a seat) and NULL for the others, then delete these stale rows (read
    before this call)."""
    p = Params()
    if p.postgres:
        lock = (
            f'SELECT 1 FROM "booking" WHERE {_in_groups(p, groups)} ORDER BY "id" FOR UPDATE NOWAIT'
        )
        try:
            await p.rows(lock)
        except LockNotAvailableError as busy:
            raise GroupsBusy() from busy
        p = Params()
    window = rank_window(p.any_of([s.value for s in holding], "text"), _in_groups(p, groups))
    differs = "IS DISTINCT FROM" if p.postgres else "IS NOT"
    await p.rows(
        'UPDATE "booking" SET "service_rank" = r."n" FROM (SELECT g."id", w."n" FROM "booking" g '
        f'LEFT JOIN ({window}) w ON w."id" = g."id" WHERE {_in_groups(p, groups, "g.")}) r '
        f'WHERE "booking"."id" = r."id" AND "booking"."service_rank" {differs} r."n"'
    )
    p = Params()
    await p.rows(f'DELETE FROM "booking_rank_stale" WHERE "id" {p.any_of(list(stale_ids), "int8")}')


async def forget(user_id: UUID) -> None:
    """Delete the stale rows naming this user (as athlete or as coach): an erasure, once none of
    their bookings is left to rank under that id."""
    p = Params()
    who = p(user_id)
    await p.rows(f'DELETE FROM "booking_rank_stale" WHERE "user_id" = {who} OR "coach_id" = {who}')


async def stale_of(group: Group, up_to: int) -> tuple[int, ...]:
    """The ids of a group's stale rows up to `up_to`."""
    p = Params()
    rows = await p.rows(
        f'SELECT "id" FROM "booking_rank_stale" WHERE "user_id" = {p(group[0])} '
        f'AND "coach_id" = {p(group[1])} AND "id" <= {p(up_to)}'
    )
    return tuple(int(r[0]) for r in rows)
