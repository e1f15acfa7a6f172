"""The baseline: the smallest honest FastAPI + asyncpg app answering the bench's requests.

What a developer would write by hand for the same contract: no ORM, no GraphQL, no dataloaders.
It answers `GET /v1/bookings/{bookingId}`, `GET /v1/bookings?userId|eventId&startAt&endAt`,
`POST /v1/bookings` and the week-of-events GraphQL request (`bench/week.py`: that one document
only, no GraphQL library) with the same JSON bodies (byte for byte), the same status codes, the same
HS256 bearer check, the same `traceparent` / `x-request-id` handling, and the same SQL statements
as the service issues for them. Orders follow the same rules in one transaction: the per-user
advisory lock, the events locked `FOR UPDATE` in id order, then one statement for the seats held
in them, the user's live bookings and coached events (conflicts) and upcoming seats (seat cap);
then the order, its bookings, their history and their `bookingCreated` /
`bookingPendingApproval` notifications, each table in one multi-row INSERT. The per-user rate
limits are the service's: the same token-bucket UPSERT on the same `rate_bucket` table, with the
same parameters and exemptions (admin, scheduler), one for every authenticated request and one
more for each valid order, read from the same settings
(`LEKO_RATE_LIMIT_*`, `LEKO_ORDER_RATE_LIMIT_*`, `LEKO_MAX_UPCOMING_SEATS_PER_USER`, same
defaults).

Configured like the service (`LEKO_DATABASE_URL` with `?maxsize=N`, `LEKO_JWT_SECRET`) and started
like it, by uvicorn with the same options:

    python -m bench.baseline [--host 127.0.0.1] [--port 8001] [--workers 1] [--log-level warning]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import jwt
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator

from bench import tables

SEAT_HOLDING = list(tables.SEAT_HOLDING)
ENDED = {"Canceled", "Rejected"}
OPERATOR_ROLES = {"admin", "scheduler"}
KNOWN_ROLES = {"athlete", "coach", "admin", "scheduler"}
MAX_EVENTS_PER_ORDER = 20
LEAD_TIME = timedelta(minutes=30)
USER_LOCK_NAMESPACE = 0x4C4B5553
NIL = UUID(int=0)
# Notification ids are name-based (v3) on (booking, rule, recipient) in this namespace, as the
# service's outbox makes them.
NOTIFICATION_IDS = UUID("5d2c1a0e-7f3b-4c56-9a1e-0b8f4e6d2c71")
TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

BOOKING_COLUMNS = tables.BOOKING
EVENT_COLUMNS = tables.EVENT
# A booking with its event, event columns prefixed `e_` (the ORM's select_related join).
SELECT_BOOKINGS = (
    "SELECT "
    + ",".join(f"b.{c}" for c in BOOKING_COLUMNS)
    + ","
    + ",".join(f"e.{c} e_{c}" for c in EVENT_COLUMNS)
)
SQL_BOOKING_BY_ID = (
    SELECT_BOOKINGS + " FROM booking b LEFT OUTER JOIN event e ON e.id = b.event_id"
    " WHERE b.id = $1 LIMIT $2"
)
# A seat-holding booking's rank (the count of the user's seat-holding bookings with the same
# coach up to it, by start then id), as the service's calendar statement counts it ($1: the
# user, $2: the seat-holding statuses), from the index (user_id, coach_id, start_at, id, status).
SQL_RANK = (
    "CASE WHEN b.status = ANY($2::text[]) THEN (SELECT COUNT(*) FROM booking x"
    " WHERE x.user_id = $1 AND x.coach_id = b.coach_id AND x.status = ANY($2::text[])"
    " AND x.start_at <= b.start_at AND (x.start_at, x.id) <= (b.start_at, b.id)) END n"
)
SQL_EVENT_BY_ID = f"SELECT {','.join(EVENT_COLUMNS)} FROM event WHERE id = $1 LIMIT $2"
# serviceCardinality ranked by the database, as the service asks for it.
SQL_RANKS = (
    'SELECT "id", "n" FROM (SELECT "id", ROW_NUMBER() OVER '
    '(PARTITION BY "user_id", "coach_id" ORDER BY "start_at", "id") "n" FROM "booking" '
    'WHERE "user_id" = ANY($1::uuid[]) AND "coach_id" = ANY($2::uuid[]) '
    'AND "status" = ANY($3::text[]) AND "start_at" <= $4) ranked WHERE "id" = ANY($5::uuid[])'
)
SQL_LOCK_USER = "SELECT pg_advisory_xact_lock($1::int, $2::int)"
SQL_LOCK_EVENTS = (
    f"SELECT {','.join(EVENT_COLUMNS)} FROM event WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
)
# After the locks, in one statement: seats held per requested event, the user's live bookings
# and scheduled coached events overlapping the requested span, the user's upcoming seats.
# Parameters: event ids, seat-holding statuses, user, span end, span start, now.
SQL_COMMITMENTS = (
    'SELECT 1 "kind", NULL "a", NULL "b", "event_id", COUNT(*) "n" FROM "booking"'
    ' WHERE "event_id" = ANY($1::uuid[]) AND "status" = ANY($2::text[]) GROUP BY "event_id"'
    ' UNION ALL SELECT 0, "start_at", "end_at", NULL, NULL FROM "booking"'
    ' WHERE "user_id" = $3 AND "status" = ANY($2::text[]) AND "start_at" < $4 AND "end_at" > $5'
    ' UNION ALL SELECT 0, "start_at", "end_at", NULL, NULL FROM "event"'
    ' WHERE "coach_id" = $3 AND "status" = \'Scheduled\' AND "start_at" < $4'
    ' AND "end_at" > $5'
    ' UNION ALL SELECT 2, NULL, NULL, NULL, COUNT(*) FROM "booking"'
    ' WHERE "user_id" = $3 AND "status" = ANY($2::text[]) AND "start_at" > $6'
)
# A token of the caller's bucket (the service's statement, byte for byte): refill, check, take.
# Parameters: key, burst, now (Unix seconds), per minute; no row returned: refused.
SQL_TAKE_TOKEN = """
INSERT INTO "rate_bucket" AS b ("key", "tokens", "refilled_at") VALUES ($1, $2::float8 - 1, $3::float8)
ON CONFLICT ("key") DO UPDATE
SET "tokens" = LEAST($2::float8, b."tokens" + GREATEST(0, $3::float8 - b."refilled_at") * $4::float8 / 60) - 1, "refilled_at" = GREATEST(b."refilled_at", $3::float8)
WHERE LEAST($2::float8, b."tokens" + GREATEST(0, $3::float8 - b."refilled_at") * $4::float8 / 60) >= 1
RETURNING "tokens"
"""  # noqa: E501
SQL_BUCKET = 'SELECT "tokens", "refilled_at" FROM "rate_bucket" WHERE "key" = $1 LIMIT $2'
SQL_INSERT_ORDER = (
    'INSERT INTO "booking_order" ("id", "user_id", "payment_type", "payment_method_id",'
    ' "payment_status", "created_at") VALUES ($1, $2, $3, $4, \'Cash\', $5)'
)
HISTORY_COLUMNS = (
    "id",
    "booking_id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "from_status",
    "to_status",
    "detail",
)
NOTIFICATION_COLUMNS = (
    "id",
    "booking_id",
    "rule",
    "recipient_id",
    "recipient_role",
    "status",
    "attempts",
    "next_attempt_at",
    "valid_until",
    "last_error",
    "created_at",
    "sent_at",
    "read_at",
)


def insert_sql(table: str, columns: tuple[str, ...], rows: int, suffix: str = "") -> str:
    """One multi-row INSERT of `rows` rows (the service writes each table so)."""
    n = len(columns)
    values = ", ".join(
        "(" + ", ".join(f"${r * n + c + 1}" for c in range(n)) + ")" for r in range(rows)
    )
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES {values}{suffix}'


class Failure(Exception):
    """An expected failure rendered as the contract's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        refusals: list | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.refusals = status, code, message, refusals
        self.retry_after = retry_after


class Limit:
    """A per-user token bucket: `per_minute` tokens a minute (0: no limit), at most `burst`."""

    __slots__ = ("burst", "name", "per_minute", "what")

    def __init__(self, name: str, what: str, per_minute: int, burst: int) -> None:
        self.name, self.what, self.per_minute, self.burst = name, what, per_minute, burst


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def limits_from_env() -> tuple[Limit, Limit, int]:
    """(request limit, order limit, seat cap) as the service's settings read them."""
    return (
        Limit(
            "all",
            "requests",
            _env_int("LEKO_RATE_LIMIT_PER_MINUTE", 600),
            _env_int("LEKO_RATE_LIMIT_BURST", 100),
        ),
        Limit(
            "orders",
            "orders",
            _env_int("LEKO_ORDER_RATE_LIMIT_PER_MINUTE", 10),
            _env_int("LEKO_ORDER_RATE_LIMIT_BURST", 5),
        ),
        _env_int("LEKO_MAX_UPCOMING_SEATS_PER_USER", 30),
    )


async def take_token(pool: asyncpg.Pool, me: Caller, limit: Limit, now: datetime) -> None:
    """One token of the caller's bucket, or a 429 with the seconds until one is back."""
    if limit.per_minute == 0 or me.operator:
        return
    key, moment = f"{limit.name}:{me.user_id}", now.timestamp()
    args = (key, float(limit.burst), moment, float(limit.per_minute))
    if await pool.fetchval(SQL_TAKE_TOKEN, *args) is not None:
        return
    bucket = await pool.fetchrow(SQL_BUCKET, key, 1)
    retry_after = 1
    if bucket is not None:
        elapsed = max(0.0, moment - bucket["refilled_at"])
        level = min(limit.burst, bucket["tokens"] + elapsed * limit.per_minute / 60)
        retry_after = max(1, math.ceil(round((1 - level) * 60 / limit.per_minute, 6)))
    raise Failure(
        429,
        "tooManyRequests",
        f"Too many {limit.what}: at most {limit.per_minute} a minute "
        f"(bursts of {limit.burst}). Retry in {retry_after} s.",
        retry_after=retry_after,
    )


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dsn_and_pool_size(url: str) -> tuple[str, int]:
    """LEKO_DATABASE_URL as the service reads it: `maxsize` (default 5) sizes the pool."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    size = int(query.pop("maxsize", 5))
    query.pop("minsize", None)
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query))), size


# -- request plumbing: request id, caller -------------------------------------------------------


def request_id(request: Request) -> tuple[str, bool]:
    """(id, traceparent acceptable), as the service derives it."""
    value = request.headers.get("traceparent")
    if value is None:
        return uuid.uuid4().hex, True
    match = TRACEPARENT.match(value)
    if not match:
        return uuid.uuid4().hex, False
    version, trace_id, parent_id, _ = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return uuid.uuid4().hex, True
    return trace_id, True


class Caller:
    __slots__ = ("endpoint", "now", "request_id", "roles", "user_id")

    def __init__(self, user_id: UUID, roles: set[str], rid: str, endpoint: str) -> None:
        self.user_id, self.roles, self.request_id, self.endpoint = user_id, roles, rid, endpoint
        self.now = datetime.now(UTC)  # the request's instant (rate limits, order rules)

    def acts_for(self, user_id: UUID) -> bool:
        return self.user_id == user_id or "admin" in self.roles

    @property
    def operator(self) -> bool:
        return not self.roles.isdisjoint(OPERATOR_ROLES)


def _error_body(status: int, code: str, message: str, endpoint: str, rid: str, refusals) -> Any:
    entry = {"code": code, "message": message, "endpoint": endpoint, "requestId": rid}
    if status == 404 and endpoint == "GET /bookings/{bookingId}":
        return entry
    if status == 400 and endpoint == "POST /bookings":
        return entry | {"errors": refusals or []}
    return {"errors": [entry]}


def failure_response(failure: Failure, endpoint: str, rid: str, authorization: bool) -> Any:
    headers = {"x-request-id": rid}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    if failure.code == "unauthorized":
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if authorization else "Bearer"
    body = _error_body(
        failure.status, failure.code, failure.message, endpoint, rid, failure.refusals
    )
    return JSONResponse(body, status_code=failure.status, headers=headers)


def endpoint_of(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path).removeprefix("/v1")
    return f"{request.method} {path}"


async def caller(request: Request) -> Caller:
    """The bearer token (HS256, `exp` and `sub` required), then the traceparent header."""
    rid, trace_ok = request_id(request)
    endpoint = endpoint_of(request)
    request.state.request_id = rid
    header = request.headers.get("authorization")
    if not header:
        raise Failure(401, "unauthorized", "Missing bearer token (Authorization: Bearer <JWT>).")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Failure(401, "unauthorized", "The Authorization header must be 'Bearer <JWT>'.")
    try:
        claims = jwt.decode(
            token.strip(),
            request.app.state.secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
        user_id = UUID(str(claims["sub"]))
    except jwt.PyJWTError as exc:
        raise Failure(401, "unauthorized", f"Invalid bearer token: {exc}.") from exc
    except ValueError as exc:
        raise Failure(401, "unauthorized", "Invalid bearer token: 'sub' must be a UUID.") from exc
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        raise Failure(401, "unauthorized", "Invalid bearer token: 'roles' must be a list.")
    me = Caller(user_id, {r for r in roles if r in KNOWN_ROLES}, rid, endpoint)
    await take_token(request.app.state.pool, me, request.app.state.limits[0], me.now)
    if not trace_ok:
        raise Failure(
            400,
            "validation",
            "traceparent must be a W3C trace context header: "
            "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.",
        )
    return me


Me = Annotated[Caller, Depends(caller)]


def ok(body: Any, me: Caller, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"x-request-id": me.request_id})


# -- JSON as the contract shapes it -------------------------------------------------------------


Row = Mapping[str, Any]  # an asyncpg record, or a dict of the same columns


def timeslot_json(e: Row, p: str) -> dict[str, Any]:
    """The event's time slot; `p` prefixes the event's columns (`e_` in a joined row)."""
    slot = {
        "timeSlotId": str(e[p + "timeslot_id"]),
        "startTime": e[p + "slot_start_time"],
        "endTime": e[p + "slot_end_time"],
        "numberOfParticipants": e[p + "capacity"],
        "slotType": e[p + "slot_type"],
        "ageFrom": e[p + "age_from"],
        "ageTo": e[p + "age_to"],
        "duration": e[p + "duration"],
        "price": e[p + "price"],
        "priceCurrency": e[p + "price_currency"],
        "paymentMethod": e[p + "payment_method"],
    }
    if e[p + "address_id"] is not None:
        slot["addressId"] = str(e[p + "address_id"])
    for key in ("public", "level", "eligibility"):
        if e[p + key] is not None:
            slot[key] = e[p + key]
    return slot


def booking_json(b: Row, e: Row, p: str, rank: int | None) -> dict[str, Any]:
    body = {
        "bookingId": str(b["id"]),
        "orderId": str(b["order_id"]),
        "userId": str(b["user_id"]),
        "coachId": str(b["coach_id"]),
        "eventId": str(b["event_id"]),
        "startAt": instant(b["start_at"]),
        "endAt": instant(b["end_at"]),
        "bookingStatus": b["status"],
        "eventStatus": e[p + "status"],
        "completed": b["completed"],
        "note": b["note"],
        "sportId": str(e[p + "sport_id"]),
        "serviceCardinality": rank,
        "timeslot": timeslot_json(e, p),
    }
    if b["canceled_at"] is not None:
        body["canceledAt"] = instant(b["canceled_at"])
    for key, name in (
        ("canceled_by_role", "canceledByRole"),
        ("cancellation_reason_code", "cancellationReasonCode"),
        ("cancellation_reason_text", "cancellationReasonText"),
    ):
        if b[key] is not None:
            body[name] = b[key]
    return body


async def ranks_of(pool: asyncpg.Pool, bookings: Iterable[Row]) -> dict[UUID, int]:
    """serviceCardinality: rank among the athlete's seat-holding bookings with the coach."""
    holding = [b for b in bookings if b["status"] in SEAT_HOLDING]
    if not holding:
        return {}
    rows = await pool.fetch(
        SQL_RANKS,
        list({b["user_id"] for b in holding}),
        list({b["coach_id"] for b in holding}),
        SEAT_HOLDING,
        max(b["start_at"] for b in holding),
        [b["id"] for b in holding],
    )
    return {row_id: n for row_id, n in rows}


async def bookings_json(pool: asyncpg.Pool, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Bookings joined with their events (event columns as `e_*`)."""
    ranks = await ranks_of(pool, rows)
    return [booking_json(r, r, "e_", ranks.get(r["id"])) for r in rows]


# -- the paths ----------------------------------------------------------------------------------


async def get_booking(request: Request, me: Me, bookingId: UUID) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(SQL_BOOKING_BY_ID, bookingId, 2)
    if row is None or not (me.operator or me.user_id in (row["user_id"], row["coach_id"])):
        raise Failure(404, "notFound", f"Booking {bookingId} was not found.")
    return ok((await bookings_json(pool, [row]))[0], me)


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise Failure(
            400,
            "validation",
            f"{name} must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00Z.",
        )
    return value.astimezone(UTC)


def _plus(value: Any) -> Any:
    """An unencoded '+' in a query string arrives as a space: '...10:00:00 03:00' is +03:00."""
    if isinstance(value, str) and len(value) > 6 and value[-6] == " " and value[-3] == ":":
        return value[:-6] + "+" + value[-5:]
    return value


Instant = Annotated[datetime | None, BeforeValidator(_plus), Query()]


async def list_bookings(
    request: Request,
    me: Me,
    userId: Annotated[UUID | None, Query()] = None,
    eventId: Annotated[UUID | None, Query()] = None,
    startAt: Instant = None,
    endAt: Instant = None,
) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    start, end = _utc(startAt, "startAt"), _utc(endAt, "endAt")
    if start and end and start > end:
        raise Failure(400, "validation", "startAt must not be after endAt.")
    if userId is None and eventId is None:
        raise Failure(400, "validation", "Give userId or eventId (or both).")
    if userId is None or not me.acts_for(userId):
        event = await pool.fetchrow(SQL_EVENT_BY_ID, eventId, 2) if eventId else None
        if not (me.operator or (event is not None and event["coach_id"] == me.user_id)):
            message = "You can only list your own bookings."
            if userId is None:
                message = "Only the event's coach (or an operator) can list its bookings."
            raise Failure(403, "forbidden", message)
    where, args = [], []
    if userId is not None:  # the user's calendar: bookings, events and ranks in one statement
        args = [userId, SEAT_HOLDING]
        where += ["b.user_id = $1", "b.dismissed_at IS NULL"]
    for clause, value in (
        ("b.event_id = ${}", eventId),
        ("b.end_at > ${}", start),
        ("b.start_at < ${}", end),
    ):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    columns = SELECT_BOOKINGS + (f", {SQL_RANK}" if userId is not None else "")
    sql = f"{columns} FROM booking b JOIN event e ON e.id = b.event_id"
    rows = await pool.fetch(f"{sql} WHERE {' AND '.join(where)} ORDER BY b.start_at, b.id", *args)
    if userId is None:
        return ok(await bookings_json(pool, rows), me)
    return ok([booking_json(r, r, "e_", r["n"]) for r in rows], me)


class PaymentMethod(BaseModel):
    type: Literal["Cash", "Card"]
    methodId: UUID | None = None


class OrderBody(BaseModel):
    userId: UUID
    eventIds: list[UUID]
    paymentMethod: PaymentMethod


def _ids(ids: Iterable[UUID]) -> str:
    return ", ".join(str(i) for i in ids)


def check_order(me: Caller, body: OrderBody) -> None:
    if not me.acts_for(body.userId):
        raise Failure(
            403, "forbidden", "You can only order for yourself (userId must be your own id)."
        )
    if not 1 <= len(body.eventIds) <= MAX_EVENTS_PER_ORDER:
        raise Failure(
            400, "validation", f"eventIds must hold between 1 and {MAX_EVENTS_PER_ORDER} event ids."
        )
    repeated = [e for e, n in Counter(body.eventIds).items() if n > 1]
    if repeated:
        raise Failure(400, "validation", f"eventIds must be distinct; repeated: {_ids(repeated)}.")
    if body.paymentMethod.type == "Card":
        if body.paymentMethod.methodId is None:
            message = "paymentMethod.methodId is required when paymentMethod.type is Card."
        else:
            message = "Card payments are not enabled yet; pay with paymentMethod.type Cash."
        raise Failure(400, "validation", message)


def refusals_of(
    now: datetime, user: UUID, events: list[asyncpg.Record], busy: list, held: dict[UUID, int]
) -> list[dict[str, str]]:
    """Per event, the first rule that fails, in the order SPEC_NOTES gives."""
    refused = []
    for e in events:
        others = [(o["start_at"], o["end_at"]) for o in events if o["id"] != e["id"]]
        if e["start_at"] <= now:
            error = "pastEventBookAttempt"
        elif e["start_at"] < now + LEAD_TIME:
            error = "tooCloseToEventStart"
        elif e["coach_id"] == user:
            error = "selfBookAttempt"
        elif any(e["start_at"] < b and a < e["end_at"] for a, b in [*others, *busy]):
            error = "conflictingUserSchedules"
        elif held.get(e["id"], 0) + 1 > e["capacity"]:
            error = "overbooked"
        else:
            continue
        refused.append({"eventId": str(e["id"]), "bookingError": error})
    return refused


_last_v7 = (0, 0)


def uuid7() -> UUID:
    """Time-ordered history ids (RFC 9562 version 7), as the service writes them."""
    global _last_v7
    ms = max(time.time_ns() // 1_000_000, _last_v7[0])
    seq = _last_v7[1] + 1 if ms == _last_v7[0] else 0
    if seq > 0xFFF:
        ms, seq = ms + 1, 0
    _last_v7 = (ms, seq)
    return UUID(int=(ms << 80) | (7 << 76) | (seq << 64) | (2 << 62) | secrets.randbits(62))


async def insert(
    conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list, suffix: str = ""
) -> None:
    if rows:
        sql = insert_sql(table, columns, len(rows), suffix)
        await conn.execute(sql, *[value for row in rows for value in row])


def user_lock_key(user: UUID) -> int:
    return int.from_bytes(hashlib.blake2b(user.bytes, digest_size=4).digest(), "big", signed=True)


def over_seat_cap(
    held: int, events: list[asyncpg.Record], refused: list[dict[str, str]], cap: int
) -> tuple[list[dict[str, str]], str]:
    """The events beyond the seats the user may still hold in events not started yet."""
    if cap == 0:
        return [], ""
    refused_ids = {r["eventId"] for r in refused}
    bookable = [e for e in events if str(e["id"]) not in refused_ids]
    beyond = bookable[max(0, cap - held) :]
    if not beyond:
        return [], ""
    why = (
        f" A user may hold at most {cap} seats in events that have not started yet; this user "
        f"holds {held}, so {len(beyond)} of the requested events (reported overbooked) do "
        "not fit."
    )
    return [{"eventId": str(e["id"]), "bookingError": "overbooked"} for e in beyond], why


async def _place(
    conn: asyncpg.Connection, me: Caller, body: OrderBody, now: datetime, seat_cap: int
) -> tuple[list[dict], dict[UUID, asyncpg.Record]]:
    """Inside the transaction: lock, check every rule, write. The bookings and their events."""
    user = body.userId
    await conn.fetch(SQL_LOCK_USER, USER_LOCK_NAMESPACE, user_lock_key(user))
    found = {r["id"]: r for r in await conn.fetch(SQL_LOCK_EVENTS, body.eventIds)}
    missing = [e for e in body.eventIds if e not in found]
    if missing:
        raise Failure(400, "validation", f"Unknown event ids: {_ids(missing)}.")
    canceled = [e for e in body.eventIds if found[e]["status"] == "Canceled"]
    if canceled:
        raise Failure(
            400,
            "validation",
            f"These events are canceled and cannot be booked: {_ids(canceled)}.",
        )
    events = [found[e] for e in body.eventIds]
    low, high = min(e["start_at"] for e in events), max(e["end_at"] for e in events)
    busy, held, upcoming = [], {}, 0
    for r in await conn.fetch(SQL_COMMITMENTS, body.eventIds, SEAT_HOLDING, user, high, low, now):
        if r["kind"] == 0:
            busy.append((r["a"], r["b"]))
        elif r["kind"] == 1:
            held[r["event_id"]] = r["n"]
        else:
            upcoming = r["n"]
    refused = refusals_of(now, user, events, busy, held)
    over_cap, why = over_seat_cap(upcoming, events, refused, seat_cap)
    if refused or over_cap:
        by_event = {r["eventId"]: r for r in [*refused, *over_cap]}
        refused = [by_event[str(e)] for e in body.eventIds if str(e) in by_event]
        message = (
            f"{len(refused)} of the {len(events)} requested events cannot be booked; "
            f"nothing was booked.{why}"
        )
        raise Failure(400, "validation", message, refused)
    order_id = uuid.uuid4()
    await conn.execute(
        SQL_INSERT_ORDER, order_id, user, body.paymentMethod.type, body.paymentMethod.methodId, now
    )
    bookings = [
        {
            "id": uuid.uuid4(),
            "user_id": user,
            "coach_id": e["coach_id"],
            "start_at": e["start_at"],
            "end_at": e["end_at"],
            "status": "Pending" if e["public"] is False else "Accepted",
            "price": e["price"],
            "price_currency": e["price_currency"],
            "completed": False,
            "note": None,
            "canceled_at": None,
            "canceled_by_role": None,
            "cancellation_reason_code": None,
            "cancellation_reason_text": None,
            "dismissed_at": None,
            "dispute_reason": None,
            "dispute_resolution": None,
            "created_at": now,
            "updated_at": now,
            "event_id": e["id"],
            "order_id": order_id,
        }
        for e in events
    ]
    await insert(
        conn, "booking", BOOKING_COLUMNS, [[b[c] for c in BOOKING_COLUMNS] for b in bookings]
    )
    role = "Athlete" if me.user_id == user else "Admin"
    history = [
        (uuid7(), b["id"], now, me.user_id, role, "Booked", None, b["status"], None)
        for b in bookings
    ]
    await insert(conn, "booking_history", HISTORY_COLUMNS, history)
    for rule, chosen in (
        ("bookingCreated", bookings),
        ("bookingPendingApproval", [b for b in bookings if b["status"] == "Pending"]),
    ):
        rows = [
            (
                uuid.uuid3(NOTIFICATION_IDS, f"{b['id']}:{rule}:{b['coach_id']}"),
                b["id"],
                rule,
                b["coach_id"],
                "Coach",
                "Pending",
                0,
                now,
                None,
                None,
                now,
                None,
                None,
            )
            for b in chosen
            if b["coach_id"] != NIL
        ]
        await insert(conn, "notification", NOTIFICATION_COLUMNS, rows, " ON CONFLICT DO NOTHING")
    return bookings, found


def order_status(bookings: list[dict]) -> str:
    if all(b["status"] in ENDED for b in bookings):
        return "Canceled"
    if any(b["status"] == "Pending" for b in bookings):
        return "Pending"
    return "Confirmed"


async def book_events(request: Request, me: Me, body: OrderBody) -> JSONResponse:
    check_order(me, body)
    pool: asyncpg.Pool = request.app.state.pool
    now = me.now
    _, order_limit, seat_cap = request.app.state.limits
    await take_token(pool, me, order_limit, now)  # refused orders count too
    async with pool.acquire() as conn, conn.transaction():
        bookings, events = await _place(conn, me, body, now, seat_cap)
    ranks = await ranks_of(pool, bookings)
    order = {
        "orderId": str(bookings[0]["order_id"]),
        "userId": str(body.userId),
        "status": order_status(bookings),
        "paymentStatus": "Cash",
        "createdAt": instant(now),
        "bookings": [
            booking_json(b, events[b["event_id"]], "", ranks.get(b["id"])) for b in bookings
        ],
    }
    return ok(order, me, 201)


# -- the app ------------------------------------------------------------------------------------


def create_app() -> FastAPI:
    url = os.environ.get("LEKO_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    dsn, size = _dsn_and_pool_size(url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.secret = os.environ["LEKO_JWT_SECRET"]
    app.state.limits = limits_from_env()

    async def on_failure(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Failure)
        rid = getattr(request.state, "request_id", None) or request_id(request)[0]
        return failure_response(
            exc, endpoint_of(request), rid, bool(request.headers.get("authorization"))
        )

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        failure = Failure(400, "validation", f"Invalid request: {exc.errors()[0].get('msg')}.")
        return await on_failure(request, failure)

    app.add_exception_handler(Failure, on_failure)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_api_route("/v1/bookings/{bookingId}", get_booking, methods=["GET"])
    app.add_api_route("/v1/bookings", list_bookings, methods=["GET"])
    app.add_api_route("/v1/bookings", book_events, methods=["POST"], status_code=201)
    from bench.week import graphql_week  # (bench.week builds on this module)

    app.add_api_route("/graphql", graphql_week, methods=["POST"])
    return app


def served_app() -> FastAPI:
    """`create_app()` served as the service is (`serving.frozen_once_started`)."""
    from leko_bookings import serving

    return serving.frozen_once_started(create_app())


def main() -> None:
    """Start uvicorn exactly as `leko-bookings serve` does."""
    from leko_bookings import serving

    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    serving.run(
        "bench.baseline:served_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
