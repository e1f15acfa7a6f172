"""The week-of-events scenario (issue 12): a coach's week with its availability, as a booking UI
asks for it over GraphQL, and the baseline's hand-written answer to that one request.

The baseline answers `POST /graphql` for this document only (any other: 400) with the JSON the
service answers, byte for byte, from the service's statements: the rate limit, the events with
the seats taken in each (one statement, a correlated COUNT), then the caller's seat-holding
bookings in those events (the service reads each with its event: the same statement here).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import Request, Response

from bench import tables
from bench.baseline import LEAD_TIME, SEAT_HOLDING, Failure, Me, instant

WEEK_QUERY = """
query Week($from: DateTime!, $to: DateTime!, $coachId: UUID!) {
  events(from: $from, to: $to, coachId: $coachId, first: 100) {
    nodes {
      eventId startAt endAt seatsTaken seatsLeft bookable
      viewerBooking { bookingId }
      timeslot {
        timeSlotId startTime endTime numberOfParticipants slotType ageFrom ageTo duration
        price priceCurrency paymentMethod addressId public level eligibility
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()
PAGE = 100


def _quoted(columns: tuple[str, ...], table: str = "") -> list[str]:
    return [f'{table}"{c}"' for c in columns]


# Parameters: seat-holding statuses, window end, window start, coach, 'Canceled', limit.
SQL_EVENTS = (
    f"SELECT {', '.join(_quoted(tables.EVENT))}, "
    '(SELECT COUNT(*) FROM "booking" b WHERE b."event_id" = e."id" AND b."status" = '
    'ANY($1::text[])) "seats_taken" FROM "event" e WHERE "start_at" < $2 AND "end_at" > $3 '
    'AND "coach_id" = $4 AND "status" <> $5 ORDER BY "start_at" ASC, "id" ASC LIMIT $6'
)
# Parameters: the caller, the events, seat-holding statuses.
SQL_VIEWER_BOOKINGS = (
    f"SELECT {', '.join(_quoted(tables.BOOKING, 'b.'))}, "
    + ", ".join(f'e."{c}" "event.{c}"' for c in tables.EVENT)
    + ' FROM "booking" b JOIN "event" e ON e."id" = b."event_id" WHERE b."user_id" = $1 '
    'AND b."event_id" = ANY($2::uuid[]) AND b."status" = ANY($3::text[])'
)


def _instant(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Failure(400, "validation", f"{name} must be a date-time.") from exc
    if moment.utcoffset() is None:
        raise Failure(400, "validation", f"{name} must be an RFC 3339 date-time with an offset.")
    return moment.astimezone(UTC)


def _cursor(e: asyncpg.Record) -> str:
    raw = f"{e['start_at'].astimezone(UTC).isoformat()}|{e['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uuid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _node(e: asyncpg.Record, now: datetime, booking: UUID | None) -> dict[str, Any]:
    taken = e["seats_taken"]
    left = max(0, e["capacity"] - taken)
    start = e["start_at"]
    bookable = e["status"] == "Scheduled" and start > now and start >= now + LEAD_TIME and left > 0
    return {
        "eventId": str(e["id"]),
        "startAt": instant(start),
        "endAt": instant(e["end_at"]),
        "seatsTaken": taken,
        "seatsLeft": left,
        "bookable": bookable,
        "viewerBooking": None if booking is None else {"bookingId": str(booking)},
        "timeslot": {
            "timeSlotId": str(e["timeslot_id"]),
            "startTime": e["slot_start_time"],
            "endTime": e["slot_end_time"],
            "numberOfParticipants": e["capacity"],
            "slotType": e["slot_type"],
            "ageFrom": e["age_from"],
            "ageTo": e["age_to"],
            "duration": e["duration"],
            "price": e["price"],
            "priceCurrency": e["price_currency"],
            "paymentMethod": e["payment_method"],
            "addressId": _uuid(e["address_id"]),
            "public": e["public"],
            "level": e["level"],
            "eligibility": e["eligibility"],
        },
    }


async def graphql_week(request: Request, me: Me) -> Response:
    """`POST /graphql` with the week query: a coach's events in [from, to), first 100."""
    try:
        body = orjson.loads(await request.body())
        variables = body["variables"]
        coach = UUID(str(variables["coachId"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Failure(400, "validation", "Send the week query with its variables.") from exc
    if body.get("query") != WEEK_QUERY:
        raise Failure(400, "validation", "This baseline answers the week query only.")
    start, end = _instant(variables["from"], "from"), _instant(variables["to"], "to")
    if start > end:
        raise Failure(400, "validation", "from must not be after to.")
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(SQL_EVENTS, SEAT_HOLDING, end, start, coach, "Canceled", PAGE + 1)
    more, rows = len(rows) > PAGE, rows[:PAGE]
    mine: dict[UUID, UUID] = {}
    if rows:
        ids = [e["id"] for e in rows]
        found = await pool.fetch(SQL_VIEWER_BOOKINGS, me.user_id, ids, SEAT_HOLDING)
        mine = {b["event_id"]: b["id"] for b in found}
    answer = {
        "data": {
            "events": {
                "nodes": [_node(e, me.now, mine.get(e["id"])) for e in rows],
                "pageInfo": {"hasNextPage": more, "endCursor": _cursor(rows[-1]) if rows else None},
            }
        }
    }
    return Response(
        orjson.dumps(answer),
        media_type="application/json",
        headers={"x-request-id": me.request_id},
    )
