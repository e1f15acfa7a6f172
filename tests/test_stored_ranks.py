"""Stored serviceCardinality (resolvers/ranks.py): which writes mark an athlete and coach stale
(the database's triggers), what settling stores, and a group a writer holds left stale and
still read right. The concurrent case across two workers: tests/test_concurrency.py."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import asyncpg
import pytest

from leko_bookings.auth import Principal, Role
from leko_bookings.db import asyncpg_connect_kwargs
from leko_bookings.models import Booking, RankStale
from leko_bookings.resolvers import ranks
from leko_bookings.resolvers.context import Context
from tests.conftest import NOW
from tests.factories import book, create_event, event_json, gql
from tests.test_erasure import erase_headers
from tests.test_lifecycle import CANCEL

UPSERT = """
mutation U($events: [EventInput!]!) { upsertEvents(events: $events) { __typename } }
"""
CALENDAR = """
query C($userId: UUID!) {
  bookings(userId: $userId, first: 50) { nodes { bookingId serviceCardinality } }
}
"""


async def stale() -> Counter:
    """The stale rows, by (athlete, coach)."""
    return Counter((r.user_id, r.coach_id) for r in await RankStale.all())


async def stored() -> dict[uuid.UUID, int | None]:
    return {b.id: b.service_rank for b in await Booking.all()}


async def calendar(client, users) -> dict[str, int | None]:
    data = await gql(client, users.as_athlete, CALENDAR, userId=str(users.athlete))
    return {n["bookingId"]: n["serviceCardinality"] for n in data["data"]["bookings"]["nodes"]}


def operator(settings) -> Context:
    return Context(Principal(uuid.uuid4(), frozenset({Role.scheduler})), NOW, settings)


async def test_each_rank_changing_write_marks_its_athlete_and_coach_stale(
    client, users, settings, clock
):
    athlete, coach = users.athlete, users.coach
    first = await create_event(settings, NOW, coach=coach, start=NOW + timedelta(days=1))
    later = event_json(coach=coach, start=NOW + timedelta(days=2))
    await gql(client, users.as_admin, UPSERT, events=[later])
    assert await stale() == Counter()  # events alone rank nothing

    one = (await book(client, users.as_athlete, athlete, first)).json()["bookings"][0]
    two = await book(client, users.as_athlete, athlete, uuid.UUID(later["eventId"]))
    two = two.json()["bookings"][0]
    assert await stale() == Counter({(athlete, coach): 2})  # one row per booking inserted
    assert set((await stored()).values()) == {None}  # not settled yet: counted when read
    assert await calendar(client, users) == {one["bookingId"]: 1, two["bookingId"]: 2}

    assert await ranks.settle(operator(settings)) == ranks.Settled(groups=1, busy=0)
    assert await stale() == Counter()
    assert await stored() == {uuid.UUID(one["bookingId"]): 1, uuid.UUID(two["bookingId"]): 2}
    assert await calendar(client, users) == {one["bookingId"]: 1, two["bookingId"]: 2}

    moved = {**later, "startAt": (NOW + timedelta(hours=3)).isoformat()}
    moved["endAt"] = (NOW + timedelta(hours=4)).isoformat()
    await gql(client, users.as_admin, UPSERT, events=[moved])
    assert await stale() == Counter({(athlete, coach): 1})  # its booking moved before `one`
    assert await calendar(client, users) == {two["bookingId"]: 1, one["bookingId"]: 2}
    await ranks.settle(operator(settings))
    assert await stored() == {uuid.UUID(two["bookingId"]): 1, uuid.UUID(one["bookingId"]): 2}

    canceled = await gql(
        client, users.as_athlete, CANCEL, bookingId=two["bookingId"], reasonCode="NoTime"
    )
    assert "errors" not in canceled, canceled
    assert await stale() == Counter({(athlete, coach): 1})
    assert await calendar(client, users) == {two["bookingId"]: None, one["bookingId"]: 1}
    await ranks.settle(operator(settings))
    assert await stored() == {uuid.UUID(two["bookingId"]): None, uuid.UUID(one["bookingId"]): 1}

    clock.now = NOW + timedelta(days=1, hours=2)  # `one` has ended: the coach adds a note
    r = await client.patch(
        f"/v1/bookings/{one['bookingId']}/note", json={"note": "warm up"}, headers=users.as_coach
    )
    assert r.status_code == 200, r.text
    assert await stale() == Counter()  # a note changes no rank

    r = await client.delete("/v1/users", headers=erase_headers(users.as_athlete, athlete))
    assert r.status_code == 204, r.text
    assert await stale() == Counter()  # their bookings' rows went with them


async def test_a_group_whose_booking_a_transaction_holds_stays_stale_and_reads_right(
    client, users, settings, database, dialect
):
    if dialect != "postgres":
        pytest.skip("PostgreSQL only: SQLite has one writer, nothing holds a row")
    athlete, coach = users.athlete, users.coach
    events = [
        await create_event(settings, NOW, coach=coach, start=NOW + timedelta(days=d))
        for d in (1, 2)
    ]
    booked = [(await book(client, users.as_athlete, athlete, e)).json() for e in events]
    ids = [b["bookings"][0]["bookingId"] for b in booked]
    other = await create_event(settings, NOW, coach=users.other_coach, start=NOW + timedelta(3))
    assert (await book(client, users.as_athlete, athlete, other)).status_code == 201

    holder = await asyncpg.connect(**asyncpg_connect_kwargs(database))
    try:
        async with holder.transaction():  # a writer holding one booking's row
            await holder.execute(
                "SELECT 1 FROM booking WHERE id = $1 FOR UPDATE", uuid.UUID(ids[1])
            )
            done = await ranks.settle(operator(settings))
            assert done == ranks.Settled(groups=1, busy=1)  # the other coach's was settled
            assert await stale() == Counter({(athlete, coach): 2})
            assert (await calendar(client, users))[ids[1]] == 2  # counted meanwhile
    finally:
        await holder.close()
    assert await ranks.settle(operator(settings)) == ranks.Settled(groups=1, busy=0)
    assert await stale() == Counter()
    assert [(await stored())[uuid.UUID(i)] for i in ids] == [1, 2]
