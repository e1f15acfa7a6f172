"""The scenarios: their requests (pre-built, with bearer tokens), and the checks around them."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import asyncpg
import httpx

from bench import tables
from bench.datagen import Dataset
from bench.week import WEEK_QUERY
from leko_bookings.auth import mint_token
from leko_bookings.settings import Settings

# What a calendar UI asks for one user's month: the bookings with their event and time slot.
CALENDAR_QUERY = """
query Calendar($userId: UUID!, $startAt: DateTime!, $endAt: DateTime!) {
  bookings(userId: $userId, startAt: $startAt, endAt: $endAt, first: 200) {
    nodes {
      bookingId orderId startAt endAt bookingStatus completed note serviceCardinality
      event { eventId coachId sportId startAt endAt eventStatus }
      timeslot {
        timeSlotId startTime endTime numberOfParticipants slotType ageFrom ageTo duration
        price priceCurrency paymentMethod addressId public level eligibility
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()
SCENARIOS = (
    "get_by_id",
    "month_list",
    "graphql_calendar",
    "graphql_week",
    "post_bookings",
    "post_bookings_keyed",
)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
POST_CONCURRENCY = 50
MAX_ORDERS = 20_000


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    requests: list[dict[str, Any]]
    concurrency: int
    baseline: str | None  # the baseline scenario it is compared with (its own name, or another)
    writes: bool = False


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_post(path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """A POST of a JSON body, as the load generator and `send` take requests."""
    text = json.dumps(body, separators=(",", ":"))
    return {"method": "POST", "path": path, "headers": headers, "body": text}


def month_variables(user: UUID, data: Dataset) -> dict[str, str]:
    """The calendar's variables: one user, the data's month [start, end)."""
    start, end = data.month
    return {"userId": str(user), "startAt": _z(start), "endAt": _z(end)}


class Requests:
    """Builds requests with a bearer token per user (minted once each)."""

    def __init__(self, secret: str, now: datetime) -> None:
        self.settings = Settings(jwt_secret=secret)
        self.now = now
        self.tokens: dict[UUID, str] = {}

    def auth(self, user: UUID) -> dict[str, str]:
        if user not in self.tokens:
            self.tokens[user] = mint_token(
                self.settings, user, ["athlete"], ttl=timedelta(hours=12), now=self.now
            )
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: UUID, path: str, **params: str) -> dict[str, Any]:
        query = f"?{urlencode(params)}" if params else ""
        return {"method": "GET", "path": path + query, "headers": self.auth(user), "body": None}

    def post(self, user: UUID, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return json_post(path, body, self.auth(user))

    def month(self, user: UUID, data: Dataset) -> dict[str, Any]:
        start, end = data.month
        return self.get(user, "/v1/bookings", userId=str(user), startAt=_z(start), endAt=_z(end))

    def calendar(self, user: UUID, data: Dataset) -> dict[str, Any]:
        variables = month_variables(user, data)
        return self.post(user, "/graphql", {"query": CALENDAR_QUERY, "variables": variables})

    def week(self, coach: UUID, athlete: UUID, data: Dataset) -> dict[str, Any]:
        start, end = data.week
        variables = {"from": _z(start), "to": _z(end), "coachId": str(coach)}
        return self.post(athlete, "/graphql", {"query": WEEK_QUERY, "variables": variables})

    def order(self, user: UUID, events: list[UUID], key: str | None = None) -> dict[str, Any]:
        """An order; with `key`, sent with that Idempotency-Key (issue 17)."""
        body = {
            "userId": str(user),
            "eventIds": [str(e) for e in events],
            "paymentMethod": {"type": "Cash"},
        }
        request = self.post(user, "/v1/bookings", body)
        if key is not None:
            request["headers"] = {**request["headers"], "Idempotency-Key": key}
        return request


def build(data: Dataset, secret: str, concurrency: int, seed: int) -> list[Scenario]:
    rng = random.Random(seed)
    req = Requests(secret, data.now)
    pool = [e for e, _ in data.pool]
    # The athletes take turns (each orders once before anyone orders again; the first one is
    # kept for the equivalence checks), so no athlete nears the per-user order limit (10 a
    # minute, bursts of 5; each run starts the sequence again, every few seconds for 4 runs)
    # or the seat cap (data.post_users have room for any order sent).
    athletes = data.post_users[1:]
    rng.shuffle(athletes)
    orders = []  # sent in this order, each once (as many as ~40 per pool event)
    keyed = []  # the same orders, each with a key of its own (issue 17: none is a retry)
    for i in range(min(MAX_ORDERS, 40 * len(pool))):
        size = rng.choices((1, 2, 3), (85, 12, 3))[0]
        user, events = athletes[i % len(athletes)], rng.sample(pool, size)
        orders.append(req.order(user, events))
        keyed.append(req.order(user, events, f"bench-{seed}-{i}"))
    # One order later than `orders`: the statements of each scenario's first request are counted
    # one after the other on the same data, and the same first order would be refused then.
    keyed = keyed[1:] + keyed[:1]
    return [
        Scenario(
            "get_by_id",
            "GET /v1/bookings/{id}",
            [req.get(user, f"/v1/bookings/{b}") for b, user in data.bookings],
            concurrency,
            "get_by_id",
        ),
        Scenario(
            "month_list",
            "GET /v1/bookings?userId&startAt&endAt (a month)",
            [req.month(user, data) for user in data.heavy],
            concurrency,
            "month_list",
        ),
        Scenario(
            "graphql_calendar",
            "GraphQL bookings(userId, month) + event + timeslot",
            [req.calendar(user, data) for user in data.heavy],
            concurrency,
            "month_list",
        ),
        Scenario(
            "graphql_week",
            "GraphQL events(from, to, coachId): a coach's week with availability",
            [req.week(coach, athlete, data) for coach, athlete in data.week_views],
            concurrency,
            "graphql_week",
        ),
        Scenario(
            "post_bookings",
            "POST /v1/bookings (pool of events)",
            orders,
            POST_CONCURRENCY,
            "post_bookings",
            writes=True,
        ),
        Scenario(
            "post_bookings_keyed",
            "POST /v1/bookings with an Idempotency-Key each (pool of events)",
            keyed,
            POST_CONCURRENCY,
            "post_bookings",  # against the baseline's orders without a key
            writes=True,
        ),
    ]


# -- the database around the POST scenario -------------------------------------------------------

SQL_OVERBOOKED = """
SELECT count(*) FROM (
  SELECT e.id FROM event e JOIN booking b ON b.event_id = e.id
  WHERE e.id = ANY($1::uuid[]) AND b.status = ANY($2::text[])
  GROUP BY e.id, e.capacity HAVING count(*) > e.capacity
) over_capacity
"""
SQL_DOUBLE_BOOKED = """
SELECT count(*) FROM booking a JOIN booking b
  ON b.user_id = a.user_id AND b.id <> a.id AND a.start_at < b.end_at AND b.start_at < a.end_at
WHERE a.event_id = ANY($1::uuid[]) AND a.status = ANY($2::text[]) AND b.status = ANY($2::text[])
"""
SQL_WRITTEN = """
SELECT (SELECT count(DISTINCT order_id) FROM booking WHERE event_id = ANY($1::uuid[])) orders,
       (SELECT count(*) FROM booking WHERE event_id = ANY($1::uuid[])) bookings,
       (SELECT count(*) FROM booking_history h JOIN booking b ON b.id = h.booking_id
         WHERE b.event_id = ANY($1::uuid[])) history,
       (SELECT count(*) FROM notification n JOIN booking b ON b.id = n.booking_id
         WHERE b.event_id = ANY($1::uuid[])) notifications
"""
# Notifications explicitly (they may not cascade from their booking); orders cascade to their
# bookings, and bookings to their history.
SQL_RESET = (
    """
DELETE FROM notification
WHERE booking_id IN (SELECT id FROM booking WHERE event_id = ANY($1::uuid[]))
""",
    """
DELETE FROM booking_order
WHERE id IN (SELECT order_id FROM booking WHERE event_id = ANY($1::uuid[]))
""",
)


async def pool_state(dsn: str, data: Dataset) -> dict[str, int]:
    """What orders wrote on the pool, and the two invariants: capacity and a user's overlaps."""
    pool = [e for e, _ in data.pool]
    holding = list(tables.SEAT_HOLDING)
    conn = await asyncpg.connect(dsn)
    try:
        written = dict(await conn.fetchrow(SQL_WRITTEN, pool))
        written["overbooked_events"] = await conn.fetchval(SQL_OVERBOOKED, pool, holding)
        written["overlapping_bookings"] = await conn.fetchval(SQL_DOUBLE_BOOKED, pool, holding)
        return written
    finally:
        await conn.close()


# The orders' Idempotency-Keys (only the bench's keyed orders write them): each run sends its
# keys again, as new orders.
SQL_FORGET_KEYS = "DELETE FROM idempotency_key"


async def reset_pool(dsn: str, data: Dataset) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for sql in SQL_RESET:
                await conn.execute(sql, [e for e, _ in data.pool])
            await conn.execute(SQL_FORGET_KEYS)
    finally:
        await conn.close()


# -- the same answers ----------------------------------------------------------------------------

_GENERATED = {"orderId", "bookingId", "createdAt"}


def _masked(value: Any) -> Any:
    """An order answer without what each server generates (ids, the creation instant)."""
    if isinstance(value, dict):
        return {k: "*" if k in _GENERATED else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


async def send(url: str, request: dict[str, Any]) -> httpx.Response:
    headers = {**request["headers"], "traceparent": TRACEPARENT}
    body = request["body"]
    if body is not None:
        headers["Content-Type"] = "application/json"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.request(
            request["method"], request["path"], headers=headers, content=body
        )


def verdict(ok: bool, detail: str) -> dict[str, Any]:
    return {"ok": ok, "detail": detail}


async def _same(service: str, baseline: str, request: dict[str, Any]) -> dict[str, Any]:
    a, b = await send(service, request), await send(baseline, request)
    if (a.status_code, a.content) == (b.status_code, b.content):
        return verdict(True, f"{a.status_code}, identical bodies ({len(a.content)} bytes)")
    return verdict(
        False,
        f"service {a.status_code} {a.text[:300]!r} / baseline {b.status_code} {b.text[:300]!r}",
    )


async def _calendar_matches(
    service: str, baseline: str, gql: dict[str, Any], rest: dict[str, Any]
) -> dict[str, Any]:
    """The GraphQL calendar shows the bookings (ids, status, rank) of the baseline's month list."""
    a, b = await send(service, gql), await send(baseline, rest)
    try:
        nodes = a.json()["data"]["bookings"]["nodes"]
        got = [(n["bookingId"], n["bookingStatus"], n["serviceCardinality"]) for n in nodes]
        want = [(x["bookingId"], x["bookingStatus"], x["serviceCardinality"]) for x in b.json()]
    except (KeyError, TypeError, ValueError):
        return verdict(False, f"service {a.status_code} {a.text[:300]!r}")
    if got == want:
        return verdict(True, f"{len(got)} bookings, same ids, statuses and ranks as the REST list")
    return verdict(False, f"GraphQL {len(got)} vs REST {len(want)} bookings differ")


async def _order_written(url: str, request: dict[str, Any], dsn: str, data: Dataset):
    answer = await send(url, request)
    written = await pool_state(dsn, data)
    await reset_pool(dsn, data)
    return answer, written


async def _same_order(
    service: str, baseline: str, request: dict[str, Any], dsn: str, data: Dataset
) -> dict[str, Any]:
    """One accepted order on each (pool reset in between): same answer but for generated values,
    and the same rows written (order, bookings, history, notifications)."""
    a, wa = await _order_written(service, request, dsn, data)
    b, wb = await _order_written(baseline, request, dsn, data)
    if a.status_code != 201 or b.status_code != 201:
        return verdict(
            False, f"service {a.status_code} {a.text[:300]!r} / baseline {b.status_code}"
        )
    if _masked(a.json()) != _masked(b.json()):
        return verdict(False, f"bodies differ: {a.text[:300]!r} / {b.text[:300]!r}")
    if wa != wb:
        return verdict(False, f"rows written differ: service {wa} / baseline {wb}")
    return verdict(True, f"201, identical bodies but ids and createdAt; same rows written {wa}")


async def equivalence(
    scenarios: list[Scenario], service: str, baseline: str, dsn: str, data: Dataset, secret: str
) -> dict[str, dict[str, Any]]:
    """One request of each scenario to both servers: the answers must be the same."""
    by_name = {s.name: s for s in scenarios}
    req = Requests(secret, data.now)
    user = data.post_users[0]
    free_event = next(e for e, capacity in data.pool if capacity > 1)
    return {
        "get_by_id": await _same(service, baseline, by_name["get_by_id"].requests[0]),
        "month_list": await _same(service, baseline, by_name["month_list"].requests[0]),
        "graphql_calendar": await _calendar_matches(
            service,
            baseline,
            by_name["graphql_calendar"].requests[0],
            by_name["month_list"].requests[0],
        ),
        "graphql_week": await _same(service, baseline, by_name["graphql_week"].requests[0]),
        "post_bookings_refused": await _same(
            service, baseline, req.order(user, [data.past_event, free_event])
        ),
        "post_bookings_accepted": await _same_order(
            service, baseline, req.order(user, [free_event]), dsn, data
        ),
        "post_bookings_keyed_replay": await _replayed(
            # an athlete of its own: the order limit of `user` is spent by the checks above
            service,
            req.order(uuid4(), [free_event], "bench-equivalence"),
            dsn,
            data,
        ),
    }


async def _replayed(
    service: str, request: dict[str, Any], dsn: str, data: Dataset
) -> dict[str, Any]:
    """The service's keyed order sent twice: one order, the second answer the first's bytes,
    marked replayed (pool reset after)."""
    first, again = await send(service, request), await send(service, request)
    written = await pool_state(dsn, data)
    await reset_pool(dsn, data)
    replayed = again.headers.get("idempotent-replayed") == "true"
    same = again.content == first.content
    outcome = (first.status_code, again.status_code, replayed, same, written["orders"])
    if outcome == (201, 201, True, True, 1):
        return verdict(True, "201, then the same bytes with Idempotent-Replayed; one order")
    statuses = f"{first.status_code} / {again.status_code}"
    return verdict(False, f"{statuses}, replayed {replayed}, orders {written['orders']}")
