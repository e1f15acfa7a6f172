"""Capacity and per-user conflicts hold under concurrency.

Across processes: a real server with 2 workers on PostgreSQL, hit over loopback HTTP, connected
directly and (issue 15) through PgBouncer in transaction mode.
In one process: simultaneous requests through the app on both databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leko_bookings.auth import mint_token
from leko_bookings.models import Booking
from leko_bookings.settings import Settings
from tests.conftest import NOW, SECRET, create_pg_database, drop_pg_database, pg_url
from tests.factories import create_event, event_json, order_body
from tests.live_server import live_server
from tests.pgbouncer import pgbouncer, requires_pgbouncer
from tests.test_lifecycle import CANCEL
from tests.test_waitlists import JOIN, LEAVE, WAITLIST

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename ... on Error { message } }
}
"""


@pytest.fixture(
    scope="module",
    params=["direct", pytest.param("pgbouncer-transaction", marks=requires_pgbouncer)],
)
async def pg_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """2 workers on PostgreSQL: connected directly, or (issue 15) through PgBouncer in transaction
    mode (fewer server connections than the workers' pools; asyncpg's statement cache off; the
    change listener connected directly). One at a time: the first is stopped before the next."""
    name = f"leko_conc_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    direct = pg_url(name).replace("maxsize=60", "maxsize=20")
    try:
        with contextlib.ExitStack() as stack:
            env = {"LEKO_DATABASE_URL": direct, "LEKO_JWT_SECRET": SECRET}
            if request.param != "direct":
                bouncer = stack.enter_context(pgbouncer("transaction"))
                env["LEKO_DATABASE_URL"] = bouncer.url(name, maxsize=20, statement_cache_size=0)
                env["LEKO_LISTEN_DATABASE_URL"] = direct
            yield stack.enter_context(live_server(env, "--workers", "2"))
    finally:
        await drop_pg_database(name)


def bearer(user: uuid.UUID, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), user, [role])}"}


async def publish(client: httpx.AsyncClient, *events: dict) -> None:
    r = await client.post(
        "/graphql",
        json={"query": UPSERT, "variables": {"events": list(events)}},
        headers=bearer(uuid.uuid4(), "scheduler"),
    )
    assert r.json()["data"]["upsertEvents"]["__typename"] == "UpsertEventsSuccess", r.text


async def gather_orders(
    client: httpx.AsyncClient, orders: list[tuple[uuid.UUID, list[uuid.UUID]]]
) -> list[httpx.Response]:
    return await asyncio.gather(
        *(
            client.post(
                "/v1/bookings", json=order_body(user, *events), headers=bearer(user, "athlete")
            )
            for user, events in orders
        )
    )


def outcomes(responses: list[httpx.Response]) -> Counter:
    counted: Counter = Counter()
    for r in responses:
        if r.status_code == 201:
            counted["booked"] += 1
        else:
            assert r.status_code == 400, r.text
            counted.update(e["bookingError"] for e in r.json()["errors"])
    return counted


@pytest.mark.postgres_only
async def test_fifty_orders_for_last_three_seats_across_two_workers(pg_server):
    coach = uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    event = event_json(coach=coach, start=start, capacity=3)
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=pg_server, timeout=60, limits=limits) as client:
        await publish(client, event)
        event_id = uuid.UUID(event["eventId"])
        responses = await gather_orders(client, [(uuid.uuid4(), [event_id]) for _ in range(50)])
        assert outcomes(responses) == Counter({"booked": 3, "overbooked": 47})
        listings = await asyncio.gather(
            *(
                client.get(
                    "/v1/bookings",
                    params={"eventId": str(event_id)},
                    headers=bearer(coach, "coach"),
                )
                for _ in range(12)
            )
        )
        assert [(r.status_code, len(r.json())) for r in listings] == [(200, 3)] * 12


@pytest.mark.postgres_only
async def test_one_user_ten_simultaneous_overlapping_orders_across_two_workers(pg_server):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    events = [event_json(coach=uuid.uuid4(), start=start + timedelta(minutes=i)) for i in range(10)]
    athlete = uuid.uuid4()
    async with httpx.AsyncClient(base_url=pg_server, timeout=60) as client:
        await publish(client, *events)
        ids = [uuid.UUID(e["eventId"]) for e in events]
        responses = await gather_orders(client, [(athlete, [i]) for i in ids])
        assert outcomes(responses) == Counter({"booked": 1, "conflictingUserSchedules": 9})
        mine = await client.get(
            "/v1/bookings", params={"userId": str(athlete)}, headers=bearer(athlete, "athlete")
        )
        assert len(mine.json()) == 1


async def test_simultaneous_orders_in_process_never_overbook(client, settings):
    """The same guarantee through one process (SQLite: one writer; PostgreSQL: row locks)."""
    event = await create_event(
        settings, NOW, coach=uuid.uuid4(), start=NOW + timedelta(days=1), capacity=3
    )
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/bookings", json=order_body(user, event), headers=bearer(user, "athlete")
            )
            for user in [uuid.uuid4() for _ in range(30)]
        )
    )
    assert outcomes(responses) == Counter({"booked": 3, "overbooked": 27})
    assert await Booking.filter(event_id=event).count() == 3


async def test_one_user_simultaneous_overlapping_orders_in_process(client, settings):
    athlete = uuid.uuid4()
    events = [
        await create_event(
            settings, NOW, coach=uuid.uuid4(), start=NOW + timedelta(days=1, minutes=i)
        )
        for i in range(8)
    ]
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/bookings", json=order_body(athlete, e), headers=bearer(athlete, "athlete")
            )
            for e in events
        )
    )
    assert outcomes(responses) == Counter({"booked": 1, "conflictingUserSchedules": 7})


# --- issue 17: one Idempotency-Key, many requests; one booking, two reschedules ---------------

RESCHEDULE = """
mutation R($id: UUID!, $eventId: UUID!) {
  rescheduleBooking(bookingId: $id, eventId: $eventId) {
    __typename ... on BookingRescheduled { booking { bookingId } } ... on Error { code message }
  }
}
"""


def keyed_answers(responses: list[httpx.Response]) -> set[str]:
    """Every answer is a 201 or a 409 (with Retry-After); the 201s' orders, as a set."""
    orders = set()
    for r in responses:
        if r.status_code == 409:
            assert r.headers["retry-after"] == "1", r.headers
            assert r.json()["errors"][0]["code"] == "tooManyRequests"
        else:
            assert r.status_code == 201, r.text
            orders.add(r.json()["orderId"])
    return orders


async def keyed_orders(client: httpx.AsyncClient, user: uuid.UUID, event: uuid.UUID, n: int):
    headers = {**bearer(user, "athlete"), "Idempotency-Key": f"retry-{user}"}
    return await asyncio.gather(
        *(
            client.post("/v1/bookings", json=order_body(user, event), headers=headers)
            for _ in range(n)
        )
    )


@pytest.mark.postgres_only
async def test_twenty_identical_orders_with_one_key_across_two_workers(pg_server):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    event = event_json(coach=uuid.uuid4(), start=start, capacity=30)
    athlete = uuid.uuid4()
    limits = httpx.Limits(max_connections=30)
    async with httpx.AsyncClient(base_url=pg_server, timeout=60, limits=limits) as client:
        await publish(client, event)
        event_id = uuid.UUID(event["eventId"])
        responses = await keyed_orders(client, athlete, event_id, 20)
        orders = keyed_answers(responses)
        assert len(orders) == 1, orders  # one order; every 201 is that one
        mine = await client.get(
            "/v1/bookings", params={"userId": str(athlete)}, headers=bearer(athlete, "athlete")
        )
        assert len(mine.json()) == 1
        # Once answered, the key gives that order again, replayed.
        [again] = await keyed_orders(client, athlete, event_id, 1)
        assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
        assert again.json()["orderId"] in orders


async def test_identical_keyed_orders_in_process(client, settings):
    """The same on both databases through one process."""
    event = await create_event(settings, NOW, coach=uuid.uuid4(), start=NOW + timedelta(days=1))
    athlete = uuid.uuid4()
    orders = keyed_answers(await keyed_orders(client, athlete, event, 10))
    assert len(orders) == 1
    assert await Booking.filter(event_id=event).count() == 1


async def _reschedule_twice_at_once(
    client: httpx.AsyncClient, athlete: uuid.UUID, booking: str, targets: list[uuid.UUID]
) -> list[str]:
    answers = await asyncio.gather(
        *(
            client.post(
                "/graphql",
                json={"query": RESCHEDULE, "variables": {"id": booking, "eventId": str(t)}},
                headers=bearer(athlete, "athlete"),
            )
            for t in targets
        )
    )
    return sorted(a.json()["data"]["rescheduleBooking"]["__typename"] for a in answers)


@pytest.mark.postgres_only
async def test_two_simultaneous_reschedules_of_one_booking_one_wins(pg_server):
    """Five athletes, each moving one booking to two events at once: for each, one move wins,
    the other is refused; each athlete ends with one live booking."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    coach = uuid.uuid4()
    events = [event_json(coach=coach, start=start + timedelta(hours=3 * i)) for i in range(3)]
    athletes = [uuid.uuid4() for _ in range(5)]
    async with httpx.AsyncClient(base_url=pg_server, timeout=60) as client:
        await publish(client, *events)
        origin, *targets = [uuid.UUID(e["eventId"]) for e in events]
        booked = await gather_orders(client, [(a, [origin]) for a in athletes])
        bookings = [r.json()["bookings"][0]["bookingId"] for r in booked]
        outcomes_ = await asyncio.gather(
            *(
                _reschedule_twice_at_once(client, a, b, targets)
                for a, b in zip(athletes, bookings, strict=True)
            )
        )
        assert outcomes_ == [["BookingRescheduled", "ValidationError"]] * 5
        for athlete in athletes:
            mine = await client.get(
                "/v1/bookings", params={"userId": str(athlete)}, headers=bearer(athlete, "athlete")
            )
            statuses = sorted(b["bookingStatus"] for b in mine.json())
            assert statuses == ["Accepted", "Canceled"], mine.json()


async def test_two_simultaneous_reschedules_in_process(client, settings):
    coach, athlete = uuid.uuid4(), uuid.uuid4()
    origin, *targets = [
        await create_event(settings, NOW, coach=coach, start=NOW + timedelta(days=1, hours=3 * i))
        for i in range(3)
    ]
    [r] = await gather_orders(client, [(athlete, [origin])])
    booking = r.json()["bookings"][0]["bookingId"]
    outcome = await _reschedule_twice_at_once(client, athlete, booking, targets)
    assert outcome == ["BookingRescheduled", "ValidationError"]
    assert await Booking.filter(user_id=athlete).count() == 2


# --- waitlists (issue 17): simultaneous cancellations promote the first eligible -------------

CAPACITY, WAITING, INELIGIBLE = 5, 20, (1, 4)
# Leave while the seats free (each locks its athlete, then the event: a cancel that took the
# event row first and then a waiting athlete's lock would deadlock with them).
LEAVING = (0, 2, 3, 19)


async def graphql_result(
    client: httpx.AsyncClient, user: uuid.UUID, role: str, query: str, **v
) -> dict:
    r = await client.post(
        "/graphql", json={"query": query, "variables": v}, headers=bearer(user, role)
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert "errors" not in data, data
    [result] = data["data"].values()
    return result


@pytest.mark.postgres_only
async def test_simultaneous_cancellations_book_the_first_eligible_waiting_athletes(pg_server):
    coach = uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    event = event_json(coach=coach, start=start, capacity=CAPACITY)
    elsewhere = event_json(coach=uuid.uuid4(), start=start, capacity=WAITING)
    async with httpx.AsyncClient(base_url=pg_server, timeout=60) as client:
        await publish(client, event, elsewhere)
        event_id = event["eventId"]
        holders = [uuid.uuid4() for _ in range(CAPACITY)]
        bookings = []
        for athlete in holders:
            r = await client.post(
                "/v1/bookings",
                json=order_body(athlete, uuid.UUID(event_id)),
                headers=bearer(athlete, "athlete"),
            )
            assert r.status_code == 201, r.text
            bookings.append(r.json()["bookings"][0]["bookingId"])
        waiting = [uuid.uuid4() for _ in range(WAITING)]
        for i, athlete in enumerate(waiting):  # one after the other: the waiting order
            joined = await graphql_result(client, athlete, "athlete", JOIN, eventId=event_id)
            assert joined["position"] == i + 1, joined
        for i in INELIGIBLE:  # now busy at that time: skipped, keep waiting
            athlete = waiting[i]
            r = await client.post(
                "/v1/bookings",
                json=order_body(athlete, uuid.UUID(elsewhere["eventId"])),
                headers=bearer(athlete, "athlete"),
            )
            assert r.status_code == 201, r.text

        cancels = [
            graphql_result(client, holder, "athlete", CANCEL, bookingId=b, reasonCode="NoTime")
            for holder, b in zip(holders, bookings, strict=True)
        ]
        leaves = [
            graphql_result(client, waiting[i], "athlete", LEAVE, eventId=event_id) for i in LEAVING
        ]
        done = await asyncio.gather(*cancels, *leaves)
        assert [c["bookingStatus"] for c in done[:CAPACITY]] == ["Canceled"] * CAPACITY
        # A leaver was either still waiting (and is gone) or already promoted (and holds a seat).
        left_in_time = {
            waiting[i]
            for i, left in zip(LEAVING, done[CAPACITY:], strict=True)
            if left["wasWaiting"]
        }

        seats = await client.get(
            "/v1/bookings", params={"eventId": event_id}, headers=bearer(coach, "coach")
        )
        held = {
            uuid.UUID(b["userId"])
            for b in seats.json()
            if b["bookingStatus"] in ("Pending", "Accepted")
        }
        eligible = [
            a for i, a in enumerate(waiting) if i not in INELIGIBLE and a not in left_in_time
        ]
        assert held == set(eligible[:CAPACITY])  # exactly the first five eligible, never more
        left = await graphql_result(client, coach, "coach", WAITLIST, eventId=event_id, first=50)
        expected = [a for a in waiting if a not in held and a not in left_in_time]
        assert [n["userId"] for n in left["nodes"]] == [str(a) for a in expected]
        assert [n["position"] for n in left["nodes"]] == list(range(1, len(expected) + 1))


RANKED_CALENDAR = """
query R($userId: UUID!) {
  bookings(userId: $userId, first: 200) {
    nodes { bookingId startAt bookingStatus serviceCardinality event { coachId } }
  }
}
"""
SETTLE = "mutation { notifyBookings { ... on NotifySummary { settledRankGroups busyRankGroups } } }"
HELD = ("Pending", "Accepted", "InDispute", "DisputeDone")


def ranks_as_counted(nodes: list[dict]) -> dict[str, int | None]:
    """serviceCardinality by the rule, from a whole calendar: 1, 2, ... per coach among the
    seat-holding bookings, by start then id; None for the others."""
    expected: dict[str, int | None] = {n["bookingId"]: None for n in nodes}
    seen: Counter = Counter()
    held = [n for n in nodes if n["bookingStatus"] in HELD]
    for n in sorted(held, key=lambda n: (n["startAt"], uuid.UUID(n["bookingId"]))):
        seen[n["event"]["coachId"]] += 1
        expected[n["bookingId"]] = seen[n["event"]["coachId"]]
    return expected


@pytest.mark.postgres_only
async def test_stored_ranks_stay_right_while_orders_cancellations_and_settling_interleave(
    pg_server,
):
    """Stored serviceCardinality (resolvers/ranks.py) across two workers: athletes order and
    cancel with two coaches while the notify run settles ranks again and again and the athletes
    read their whole calendars. Every calendar read, whatever it meets (ranks stored, stale,
    being renumbered), ranks exactly as the rule counts; once settled, the stored ranks equal
    the event listings' (which count every rank)."""
    coaches = [uuid.uuid4(), uuid.uuid4()]
    athletes = [uuid.uuid4() for _ in range(3)]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    events = [
        event_json(coach=coaches[i % 2], start=start + timedelta(hours=i), minutes=50, capacity=9)
        for i in range(16)
    ]
    scheduler = uuid.uuid4()
    reads: list[tuple[dict[str, int | None], dict[str, int | None]]] = []
    settled: list[dict] = []
    async with httpx.AsyncClient(base_url=pg_server, timeout=60) as client:
        await publish(client, *events)

        async def calendar(athlete: uuid.UUID) -> list[dict]:
            found = await graphql_result(
                client, athlete, "athlete", RANKED_CALENDAR, userId=str(athlete)
            )
            return found["nodes"]

        async def athlete_life(k: int, athlete: uuid.UUID) -> None:
            mine = []
            for i, event in enumerate(events):
                if (i + k) % 3 == 0:
                    continue
                r = await client.post(
                    "/v1/bookings",
                    json=order_body(athlete, uuid.UUID(event["eventId"])),
                    headers=bearer(athlete, "athlete"),
                )
                assert r.status_code == 201, r.text
                mine.append(r.json()["bookings"][0]["bookingId"])
                if i % 4 == k % 4:  # cancel an earlier one: later ranks with that coach move
                    canceled = mine.pop(len(mine) // 2)
                    await graphql_result(
                        client, athlete, "athlete", CANCEL, bookingId=canceled, reasonCode="NoTime"
                    )
                nodes = await calendar(athlete)
                reads.append(
                    (
                        {n["bookingId"]: n["serviceCardinality"] for n in nodes},
                        ranks_as_counted(nodes),
                    )
                )

        async def settling() -> None:
            for _ in range(12):
                settled.append(await graphql_result(client, scheduler, "scheduler", SETTLE))

        await asyncio.gather(*(athlete_life(k, a) for k, a in enumerate(athletes)), settling())
        assert len(reads) >= 30
        for shown, counted in reads:
            assert shown == counted
        assert sum(s["settledRankGroups"] for s in settled) > 0  # stored ranks were read too

        for _ in range(5):  # settle what is left (a group busy at the last run, if any)
            last = await graphql_result(client, scheduler, "scheduler", SETTLE)
            if last == {"settledRankGroups": 0, "busyRankGroups": 0}:
                break
        assert last == {"settledRankGroups": 0, "busyRankGroups": 0}
        listed: dict[str, int | None] = {}
        for coach in coaches:
            for event in events:
                if event["coachId"] != str(coach):
                    continue
                r = await client.get(
                    "/v1/bookings",
                    params={"eventId": event["eventId"]},
                    headers=bearer(coach, "coach"),
                )
                listed |= {b["bookingId"]: b.get("serviceCardinality") for b in r.json()}
        for athlete in athletes:
            nodes = await calendar(athlete)
            assert {n["bookingId"]: n["serviceCardinality"] for n in nodes} == {
                n["bookingId"]: listed[n["bookingId"]] for n in nodes
            }
            assert ranks_as_counted(nodes) == {
                n["bookingId"]: n["serviceCardinality"] for n in nodes
            }
