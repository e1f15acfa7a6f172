"""DELETE /v1/users and GraphQL deleteUserFromBookings (SPEC_NOTES, "Changing"): afterwards no row
of any table holds the erased user's id, other users' data is intact, the coach's athletes keep
their bookings anonymised, and a refused or failed erasure changes nothing. Every test runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from tortoise import connections

from leko_bookings.models import Booking, Event
from leko_bookings.resolvers import erasure
from leko_bookings.resolvers.seats import SEAT_HOLDING
from tests.conftest import NOW
from tests.factories import book, create_event, gql

DAY = timedelta(days=1)
EARLIER = NOW - 10 * DAY  # when the world was booked
NIL = "00000000-0000-0000-0000-000000000000"
ENDPOINT = "DELETE /users"

DELETE_USER = """
mutation Delete($userId: UUID) {
  deleteUserFromBookings(userId: $userId) {
    __typename
    ... on UserDataDeleted { userId deletedBookings anonymizedBookings canceledEvents }
    ... on Error { code message }
  }
}
"""
OPEN_DISPUTE = """
mutation Open($id: UUID!) { openDispute(bookingId: $id, reason: "The coach never came.") {
  __typename } }
"""
RESOLVE_DISPUTE = """
mutation Resolve($id: UUID!) { resolveDispute(bookingId: $id, resolution: "Refunded.") {
  __typename } }
"""
CANCEL = """
mutation Cancel($id: UUID!, $code: CancellationReasonCode!, $text: String) {
  cancelBooking(bookingId: $id, reasonCode: $code, reasonText: $text) { __typename }
}
"""
HISTORY = """
query History($userId: UUID!) {
  bookings(userId: $userId) {
    nodes { eventId coachId history { actorId actorRole action fromStatus toStatus } }
  }
}
"""


# --------------------------------------------------------------------------------------------
# The whole database, read from the database itself


async def table_names() -> list[str]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    else:
        rows = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'table'")
    names = sorted(r["name"] for r in rows)
    assert {"booking", "booking_order", "booking_history", "event"} <= set(names)
    return names


async def all_rows() -> dict[str, list[dict[str, Any]]]:
    conn = connections.get("default")
    return {
        table: await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        for table in await table_names()
    }


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


async def rows_holding(user: uuid.UUID) -> list[tuple[str, str, str]]:
    """(table, column, value) of every value that contains the user's id in any spelling."""
    spellings = {str(user), user.hex, str(user).upper(), user.hex.upper()}
    found = []
    for table, rows in (await all_rows()).items():
        for row in rows:
            for column, value in row.items():
                if value is None:
                    continue
                text = _text(value)
                if any(s in text or s in text.lower() for s in spellings):
                    found.append((table, column, text))
    return found


Dump = dict[str, dict[str, dict[str, str | None]]]


async def dump() -> Dump:
    """Every row of every table, keyed by table and row id, values as text."""
    result: Dump = {}
    for table, rows in (await all_rows()).items():
        keyed = {}
        for row in rows:
            values = {k: None if v is None else _text(v) for k, v in row.items()}
            key = values["id"] if "id" in values else repr(sorted(values.items()))
            keyed[str(key)] = values
        result[table] = keyed
    return result


def without_athlete(before: Dump, user: uuid.UUID, after: Dump) -> Dump:
    """What erasing a pure athlete must leave: everything but their bookings, orders and the
    history and notifications of those bookings (and notifications addressed to them); the
    events they booked count their bookings leaving as revisions (the coaches' calendar feeds'
    SEQUENCE: one per history entry that left, plus one; `updated_at` moves with it)."""
    me = str(user)
    gone = {k for k, row in before["booking"].items() if row["user_id"] == me}
    expected = {table: dict(rows) for table, rows in before.items()}
    left: dict[str, int] = {before["booking"][k]["event_id"]: 0 for k in gone}
    for row in before["booking_history"].values():
        if row["booking_id"] in gone:
            left[before["booking"][row["booking_id"]]["event_id"]] += 1
    expected["event"] = {
        k: {**row, "revision": str(int(str(row["revision"])) + left[k] + 1)}
        | {"updated_at": after["event"][k]["updated_at"]}
        if k in left
        else row
        for k, row in before["event"].items()
    }
    expected["booking"] = {k: r for k, r in before["booking"].items() if k not in gone}
    expected["booking_order"] = {
        k: r for k, r in before["booking_order"].items() if r["user_id"] != me
    }
    expected["booking_history"] = {
        k: r for k, r in before["booking_history"].items() if r["booking_id"] not in gone
    }
    expected["notification"] = {
        k: r
        for k, r in before["notification"].items()
        if r["booking_id"] not in gone and r["recipient_id"] != me
    }
    # Stale ranks (migration `stored_ranks`): the rows naming them go; SQLite's counter of
    # those rows moves on (the deleted bookings' triggers wrote rows, which the erasure deleted).
    expected["booking_rank_stale"] = {
        k: r for k, r in before["booking_rank_stale"].items() if me not in r.values()
    }
    if "sqlite_sequence" in before:
        stale = [k for k in after["sqlite_sequence"] if "booking_rank_stale" in k]
        expected["sqlite_sequence"] = {
            k: r for k, r in before["sqlite_sequence"].items() if "booking_rank_stale" not in k
        } | {k: after["sqlite_sequence"][k] for k in stale}
    return expected


# --------------------------------------------------------------------------------------------
# A realistic world


@dataclass
class World:
    events: dict[str, str] = field(default_factory=dict)
    bookings: dict[tuple[str, str], str] = field(default_factory=dict)  # (who, event) -> id

    def booking(self, who: str, event: str) -> str:
        return self.bookings[(who, event)]


async def build_world(client, users, settings, clock) -> World:
    """Athletes, coaches and an admin with past and future bookings, notes, a dispute, history.

    Events of the coach: coach_past (athlete: completed, note by the athlete), coach_past2 (other
    athlete: completed, note by the coach), coach_ahead (both Accepted), coach_private (both
    Pending), coach_empty (no booking). Events of the other coach: other_past (athlete: dispute
    resolved by the admin), other_ahead (athlete: canceled and dismissed; other athlete:
    Accepted), other_ahead2 (athlete: Accepted; other athlete: canceled by the admin),
    coach_trains (the coach books it as an athlete).
    """
    world = World()
    clock.now = EARLIER
    coach, other = users.coach, users.other_coach
    plan: list[tuple[str, uuid.UUID, timedelta, bool]] = [
        ("coach_past", coach, -3 * DAY, True),
        ("coach_past2", coach, -2 * DAY, True),
        ("other_past", other, -4 * DAY, True),
        ("coach_ahead", coach, 2 * DAY, True),
        ("coach_private", coach, 3 * DAY, False),
        ("coach_empty", coach, 4 * DAY, True),
        ("other_ahead", other, 5 * DAY, True),
        ("other_ahead2", other, 6 * DAY, True),
        ("coach_trains", other, 7 * DAY, True),
    ]
    for name, who, offset, public in plan:
        event = await create_event(settings, EARLIER, coach=who, start=NOW + offset, public=public)
        world.events[name] = str(event)

    async def order(who: str, headers: dict[str, str], user: uuid.UUID, *names: str) -> None:
        r = await book(client, headers, user, *(uuid.UUID(world.events[n]) for n in names))
        assert r.status_code == 201, r.text
        by_event = {v: k for k, v in world.events.items()}
        for b in r.json()["bookings"]:
            world.bookings[(who, by_event[b["eventId"]])] = b["bookingId"]

    a, oa = users.athlete, users.other_athlete
    await order("athlete", users.as_athlete, a, "coach_past", "other_past")
    await order("athlete", users.as_athlete, a, "coach_ahead", "coach_private")
    await order("athlete", users.as_athlete, a, "other_ahead")
    await order("athlete", users.as_athlete, a, "other_ahead2")
    await order("other_athlete", users.as_other_athlete, oa, "coach_past2", "coach_ahead")
    await order("other_athlete", users.as_other_athlete, oa, "coach_private")
    await order("other_athlete", users.as_other_athlete, oa, "other_ahead", "other_ahead2")
    await order("coach", users.as_coach, coach, "coach_trains")

    clock.now = NOW  # the past events have ended; each later step a minute after the one before
    for who, note_by in (("athlete", users.as_athlete), ("other_athlete", users.as_coach)):
        booking = world.booking(who, "coach_past" if who == "athlete" else "coach_past2")
        clock.advance(minutes=1)
        r = await client.patch(
            f"/v1/bookings/{booking}/completed", json={"completed": True}, headers=users.as_coach
        )
        assert r.status_code == 200, r.text
        clock.advance(minutes=1)
        r = await client.patch(
            f"/v1/bookings/{booking}/note", json={"note": f"Good work, {who}."}, headers=note_by
        )
        assert r.status_code == 200, r.text

    disputed = world.booking("athlete", "other_past")
    clock.advance(minutes=1)
    r = await gql(client, users.as_athlete, OPEN_DISPUTE, id=disputed)
    assert r["data"]["openDispute"]["__typename"] == "Booking", r
    clock.advance(minutes=1)
    r = await gql(client, users.as_admin, RESOLVE_DISPUTE, id=disputed)
    assert r["data"]["resolveDispute"]["__typename"] == "Booking", r

    dismissed = world.booking("athlete", "other_ahead")
    clock.advance(minutes=1)
    r = await gql(client, users.as_athlete, CANCEL, id=dismissed, code="Other", text="Moving.")
    assert r["data"]["cancelBooking"]["__typename"] == "Booking", r
    clock.advance(minutes=1)
    r = await client.post(
        f"/v1/bookings/{dismissed}/dismiss",
        params={"userId": str(users.athlete)},
        headers=users.as_athlete,
    )
    assert r.status_code == 204, r.text

    by_admin = world.booking("other_athlete", "other_ahead2")
    clock.advance(minutes=1)
    r = await gql(client, users.as_admin, CANCEL, id=by_admin, code="NoTime")
    assert r["data"]["cancelBooking"]["__typename"] == "Booking", r
    clock.advance(minutes=1)  # the erasure comes last
    return world


def erase_headers(auth: dict[str, str], current: uuid.UUID | str) -> dict[str, str]:
    return {**auth, "x-current-user-id": str(current)}


def assert_errors(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    [error] = r.json()["errors"]
    assert error["code"] == code
    assert error["endpoint"] == ENDPOINT
    assert error["requestId"] == r.headers["x-request-id"]
    assert error["message"]


# --------------------------------------------------------------------------------------------
# Erasing an athlete


async def test_athlete_erases_themselves_and_nothing_of_theirs_is_left(
    client, users, settings, clock
):
    await build_world(client, users, settings, clock)
    assert await rows_holding(users.athlete)  # the scan does find the id while it is there
    before = await dump()

    r = await client.delete("/v1/users", headers=erase_headers(users.as_athlete, users.athlete))
    assert r.status_code == 204, r.text
    assert r.content == b""

    assert await rows_holding(users.athlete) == []
    # Everyone else's rows are exactly as they were: only the athlete's bookings, their orders
    # and those bookings' history are gone.
    after = await dump()
    assert after == without_athlete(before, users.athlete, after)
    assert await Booking.filter(user_id=users.other_athlete).count() == 5
    assert await Booking.filter(user_id=users.coach).count() == 1

    r = await client.get(
        "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.status_code == 200
    assert r.json() == []
    r = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.json() == []

    # Nothing is held any more: a second erasure is a 404 and changes nothing.
    r = await client.delete("/v1/users", headers=erase_headers(users.as_athlete, users.athlete))
    assert_errors(r, 404, "notFound")
    assert await dump() == after


async def test_admin_erases_an_athlete_by_user_id(client, users, settings, clock):
    await build_world(client, users, settings, clock)
    before = await dump()
    r = await client.delete(
        "/v1/users",
        params={"userId": str(users.athlete)},
        headers=erase_headers(users.as_admin, users.admin),
    )
    assert r.status_code == 204, r.text
    assert await rows_holding(users.athlete) == []
    after = await dump()
    assert after == without_athlete(before, users.athlete, after)
    # The admin was not erased: their cancellation of the other athlete's booking still names them.
    assert {(t, c) for t, c, _ in await rows_holding(users.admin)} == {
        ("booking_history", "actor_id")
    }


async def test_athlete_erasure_frees_their_seats(client, users, settings, clock):
    world = await build_world(client, users, settings, clock)
    full = world.events["coach_ahead"]
    await Event.filter(id=full).update(capacity=2)  # both athletes hold its 2 seats
    r = await book(client, users.as_other_coach, users.other_coach, uuid.UUID(full))
    assert r.json()["errors"] == [{"eventId": full, "bookingError": "overbooked"}]

    r = await client.delete("/v1/users", headers=erase_headers(users.as_athlete, users.athlete))
    assert r.status_code == 204
    r = await book(client, users.as_other_coach, users.other_coach, uuid.UUID(full))
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------------------------
# Erasing a coach


async def test_coach_erased_athletes_keep_anonymised_bookings(client, users, settings, clock):
    world = await build_world(client, users, settings, clock)
    before = await dump()
    coach_events = [
        world.events[n]
        for n in ("coach_past", "coach_past2", "coach_ahead", "coach_private", "coach_empty")
    ]

    erased_at = clock.now.isoformat().replace("+00:00", "Z")
    r = await client.delete("/v1/users", headers=erase_headers(users.as_coach, users.coach))
    assert r.status_code == 204, r.text
    assert await rows_holding(users.coach) == []

    # The other athlete still reads all their bookings; the coach's ones carry the nil UUID.
    r = await client.get(
        "/v1/bookings", params={"userId": str(users.other_athlete)}, headers=users.as_other_athlete
    )
    assert r.status_code == 200, r.text
    mine = {b["eventId"]: b for b in r.json()}
    names = {v: k for k, v in world.events.items()}
    assert sorted(names[e] for e in mine) == [
        "coach_ahead",
        "coach_past2",
        "coach_private",
        "other_ahead",
        "other_ahead2",
    ]
    for booking in mine.values():
        assert booking["userId"] == str(users.other_athlete)

    past = mine[world.events["coach_past2"]]
    assert past["coachId"] == NIL
    assert past["note"] is None  # the coach's note is cleared
    assert past["bookingStatus"] == "Accepted"  # a past session keeps its status
    assert past["completed"] is True
    assert past["eventStatus"] == "Canceled"
    assert "canceledByRole" not in past

    for name in ("coach_ahead", "coach_private"):  # Accepted and Pending before the erasure
        ahead = mine[world.events[name]]
        assert ahead["coachId"] == NIL
        assert ahead["eventStatus"] == "Canceled"
        assert ahead["bookingStatus"] == "Canceled"
        assert ahead["canceledByRole"] == "System"
        assert ahead["canceledAt"] == erased_at
        assert ahead["serviceCardinality"] is None  # it holds no seat any more

    # Bookings with the other coach, and every order but the coach's own, are untouched.
    assert mine[world.events["other_ahead"]]["coachId"] == str(users.other_coach)
    assert mine[world.events["other_ahead"]]["bookingStatus"] == "Accepted"
    after = await dump()
    coach_trains = world.booking("coach", "coach_trains")
    kept = {
        k: row
        for k, row in before["booking"].items()
        if row["event_id"] not in coach_events and k != coach_trains
    }
    assert {k: after["booking"][k] for k in kept} == kept
    assert set(after["booking"]) == set(before["booking"]) - {coach_trains}
    assert after["booking_order"] == {
        k: row for k, row in before["booking_order"].items() if row["user_id"] != str(users.coach)
    }

    # The athlete's bookings with the coach are anonymised the same way.
    athlete_past = await Booking.get(id=world.booking("athlete", "coach_past"))
    assert str(athlete_past.coach_id) == NIL
    assert athlete_past.note is None
    assert athlete_past.status == "Accepted"

    # The coach's events: nil coach, Canceled; their seats are free.
    events = await Event.filter(id__in=coach_events).values_list("coach_id", "status")
    assert len(events) == 5
    assert {(str(c), str(s)) for c, s in events} == {(NIL, "Canceled")}
    held = await Booking.filter(event_id__in=coach_events, status__in=SEAT_HOLDING)
    assert sorted(b.start_at for b in held) == sorted(
        [NOW - 3 * DAY, NOW - 2 * DAY]  # only the two past sessions (both Accepted) remain
    )

    # The coach's own booking as an athlete went with its order.
    assert await Booking.filter(event_id=world.events["coach_trains"]).count() == 0

    # History: what the coach did is kept but anonymous; the erasure itself is recorded.
    data = await gql(client, users.as_other_athlete, HISTORY, userId=str(users.other_athlete))
    nodes = {n["eventId"]: n for n in data["data"]["bookings"]["nodes"]}
    past_history = nodes[world.events["coach_past2"]]["history"]
    assert [(h["action"], h["actorRole"], h["actorId"]) for h in past_history] == [
        ("Booked", "Athlete", str(users.other_athlete)),
        ("Completed", "Coach", None),
        ("NoteChanged", "Coach", None),
        ("CoachErased", "System", None),
    ]
    for name, was in (("coach_ahead", "Accepted"), ("coach_private", "Pending")):
        history = nodes[world.events[name]]["history"]
        steps = [(h["action"], h["actorRole"], h["actorId"], h["fromStatus"]) for h in history]
        assert steps[0] == ("Booked", "Athlete", str(users.other_athlete), None)
        # Both entries of the erasure share its instant (their relative order is not asserted).
        assert sorted(steps[1:]) == [
            ("Canceled", "System", None, was),
            ("CoachErased", "System", None, None),
        ]
    admin_cancel = nodes[world.events["other_ahead2"]]["history"]
    assert admin_cancel[-1]["actorId"] == str(users.admin)  # others' history keeps its actors


async def test_graphql_erasure_reports_what_it_did(client, users, settings, clock):
    await build_world(client, users, settings, clock)
    data = await gql(client, users.as_admin, DELETE_USER, userId=str(users.coach))
    assert data["data"]["deleteUserFromBookings"] == {
        "__typename": "UserDataDeleted",
        "userId": str(users.coach),
        "deletedBookings": 1,  # coach_trains, booked as an athlete
        "anonymizedBookings": 6,  # 3 events with a booking of each athlete
        "canceledEvents": 5,
    }
    assert await rows_holding(users.coach) == []

    data = await gql(client, users.as_athlete, DELETE_USER)
    assert data["data"]["deleteUserFromBookings"] == {
        "__typename": "UserDataDeleted",
        "userId": str(users.athlete),
        "deletedBookings": 6,
        "anonymizedBookings": 0,
        "canceledEvents": 0,
    }
    assert await rows_holding(users.athlete) == []

    data = await gql(client, users.as_athlete, DELETE_USER)
    result = data["data"]["deleteUserFromBookings"]
    assert result["__typename"] == "NotFoundError"
    assert result["code"] == "notFound"


# --------------------------------------------------------------------------------------------
# Erasing someone who only appears in history


async def test_admin_only_in_history_is_anonymised(client, users, settings, clock):
    await build_world(client, users, settings, clock)
    before = await dump()
    assert {(t, c) for t, c, _ in await rows_holding(users.admin)} == {
        ("booking_history", "actor_id")
    }

    r = await client.delete("/v1/users", headers=erase_headers(users.as_admin, users.admin))
    assert r.status_code == 204, r.text
    assert await rows_holding(users.admin) == []

    expected = {table: dict(rows) for table, rows in before.items()}
    expected["booking_history"] = {
        k: {**row, "actor_id": None} if row["actor_id"] == str(users.admin) else row
        for k, row in before["booking_history"].items()
    }
    assert await dump() == expected

    r = await client.delete("/v1/users", headers=erase_headers(users.as_admin, users.admin))
    assert_errors(r, 404, "notFound")


# --------------------------------------------------------------------------------------------
# Rules: who may erase whom; a refusal changes nothing


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no-current-user-header", 400, "validation"),
        ("current-user-not-a-uuid", 400, "validation"),
        ("user-id-not-a-uuid", 400, "validation"),
        ("current-user-is-not-the-token-subject", 403, "forbidden"),
        ("admin-current-user-is-not-the-token-subject", 403, "forbidden"),
        ("athlete-erasing-someone-else", 403, "forbidden"),
        ("coach-erasing-their-athlete", 403, "forbidden"),
        ("scheduler-erasing-someone-else", 403, "forbidden"),
        ("user-holding-nothing", 404, "notFound"),
        ("admin-erasing-an-unknown-user", 404, "notFound"),
        ("no-token", 401, "unauthorized"),
    ],
)
async def test_refusals_change_nothing(client, users, settings, clock, case, status, code):
    await build_world(client, users, settings, clock)
    before = await dump()
    a = users.athlete
    nobody = uuid.uuid4()
    request: dict[str, tuple[dict[str, str], dict[str, str]]] = {
        "no-current-user-header": (users.as_athlete, {}),
        "current-user-not-a-uuid": (erase_headers(users.as_athlete, "not-a-uuid"), {}),
        "user-id-not-a-uuid": (erase_headers(users.as_admin, users.admin), {"userId": "42"}),
        "current-user-is-not-the-token-subject": (
            erase_headers(users.as_athlete, users.other_athlete),
            {},
        ),
        "admin-current-user-is-not-the-token-subject": (
            erase_headers(users.as_admin, a),
            {"userId": str(a)},
        ),
        "athlete-erasing-someone-else": (
            erase_headers(users.as_other_athlete, users.other_athlete),
            {"userId": str(a)},
        ),
        "coach-erasing-their-athlete": (
            erase_headers(users.as_coach, users.coach),
            {"userId": str(a)},
        ),
        "scheduler-erasing-someone-else": (
            erase_headers(users.as_scheduler, users.scheduler),
            {"userId": str(a)},
        ),
        "user-holding-nothing": (erase_headers(users.headers(nobody, "athlete"), nobody), {}),
        "admin-erasing-an-unknown-user": (
            erase_headers(users.as_admin, users.admin),
            {"userId": str(nobody)},
        ),
        "no-token": ({"x-current-user-id": str(a)}, {}),
    }
    headers, params = request[case]
    r = await client.delete("/v1/users", params=params, headers=headers)
    assert_errors(r, status, code)
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert await dump() == before


async def test_current_user_id_in_any_spelling_is_the_same_user(client, users, settings, clock):
    await build_world(client, users, settings, clock)
    r = await client.delete(
        "/v1/users",
        params={"userId": str(users.athlete).upper()},
        headers=erase_headers(users.as_athlete, str(users.athlete).upper()),
    )
    assert r.status_code == 204, r.text
    assert await rows_holding(users.athlete) == []


@pytest.mark.parametrize(
    ("party", "target", "typename", "code"),
    [
        ("other_athlete", "athlete", "ForbiddenError", "forbidden"),
        ("coach", "athlete", "ForbiddenError", "forbidden"),
        ("scheduler", "athlete", "ForbiddenError", "forbidden"),
        ("scheduler", None, "NotFoundError", "notFound"),
        ("admin", "nobody", "NotFoundError", "notFound"),
    ],
)
async def test_graphql_refusals_are_typed_and_change_nothing(
    client, users, settings, clock, party, target, typename, code
):
    await build_world(client, users, settings, clock)
    before = await dump()
    roles = {"other_athlete": "athlete", "coach": "coach", "scheduler": "scheduler"}
    headers = users.headers(getattr(users, party), roles.get(party, party))
    user_id = {"athlete": str(users.athlete), "nobody": str(uuid.uuid4()), None: None}[target]
    data = await gql(client, headers, DELETE_USER, userId=user_id)
    result = data["data"]["deleteUserFromBookings"]
    assert result["__typename"] == typename
    assert result["code"] == code
    assert result["message"]
    assert await dump() == before


async def test_graphql_without_token_is_401(client, users):
    r = await client.post(
        "/graphql", json={"query": DELETE_USER, "variables": {"userId": str(users.athlete)}}
    )
    assert r.status_code == 401


# --------------------------------------------------------------------------------------------
# All or nothing


async def test_failure_midway_leaves_every_row_as_it_was(
    client, users, settings, clock, monkeypatch
):
    """Fail at the last step (after deleting, canceling and anonymising): all is rolled back."""
    await build_world(client, users, settings, clock)
    before = await dump()

    async def broken(entries: list) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure, "record", broken)
    data = await gql(client, users.as_admin, DELETE_USER, userId=str(users.coach))
    assert data["data"] is None
    assert data["errors"][0]["message"] == "Unexpected error."
    assert await dump() == before

    # The service is fine afterwards: no lock or transaction was left behind.
    monkeypatch.undo()
    data = await gql(client, users.as_admin, DELETE_USER, userId=str(users.coach))
    assert data["data"]["deleteUserFromBookings"]["__typename"] == "UserDataDeleted"
    assert await rows_holding(users.coach) == []
