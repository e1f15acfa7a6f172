"""Per-user rate limits (every request; order creation) and the cap on seats one user holds.

The buckets live in the database and refill with the injected clock: tests advance the
FakeClock, nothing sleeps. Across processes: a real 2-worker server on PostgreSQL (and, for the
bursts, the same behind PgBouncer in transaction mode: issue 15).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tortoise import connections

from leko_bookings.app import create_app
from leko_bookings.auth import Principal, Role
from leko_bookings.errors import TooManyRequests
from leko_bookings.models import Booking, Order, RateBucket
from leko_bookings.resolvers import rate_limits
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings
from tests.conftest import NOW, SECRET, client_for, create_pg_database, drop_pg_database, pg_url
from tests.factories import book, create_event, event_json, gql, order_body
from tests.graphql_errors import assert_graphql_error
from tests.live_server import live_server
from tests.pgbouncer import pgbouncer, requires_pgbouncer
from tests.test_concurrency import bearer, publish

BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash}) {
    __typename
    ... on BookingRefused { errors { eventId bookingError } }
    ... on TooManyRequestsError { retryAfter }
    ... on Error { code message }
  }
}
"""
CANCEL = """
mutation C($bookingId: UUID!) {
  cancelBooking(bookingId: $bookingId, reasonCode: NoTime) { __typename }
}
"""
READ = "query R($userId: UUID!) { bookings(userId: $userId) { nodes { bookingId } } }"

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(db, settings, clock, channel) -> Client:
    """A client on an app whose settings differ from the test defaults by `changes`."""

    def make(**changes: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        changed = settings.model_copy(update=changes)
        # client_for validates every REST answer against the contract, the 429s included.
        return client_for(create_app(changed, clock=clock, manage_database=False, channel=channel))

    return make


def listing(client: httpx.AsyncClient, user: uuid.UUID, headers: dict[str, str]) -> Any:
    return client.get("/v1/bookings", params={"userId": str(user)}, headers=headers)


def assert_too_many(r: httpx.Response, endpoint: str, retry_after: int) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(retry_after)
    [error] = r.json()["errors"]
    assert error["code"] == "tooManyRequests"
    assert error["endpoint"] == endpoint
    assert error["requestId"] == r.headers["x-request-id"]
    assert f"Retry in {retry_after} s" in error["message"]
    return error


def assert_graphql_too_many(r: httpx.Response, retry_after: int) -> None:
    """429 on /graphql: a GraphQL error with `retryAfter`, and the Retry-After header."""
    error = assert_graphql_error(r, 429, "tooManyRequests")
    assert r.headers["retry-after"] == str(retry_after)
    assert error["extensions"]["retryAfter"] == retry_after
    assert f"Retry in {retry_after} s" in error["message"]


# --- the bucket ------------------------------------------------------------------------------


def ctx_of(settings: Settings, when: datetime, *roles: Role, user: uuid.UUID) -> Context:
    return Context(Principal(user, frozenset(roles or {Role.athlete})), when, settings)


async def outcome(ctx: Context, limit: rate_limits.Limit) -> int:
    """0 when a token was taken, else the seconds to wait."""
    try:
        await rate_limits.take(ctx, limit)
    except TooManyRequests as refused:
        return refused.retry_after
    return 0


async def test_a_bucket_gives_its_burst_then_refills_with_the_clock(db, settings, clock):
    limit = rate_limits.Limit(rate_limits.ORDERS, "orders", per_minute=6, burst=3)
    user = uuid.uuid4()

    async def take() -> int:
        return await outcome(ctx_of(settings, clock(), user=user), limit)

    assert [await take() for _ in range(4)] == [0, 0, 0, 10]  # one token per 10 s
    clock.advance(seconds=9)
    assert await take() == 1  # 0.9 of a token
    clock.advance(seconds=1)
    assert [await take(), await take()] == [0, 10]
    clock.advance(seconds=25)  # 2.5 tokens
    assert [await take(), await take(), await take()] == [0, 0, 5]
    clock.advance(hours=1)  # full, and never more than the burst
    assert [await take() for _ in range(4)] == [0, 0, 0, 10]
    # Another user's bucket, and another limit of the same user, are their own.
    other = rate_limits.Limit(rate_limits.REQUESTS, "requests", per_minute=6, burst=1)
    assert await outcome(ctx_of(settings, clock(), user=user), other) == 0
    assert await outcome(ctx_of(settings, clock(), user=uuid.uuid4()), limit) == 0
    assert await RateBucket.all().count() == 3


async def test_a_clock_running_late_refills_nothing(db, settings, clock):
    """A process whose clock is behind the last taker's neither refills nor breaks the bucket."""
    limit = rate_limits.Limit(rate_limits.REQUESTS, "requests", per_minute=60, burst=1)
    user = uuid.uuid4()
    assert await outcome(ctx_of(settings, NOW + timedelta(seconds=30), user=user), limit) == 0
    assert await outcome(ctx_of(settings, NOW, user=user), limit) == 1
    assert await outcome(ctx_of(settings, NOW + timedelta(seconds=31), user=user), limit) == 0


@pytest.mark.parametrize("role", [Role.admin, Role.scheduler])
async def test_operators_are_not_limited(db, settings, clock, role):
    limit = rate_limits.Limit(rate_limits.REQUESTS, "requests", per_minute=1, burst=1)
    ctx = ctx_of(settings, clock(), role, user=uuid.uuid4())
    assert [await outcome(ctx, limit) for _ in range(5)] == [0] * 5
    assert await RateBucket.all().count() == 0


async def test_the_bucket_table_is_unlogged_on_postgres(db, dialect):
    """A hand edit of migration 4 (a write on every request should not wait for the WAL)."""
    if dialect != "postgres":
        pytest.skip("PostgreSQL only")
    rows = await connections.get("default").execute_query_dict(
        "SELECT relpersistence::text AS p FROM pg_class WHERE relname = 'rate_bucket'"
    )
    assert rows == [{"p": "u"}]


# --- every request ---------------------------------------------------------------------------


async def test_rest_requests_beyond_the_burst_are_429_until_a_token_is_back(
    client_with, users, clock
):
    async with client_with(rate_limit_per_minute=60, rate_limit_burst=2) as client:
        me = users.as_athlete
        assert [(await listing(client, users.athlete, me)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        refused = await listing(client, users.athlete, me)
        assert_too_many(refused, "GET /bookings", retry_after=1)
        # The refusal comes before the request is judged: an invalid one is 429 too.
        r = await client.get("/v1/bookings/not-a-uuid", headers=me)
        assert_too_many(r, "GET /bookings/{bookingId}", retry_after=1)
        other = await listing(client, users.other_athlete, users.as_other_athlete)
        assert other.status_code == 200  # a bucket per user
        clock.advance(seconds=1)
        assert (await listing(client, users.athlete, me)).status_code == 200
        assert (await listing(client, users.athlete, me)).status_code == 429
        # Operators pass; a request without a token is 401, never limited.
        for _ in range(3):
            admin = await listing(client, users.athlete, users.as_admin)
            assert admin.status_code == 200
        assert (await client.get("/v1/bookings")).status_code == 401


async def test_graphql_shares_the_bucket_and_answers_429_as_a_graphql_error(
    client_with, users, clock
):
    async with client_with(rate_limit_per_minute=2, rate_limit_burst=2) as client:
        me = users.as_athlete
        assert (await listing(client, users.athlete, me)).status_code == 200
        await gql(client, me, READ, userId=str(users.athlete))  # 200, the second token
        r = await client.post(
            "/graphql",
            json={"query": READ, "variables": {"userId": str(users.athlete)}},
            headers=me,
        )
        assert_graphql_too_many(r, retry_after=30)
        clock.advance(seconds=29)
        r = await client.get("/graphql", params={"query": "{ __typename }"}, headers=me)
        assert_graphql_too_many(r, retry_after=1)
        clock.advance(seconds=1)
        await gql(client, me, READ, userId=str(users.athlete))


NOTIFY = "mutation { notifyBookings { ... on NotifySummary { purgedRateBuckets } } }"


async def test_the_notify_run_drops_buckets_full_again_and_nothing_changes(
    client_with, users, clock
):
    """No bucket is a full bucket: the notify run drops those untouched long enough to refill
    (2 tokens at 60 a minute: 2 s), keeps the others, and the limit holds as before."""
    async with client_with(rate_limit_per_minute=60, rate_limit_burst=2) as client:
        me = users.as_athlete

        async def purge() -> int:
            data = await gql(client, users.as_scheduler, NOTIFY)
            return int(data["data"]["notifyBookings"]["purgedRateBuckets"])

        def mine() -> Any:
            return RateBucket.filter(key__endswith=str(users.athlete)).exists()

        assert [(await listing(client, users.athlete, me)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        clock.advance(seconds=1)
        assert await purge() == 0  # half refilled: kept
        assert await mine()
        clock.advance(seconds=1, milliseconds=10)
        assert await purge() == 1
        assert not await mine()
        codes = [(await listing(client, users.athlete, me)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # the burst, exactly as a full bucket gives


async def test_limits_set_to_zero_are_off_and_write_nothing(client, users, settings):
    """The test defaults (conftest): both rates 0."""
    assert settings.rate_limit_per_minute == settings.order_rate_limit_per_minute == 0
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=1))
    for _ in range(30):
        assert (await listing(client, users.athlete, users.as_athlete)).status_code == 200
    for _ in range(10):
        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.status_code in (201, 400), r.text
    assert await RateBucket.all().count() == 0


def test_production_defaults_limit():
    defaults = Settings(jwt_secret=SECRET)
    assert defaults.rate_limit_per_minute > defaults.order_rate_limit_per_minute > 0
    assert defaults.rate_limit_burst > defaults.order_rate_limit_burst >= 1
    assert defaults.max_upcoming_seats_per_user > defaults.max_events_per_order


# --- order creation --------------------------------------------------------------------------


async def test_orders_beyond_their_burst_are_429_and_refused_orders_count(
    client_with, users, settings, clock
):
    events = [
        await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=1, hours=i))
        for i in range(3)
    ]
    async with client_with(order_rate_limit_per_minute=2, order_rate_limit_burst=2) as client:
        me = users.as_athlete
        refused = await book(client, me, users.athlete, uuid.uuid4())  # unknown event: 400
        assert refused.status_code == 400
        assert (await book(client, me, users.athlete, events[0])).status_code == 201
        r = await book(client, me, users.athlete, events[1])
        assert_too_many(r, "POST /bookings", retry_after=30)
        assert await Booking.all().count() == 1
        assert await Order.all().count() == 1
        assert (
            await listing(client, users.athlete, me)
        ).status_code == 200  # reading is not ordering
        # Requests refused before any order is tried (someone else's userId: 403; no eventIds)
        # take no token: the other athlete still has both.
        other = users.as_other_athlete
        for _ in range(2):
            assert (await book(client, other, users.athlete, events[1])).status_code == 403
            assert (await book(client, other, users.other_athlete)).status_code == 400
        assert (await book(client, other, users.other_athlete, events[2])).status_code == 201
        assert (await book(client, other, users.other_athlete, events[1])).status_code == 201
        clock.advance(seconds=30)
        assert (await book(client, me, users.athlete, events[1])).status_code == 201
        assert (await book(client, me, users.athlete, events[2])).status_code == 429
        # An admin ordering for the athlete is limited by neither the athlete's bucket nor its own.
        assert (await book(client, users.as_admin, users.athlete, events[2])).status_code == 201


async def test_graphql_order_limit_is_a_typed_error_with_retry_after(client_with, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=1))
    async with client_with(order_rate_limit_per_minute=1, order_rate_limit_burst=1) as client:
        me = users.as_athlete
        variables = {"userId": str(users.athlete), "eventIds": [str(event)]}
        first = await gql(client, me, BOOK, **variables)
        assert first["data"]["bookEvents"]["__typename"] == "BookingOrder"
        r = await client.post("/graphql", json={"query": BOOK, "variables": variables}, headers=me)
        assert r.status_code == 200
        assert r.headers["retry-after"] == "60"
        result = r.json()["data"]["bookEvents"]
        assert result["__typename"] == "TooManyRequestsError"
        assert result["code"] == "tooManyRequests"
        assert result["retryAfter"] == 60
        assert "at most 1 a minute" in result["message"]
        assert await Booking.all().count() == 1


# --- the seat cap ----------------------------------------------------------------------------


async def upcoming(settings: Settings, coach: uuid.UUID, n: int, *, days: int = 1) -> list[Any]:
    """n events of `coach` on one day, one an hour, not overlapping."""
    start = NOW + timedelta(days=days)
    return [
        await create_event(settings, NOW, coach=coach, start=start + timedelta(hours=i))
        for i in range(n)
    ]


async def test_an_order_past_the_seat_cap_is_refused_whole(client_with, users, settings):
    events = await upcoming(settings, users.coach, 5)
    async with client_with(max_upcoming_seats_per_user=3) as client:
        me = users.as_athlete
        assert (await book(client, me, users.athlete, *events[:2])).status_code == 201
        r = await book(client, me, users.athlete, *events[2:])
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["code"] == "validation"
        assert body["endpoint"] == "POST /bookings"
        assert "at most 3 seats" in body["message"]
        assert "holds 2" in body["message"]
        # The events beyond the room left, in request order: drop them and the rest fits.
        assert body["errors"] == [
            {"eventId": str(e), "bookingError": "overbooked"} for e in events[3:]
        ]
        assert await Booking.filter(user_id=users.athlete).count() == 2
        assert await Order.filter(user_id=users.athlete).count() == 1
        assert (await book(client, me, users.athlete, events[2])).status_code == 201
        # At the cap: even one more is refused, an admin ordering for the athlete included.
        r = await book(client, users.as_admin, users.athlete, events[3])
        assert r.json()["errors"] == [{"eventId": str(events[3]), "bookingError": "overbooked"}]
        # The cap is per user.
        other = await book(client, users.as_other_athlete, users.other_athlete, *events[3:])
        assert other.status_code == 201


async def test_other_refusals_come_first_and_the_cap_counts_the_rest(client_with, users, settings):
    """A per-event refusal keeps its reason; the cap counts only the events passing the rules."""
    events = await upcoming(settings, users.coach, 3)
    own = await create_event(settings, NOW, coach=users.athlete, start=NOW + timedelta(days=3))
    async with client_with(max_upcoming_seats_per_user=1) as client:
        r = await book(client, users.as_athlete, users.athlete, own, *events)
        assert [e["bookingError"] for e in r.json()["errors"]] == [
            "selfBookAttempt",
            "overbooked",
            "overbooked",
        ]
        assert [e["eventId"] for e in r.json()["errors"]] == [str(own), *map(str, events[1:])]


async def test_the_cap_counts_only_seats_held_in_events_not_started(
    client_with, users, settings, clock
):
    past, held = await upcoming(settings, users.coach, 2)
    later = await upcoming(settings, users.coach, 4, days=5)
    async with client_with(max_upcoming_seats_per_user=2) as client:
        me = users.as_athlete
        assert (await book(client, me, users.athlete, past, held)).status_code == 201
        # `past` starts at NOW + 1 day, `held` an hour later: between the two starts, only
        # `held` is upcoming.
        clock.advance(days=1, minutes=30)
        assert (await book(client, me, users.athlete, later[0])).status_code == 201
        r = await book(client, me, users.athlete, later[1])
        assert r.status_code == 400
        assert "holds 2" in r.json()["message"]
        # A canceled booking frees its room.
        [booking] = await Booking.filter(event_id=held).values_list("id", flat=True)
        canceled = await gql(client, me, CANCEL, bookingId=str(booking))
        assert canceled["data"]["cancelBooking"]["__typename"] == "Booking"
        assert (await book(client, me, users.athlete, later[1])).status_code == 201


@pytest.mark.parametrize(("cap", "booked"), [(0, 3), (1, 1)])
async def test_a_cap_of_zero_is_no_cap(client_with, users, settings, cap, booked):
    events = await upcoming(settings, users.coach, 3)
    async with client_with(max_upcoming_seats_per_user=cap) as client:
        for event in events:
            await book(client, users.as_athlete, users.athlete, event)
    assert await Booking.filter(user_id=users.athlete).count() == booked


async def test_graphql_refuses_past_the_cap_with_booking_refused(client_with, users, settings):
    events = await upcoming(settings, users.coach, 2)
    async with client_with(max_upcoming_seats_per_user=1) as client:
        variables = {"userId": str(users.athlete), "eventIds": [str(e) for e in events]}
        data = await gql(client, users.as_athlete, BOOK, **variables)
        result = data["data"]["bookEvents"]
        assert result["__typename"] == "BookingRefused"
        assert "at most 1 seats" in result["message"]
        assert result["errors"] == [{"eventId": str(events[1]), "bookingError": "overbooked"}]
    assert await Booking.all().count() == 0


async def test_simultaneous_orders_of_one_user_never_pass_the_cap(client_with, users, settings):
    """In one process on both databases (SQLite: one writer; PostgreSQL: the user's lock)."""
    events = await upcoming(settings, users.coach, 8)
    async with client_with(max_upcoming_seats_per_user=3) as client:
        responses = await asyncio.gather(
            *(book(client, users.as_athlete, users.athlete, e) for e in events)
        )
    assert Counter(r.status_code for r in responses) == Counter({201: 3, 400: 5})
    assert await Booking.filter(user_id=users.athlete).count() == 3


# --- erasure ---------------------------------------------------------------------------------


async def test_erasure_drops_the_users_buckets(client_with, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=1))
    async with client_with(rate_limit_per_minute=60, order_rate_limit_per_minute=60) as client:
        assert (await book(client, users.as_athlete, users.athlete, event)).status_code == 201
        assert (await listing(client, users.coach, users.as_coach)).status_code == 200
        assert await RateBucket.filter(key__contains=str(users.athlete)).count() == 2
        r = await client.delete(
            "/v1/users",
            params={"userId": str(users.athlete)},
            headers={**users.as_athlete, "x-current-user-id": str(users.athlete)},
        )
        assert r.status_code == 204, r.text
    assert await RateBucket.filter(key__contains=str(users.athlete)).count() == 0
    assert await RateBucket.filter(key__contains=str(users.coach)).count() == 1


# --- across processes ------------------------------------------------------------------------

BURST, ORDER_BURST, CAP = 30, 3, 4


@pytest.fixture(
    scope="module",
    params=["direct", pytest.param("pgbouncer-transaction", marks=requires_pgbouncer)],
)
async def limited_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """2 workers on PostgreSQL; buckets that do not refill within a test (1 token a minute).
    Connected directly, or through PgBouncer in transaction mode (asyncpg's statement cache off,
    the change listener connected directly); one at a time."""
    name = f"leko_rate_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    direct = pg_url(name).replace("maxsize=60", "maxsize=20")
    env = {
        "LEKO_DATABASE_URL": direct,
        "LEKO_JWT_SECRET": SECRET,
        "LEKO_RATE_LIMIT_PER_MINUTE": "1",
        "LEKO_RATE_LIMIT_BURST": str(BURST),
        "LEKO_ORDER_RATE_LIMIT_PER_MINUTE": "1",
        "LEKO_ORDER_RATE_LIMIT_BURST": str(ORDER_BURST),
        "LEKO_MAX_UPCOMING_SEATS_PER_USER": str(CAP),
    }
    try:
        with contextlib.ExitStack() as stack:
            if request.param != "direct":
                bouncer = stack.enter_context(pgbouncer("transaction"))
                env["LEKO_DATABASE_URL"] = bouncer.url(name, maxsize=20, statement_cache_size=0)
                env["LEKO_LISTEN_DATABASE_URL"] = direct
            yield stack.enter_context(live_server(env, "--workers", "2"))
    finally:
        await drop_pg_database(name)


async def publish_upcoming(client: httpx.AsyncClient, n: int) -> list[uuid.UUID]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    events = [event_json(coach=uuid.uuid4(), start=start + timedelta(hours=i)) for i in range(n)]
    await publish(client, *events)  # as a scheduler: not limited
    return [uuid.UUID(e["eventId"]) for e in events]


def statuses(responses: list[httpx.Response]) -> Counter:
    return Counter(r.status_code for r in responses)


@pytest.mark.postgres_only
async def test_exactly_the_burst_passes_when_requests_arrive_at_once(limited_server):
    user = uuid.uuid4()
    headers = bearer(user, "athlete")
    limits = httpx.Limits(max_connections=80)
    async with httpx.AsyncClient(base_url=limited_server, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(
                client.get("/v1/bookings", params={"userId": str(user)}, headers=headers)
                for _ in range(2 * BURST)
            )
        )
    assert statuses(responses) == Counter({200: BURST, 429: BURST})
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)


@pytest.mark.postgres_only
async def test_exactly_the_order_burst_passes_across_workers(limited_server):
    user = uuid.uuid4()
    async with httpx.AsyncClient(base_url=limited_server, timeout=60) as client:
        events = await publish_upcoming(client, 12)
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/bookings", json=order_body(user, e), headers=bearer(user, "athlete")
                )
                for e in events
            )
        )
    assert statuses(responses) == Counter({201: ORDER_BURST, 429: 12 - ORDER_BURST})


@pytest.mark.postgres_only
@pytest.mark.parametrize("limited_server", ["direct"], indirect=True)
async def test_simultaneous_orders_for_one_user_never_pass_the_cap_across_workers(limited_server):
    """Placed by an admin (not rate limited) for one athlete: only the cap and its lock act."""
    athlete = uuid.uuid4()
    admin = bearer(uuid.uuid4(), "admin")
    async with httpx.AsyncClient(base_url=limited_server, timeout=60) as client:
        events = await publish_upcoming(client, 12)
        responses = await asyncio.gather(
            *(
                client.post("/v1/bookings", json=order_body(athlete, e), headers=admin)
                for e in events
            )
        )
        mine = await client.get("/v1/bookings", params={"userId": str(athlete)}, headers=admin)
    assert statuses(responses) == Counter({201: CAP, 400: 12 - CAP})
    assert {
        e["bookingError"] for r in responses if r.status_code == 400 for e in r.json()["errors"]
    } == {"overbooked"}
    assert len(mine.json()) == CAP
