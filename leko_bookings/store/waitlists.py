"""Waitlists (the rules: `resolvers/waitlists.py`): who waits for a seat in which event, in
waiting order (the moment of joining, then id), and what their positions are.

An event's waitlist changes only while its event row is locked (joining, leaving, a promotion),
so a statement run under that lock reads it as it stays until commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from leko_bookings.models import EventStatus, WaitlistEntry
from leko_bookings.store.sql import Params, as_instant, as_uuid, insert
from leko_bookings.store.views import WaitlistEntryView, WaitlistSummary


async def entries(event_ids: Sequence[UUID]) -> dict[UUID, list[WaitlistEntryView]]:
    """Each event's waiting athletes in waiting order (events without any: absent)."""
    if not event_ids:
        return {}
    p = Params()
    ids = p.any_of(list(event_ids), "uuid")
    rows = await p.rows(
        'SELECT "id", "event_id", "user_id", "created_at" FROM "waitlist_entry" '
        f'WHERE "event_id" {ids} ORDER BY "event_id", "created_at", "id"'
    )
    found: dict[UUID, list[WaitlistEntryView]] = {}
    for entry_id, event_id, user_id, joined_at in rows:
        waiting = found.setdefault(as_uuid(event_id), [])
        waiting.append(
            WaitlistEntryView(
                as_uuid(entry_id),
                as_uuid(event_id),
                as_uuid(user_id),
                as_instant(joined_at),
                len(waiting) + 1,
            )
        )
    return found


async def add(entry: WaitlistEntry) -> None:
    await insert([entry])


async def remove(event_id: UUID, user_id: UUID) -> bool:
    """Whether the user was waiting in the event (and no longer is)."""
    return await WaitlistEntry.filter(event_id=event_id, user_id=user_id).delete() > 0


async def remove_user_from(user_id: UUID, event_ids: Sequence[UUID]) -> None:
    """The user no longer waits in these events (they hold a seat in them now)."""
    await WaitlistEntry.filter(user_id=user_id, event_id__in=list(event_ids)).delete()


async def remove_entries(entry_ids: Sequence[UUID]) -> None:
    if entry_ids:
        await WaitlistEntry.filter(id__in=list(entry_ids)).delete()


async def waiting_count(user_id: UUID) -> int:
    """In how many waitlists the user waits."""
    return await WaitlistEntry.filter(user_id=user_id).count()


async def summaries(event_ids: Sequence[UUID], viewer: UUID) -> dict[UUID, WaitlistSummary]:
    """Each event's waitlist length and the viewer's position in it (one statement)."""
    p = Params()
    ids, me = p.any_of(list(event_ids), "uuid"), p(viewer)
    ids_again = p.any_of(list(event_ids), "uuid")
    rows = await p.rows(
        'SELECT "event_id", COUNT(*), 0 FROM "waitlist_entry" '
        f'WHERE "event_id" {ids} GROUP BY "event_id" '
        'UNION ALL SELECT w."event_id", (SELECT COUNT(*) FROM "waitlist_entry" x '
        'WHERE x."event_id" = w."event_id" AND (x."created_at" < w."created_at" '
        'OR (x."created_at" = w."created_at" AND x."id" <= w."id"))), 1 '
        f'FROM "waitlist_entry" w WHERE w."user_id" = {me} AND w."event_id" {ids_again}'
    )
    lengths: dict[UUID, int] = {}
    positions: dict[UUID, int] = {}
    for event_id, n, own in rows:
        (positions if own else lengths)[as_uuid(event_id)] = n
    return {e: WaitlistSummary(lengths.get(e, 0), positions.get(e)) for e in event_ids}


async def purge(now: datetime) -> int:
    """Removes the entries of events that have started or are canceled; how many."""
    p = Params()
    at, canceled = p(now), p(EventStatus.Canceled.value)
    rows = await p.rows(
        'SELECT w."id" FROM "waitlist_entry" w JOIN "event" e ON e."id" = w."event_id" '
        f'WHERE e."start_at" <= {at} OR e."status" = {canceled}'
    )
    await remove_entries([as_uuid(r[0]) for r in rows])
    return len(rows)


async def erase_user(user_id: UUID) -> int:
    """Removes every entry of the user; how many."""
    return await WaitlistEntry.filter(user_id=user_id).delete()
