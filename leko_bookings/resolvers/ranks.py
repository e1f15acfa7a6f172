"""serviceCardinality, stored: the rank of each seat-holding booking among its athlete's
seat-holding bookings with the same coach (by start, then id) is kept on the booking
(`service_rank`), so that the calendar reads it instead of counting it on every request.

The rule that keeps it true with any number of processes, and without any write path knowing:
- Every insert, delete, or change of a booking's status, start, coach or athlete writes a stale
  row for its athlete and coach (the old and the new ones), in its own transaction: database
  triggers (migration `stored_ranks`), so no write path can forget it.
- A read trusts `service_rank` only for athletes and coaches with no stale row visible to it,
  and counts the rank otherwise (`store/bookings.py: _users_page_sql`). So a read is right
  whatever the settling has done: a change is never visible without its stale row.
- Settling (`settle`, from the notify run and `leko-bookings settle-ranks`) reads stale rows,
  then in one transaction locks every booking of their groups (PostgreSQL: id order, NOWAIT;
  a group a writer holds stays stale, for the next run), renumbers them from what is committed
  at that moment, and deletes exactly the stale rows it read. Each change whose stale row it
  deletes committed before it read that row, so the renumbering sees it; a change committed
  later left a stale row it did not read, and the group stays stale. Two settlings of one group
  cannot interleave: the second's NOWAIT fails until the first commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from leko_bookings.auth import Role
from leko_bookings.resolvers.access import require_roles
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.seats import SEAT_HOLDING
from leko_bookings.store import ranks as rank_rows

BATCH = 500  # stale rows per transaction: one statement's worth of groups


@dataclass(frozen=True, slots=True)
class Settled:
    groups: int  # athletes' ranks with one coach renumbered
    busy: int  # left stale: a booking of theirs was locked by a transaction still running


async def _one(stale: rank_rows.Stale) -> None:
    async with in_transaction():
        await rank_rows.renumber(stale.groups, stale.ids, SEAT_HOLDING)


async def settle(ctx: Context) -> Settled:
    """Renumber every group stale when the run starts (later marks wait for the next run, so a
    run ends under any write load): a batch of stale rows in one transaction; if one of its
    bookings is locked, each of its groups on its own, skipping the busy ones."""
    require_roles(ctx, Role.scheduler, Role.admin)
    settled = busy = 0
    last, top = 0, await rank_rows.last_stale_id()
    while True:
        stale = await rank_rows.stale_after(last, top, BATCH)
        if not stale.ids:
            return Settled(settled, busy)
        last = stale.ids[-1]
        try:
            await _one(stale)
            settled += len(stale.groups)
            continue
        except rank_rows.GroupsBusy:
            pass
        for group in stale.groups:
            ids = await rank_rows.stale_of(group, last)
            if not ids:
                continue  # settled meanwhile by another run
            try:
                await _one(rank_rows.Stale(ids, (group,)))
                settled += 1
            except rank_rows.GroupsBusy:
                busy += 1
