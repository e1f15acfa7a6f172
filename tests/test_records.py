"""What is recorded about a session (SPEC_NOTES, "Changing"): PATCH .../completed, PATCH .../note,
POST .../dismiss and their GraphQL twins, with who may do what, the contract's error bodies and
the history each leaves. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import NOW
from tests.factories import book, create_event, gql

START = NOW + timedelta(days=1)  # 2026-06-02T09:00:00Z
END = START + timedelta(minutes=60)
AFTER = END + timedelta(hours=2)

COMPLETED = "PATCH /bookings/{bookingId}/completed"
NOTE = "PATCH /bookings/{bookingId}/note"
DISMISS = "POST /bookings/{bookingId}/dismiss"

RESULT = """
    __typename
    ... on Booking {
      bookingId bookingStatus completed note dismissedAt
      history { at actorId actorRole action }
    }
    ... on Error { code message }
"""
COMPLETE_GQL = f"""
mutation Complete($bookingId: UUID!, $completed: Boolean!) {{
  markBookingAsCompleted(bookingId: $bookingId, completed: $completed) {{ {RESULT} }}
}}
"""
NOTE_GQL = f"""
mutation Note($bookingId: UUID!, $note: String!) {{
  addBookingNote(bookingId: $bookingId, note: $note) {{ {RESULT} }}
}}
"""
DISMISS_GQL = f"""
mutation Dismiss($bookingId: UUID!, $userId: UUID!) {{
  dismissBooking(bookingId: $bookingId, userId: $userId) {{ {RESULT} }}
}}
"""
CANCEL_GQL = """
mutation Cancel($bookingId: UUID!) {
  cancelBooking(bookingId: $bookingId, reasonCode: NoTime) {
    __typename
    ... on Booking { bookingStatus }
    ... on Error { code message }
  }
}
"""
HISTORY_GQL = """
query History($bookingId: UUID!) {
  booking(bookingId: $bookingId) {
    completed note dismissedAt history { at actorId actorRole action }
  }
}
"""
CALENDAR_GQL = """
query Calendar($userId: UUID!) { bookings(userId: $userId) { nodes { bookingId } } }
"""


# --- helpers -------------------------------------------------------------------------------------


async def new_booking(client, users, settings, *, public: bool = True, start=START) -> str:
    """The athlete books one event of the coach (Accepted when public, else Pending)."""
    event = await create_event(settings, NOW, coach=users.coach, start=start, public=public)
    r = await book(client, users.as_athlete, users.athlete, event)
    assert r.status_code == 201, r.text
    [booking] = r.json()["bookings"]
    assert booking["bookingStatus"] == ("Accepted" if public else "Pending")
    return booking["bookingId"]


async def cancel(client, users, booking_id: str) -> None:
    """The athlete cancels before the start (GraphQL cancelBooking)."""
    data = await gql(client, users.as_athlete, CANCEL_GQL, bookingId=booking_id)
    assert data["data"]["cancelBooking"] == {"__typename": "Booking", "bookingStatus": "Canceled"}


async def canceled_booking(client, users, settings, *, start=START) -> str:
    booking_id = await new_booking(client, users, settings, start=start)
    await cancel(client, users, booking_id)
    return booking_id


async def stored(client, users, booking_id: str) -> dict[str, Any]:
    """The booking as an admin reads it on GraphQL, with its history."""
    data = await gql(client, users.as_admin, HISTORY_GQL, bookingId=booking_id)
    booking = data["data"]["booking"]
    assert booking is not None
    return booking


def entries(booking: dict[str, Any], *actions: str) -> list[dict[str, Any]]:
    return [h for h in booking["history"] if h["action"] in actions]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def errors_entry(r, status: int, code: str, endpoint: str) -> dict[str, Any]:
    """The contract's `Errors` body holding one error; returns that error."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"errors"}
    [entry] = body["errors"]
    assert entry["code"] == code
    assert entry["endpoint"] == endpoint
    assert entry["requestId"] == r.headers["x-request-id"]
    assert entry["message"]
    return entry


def single_not_found(r, endpoint: str) -> dict[str, Any]:
    """The contract's single `Error` 404 body (no `errors` list)."""
    assert r.status_code == 404, r.text
    body = r.json()
    assert "errors" not in body
    assert body["code"] == "notFound"
    assert body["endpoint"] == endpoint
    assert body["requestId"] == r.headers["x-request-id"]
    return body


def as_json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "content-type": "application/json"}


def completed_url(booking_id: str) -> str:
    return f"/v1/bookings/{booking_id}/completed"


def note_url(booking_id: str) -> str:
    return f"/v1/bookings/{booking_id}/note"


def dismiss_url(booking_id: str) -> str:
    return f"/v1/bookings/{booking_id}/dismiss"


async def calendar(client, users) -> list[str]:
    r = await client.get(
        "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.status_code == 200, r.text
    return [b["bookingId"] for b in r.json()]


def same_message(a: dict[str, Any], a_id: str, b: dict[str, Any], b_id: str) -> None:
    """Two refusals say the same thing once the booking ids are set aside."""
    assert a["message"].replace(a_id, "ID") == b["message"].replace(b_id, "ID")


# --- PATCH /bookings/{id}/completed --------------------------------------------------------------


async def test_coach_marks_completed_then_undoes_idempotently(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    r = await client.patch(
        completed_url(booking_id), json={"completed": True}, headers=users.as_coach
    )
    assert r.status_code == 200, r.text
    assert r.json()["bookingId"] == booking_id
    assert r.json()["completed"] is True
    assert r.json()["bookingStatus"] == "Accepted"

    clock.now = AFTER + timedelta(minutes=5)
    again = await client.patch(
        completed_url(booking_id), json={"completed": True}, headers=users.as_coach
    )
    assert again.status_code == 200, again.text
    assert again.json()["completed"] is True

    read = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
    assert read.json()["completed"] is True
    [done] = entries(await stored(client, users, booking_id), "Completed", "CompletionUndone")
    assert done["action"] == "Completed"
    assert done["actorRole"] == "Coach"
    assert done["actorId"] == str(users.coach)
    assert instant(done["at"]) == AFTER  # the first call's time: the repeat recorded nothing

    undo_at = AFTER + timedelta(minutes=10)
    clock.now = undo_at
    for _ in range(2):
        r = await client.patch(
            completed_url(booking_id), json={"completed": False}, headers=users.as_coach
        )
        assert r.status_code == 200, r.text
        assert r.json()["completed"] is False
        clock.now += timedelta(minutes=1)

    booking = await stored(client, users, booking_id)
    assert booking["completed"] is False
    moves = entries(booking, "Completed", "CompletionUndone")
    assert [h["action"] for h in moves] == ["Completed", "CompletionUndone"]
    assert instant(moves[1]["at"]) == undo_at
    assert moves[1]["actorRole"] == "Coach"


async def test_admin_marks_completed_recorded_as_admin(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    r = await client.patch(
        completed_url(booking_id), json={"completed": True}, headers=users.as_admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["completed"] is True
    [done] = entries(await stored(client, users, booking_id), "Completed")
    assert done["actorRole"] == "Admin"
    assert done["actorId"] == str(users.admin)
    assert instant(done["at"]) == AFTER


async def test_completion_only_once_the_event_has_ended(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    for moment in (START, END - timedelta(seconds=1)):
        clock.now = moment
        r = await client.patch(
            completed_url(booking_id), json={"completed": True}, headers=users.as_coach
        )
        entry = errors_entry(r, 400, "validation", COMPLETED)
        assert "ended" in entry["message"]
    assert (await stored(client, users, booking_id))["completed"] is False

    clock.now = END  # the end itself counts as ended
    r = await client.patch(
        completed_url(booking_id), json={"completed": True}, headers=users.as_coach
    )
    assert r.status_code == 200, r.text
    assert r.json()["completed"] is True


@pytest.mark.parametrize("status", ["Pending", "Canceled"])
async def test_completion_needs_an_accepted_booking(client, users, settings, clock, status):
    if status == "Pending":
        booking_id = await new_booking(client, users, settings, public=False)
    else:
        booking_id = await canceled_booking(client, users, settings)
    clock.now = AFTER
    r = await client.patch(
        completed_url(booking_id), json={"completed": True}, headers=users.as_coach
    )
    entry = errors_entry(r, 400, "validation", COMPLETED)
    assert "Accepted" in entry["message"]
    assert status in entry["message"]
    booking = await stored(client, users, booking_id)
    assert booking["completed"] is False
    assert entries(booking, "Completed") == []


@pytest.mark.parametrize("who", ["athlete", "scheduler"])
async def test_completion_forbidden_for_athlete_and_scheduler(client, users, settings, clock, who):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    headers = users.as_athlete if who == "athlete" else users.as_scheduler
    r = await client.patch(completed_url(booking_id), json={"completed": True}, headers=headers)
    errors_entry(r, 403, "forbidden", COMPLETED)
    assert (await stored(client, users, booking_id))["completed"] is False


async def test_completion_by_strangers_is_not_found_like_an_unknown_id(
    client, users, settings, clock
):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    unknown = str(uuid.uuid4())
    r = await client.patch(completed_url(unknown), json={"completed": True}, headers=users.as_coach)
    missing = single_not_found(r, COMPLETED)
    for headers in (users.as_other_coach, users.as_other_athlete):
        r = await client.patch(completed_url(booking_id), json={"completed": True}, headers=headers)
        same_message(single_not_found(r, COMPLETED), booking_id, missing, unknown)
    assert (await stored(client, users, booking_id))["completed"] is False


async def test_completion_bad_body_is_400_never_422(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    bodies = {
        "string": b'{"completed": "yes"}',
        "number": b'{"completed": 1}',
        "null": b'{"completed": null}',
        "empty-object": b"{}",
        "array": b'["completed"]',
        "malformed-json": b'{"completed": tru',
        "no-body": b"",
    }
    for name, body in bodies.items():
        r = await client.patch(
            completed_url(booking_id), content=body, headers=as_json(users.as_coach)
        )
        assert r.status_code == 400, (name, r.text)
        errors_entry(r, 400, "validation", COMPLETED)
    booking = await stored(client, users, booking_id)
    assert booking["completed"] is False
    assert entries(booking, "Completed") == []


async def test_completion_bad_booking_id_is_400(client, users, clock):
    clock.now = AFTER
    r = await client.patch(
        completed_url("not-a-uuid"), json={"completed": True}, headers=users.as_coach
    )
    errors_entry(r, 400, "validation", COMPLETED)


# --- PATCH /bookings/{id}/note -------------------------------------------------------------------


async def test_athlete_coach_and_admin_write_the_note_each_replacing_it(
    client, users, settings, clock
):
    booking_id = await new_booking(client, users, settings)
    writers = [
        (users.as_athlete, users.athlete, "Athlete", "Great session, knee felt fine."),
        (users.as_coach, users.coach, "Coach", "Work on the backhand."),
        (users.as_admin, users.admin, "Admin", "Checked by support."),
    ]
    for i, (headers, _, _, text) in enumerate(writers):
        clock.now = AFTER + timedelta(minutes=i)
        r = await client.patch(note_url(booking_id), json={"note": text}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["note"] == text
        read = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
        assert read.json()["note"] == text

    changes = entries(await stored(client, users, booking_id), "NoteChanged")
    assert [(h["actorId"], h["actorRole"]) for h in changes] == [
        (str(user), role) for _, user, role, _ in writers
    ]
    assert [instant(h["at"]) for h in changes] == [AFTER + timedelta(minutes=i) for i in range(3)]


async def test_note_of_2000_characters_fits_2001_does_not(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    for char in ("a", "ж", "😀"):  # counted as characters, not bytes or UTF-16 units
        longest = char * 1999 + "!"
        r = await client.patch(
            note_url(booking_id), json={"note": longest}, headers=users.as_athlete
        )
        assert r.status_code == 200, (char, r.text)
        assert r.json()["note"] == longest
        read = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
        assert read.json()["note"] == longest

        r = await client.patch(
            note_url(booking_id), json={"note": char * 2001}, headers=users.as_athlete
        )
        entry = errors_entry(r, 400, "validation", NOTE)
        assert "2000" in entry["message"]
        assert (await stored(client, users, booking_id))["note"] == longest


async def test_blank_note_refused(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    r = await client.patch(note_url(booking_id), json={"note": "kept"}, headers=users.as_athlete)
    assert r.status_code == 200, r.text
    for text in ("", "   ", "\n\t "):
        r = await client.patch(note_url(booking_id), json={"note": text}, headers=users.as_athlete)
        entry = errors_entry(r, 400, "validation", NOTE)
        assert "empty" in entry["message"]
    assert (await stored(client, users, booking_id))["note"] == "kept"


async def test_note_only_after_the_end(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    for moment in (NOW, START, END - timedelta(seconds=1)):
        clock.now = moment
        r = await client.patch(note_url(booking_id), json={"note": "early"}, headers=users.as_coach)
        entry = errors_entry(r, 400, "validation", NOTE)
        assert "ended" in entry["message"]
    booking = await stored(client, users, booking_id)
    assert booking["note"] is None
    assert entries(booking, "NoteChanged") == []

    clock.now = END
    r = await client.patch(note_url(booking_id), json={"note": "on time"}, headers=users.as_coach)
    assert r.status_code == 200, r.text
    assert r.json()["note"] == "on time"


async def test_note_by_strangers_is_not_found_and_scheduler_forbidden(
    client, users, settings, clock
):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    unknown = str(uuid.uuid4())
    r = await client.patch(note_url(unknown), json={"note": "x"}, headers=users.as_athlete)
    missing = single_not_found(r, NOTE)
    for headers in (users.as_other_athlete, users.as_other_coach):
        r = await client.patch(note_url(booking_id), json={"note": "x"}, headers=headers)
        same_message(single_not_found(r, NOTE), booking_id, missing, unknown)

    r = await client.patch(note_url(booking_id), json={"note": "x"}, headers=users.as_scheduler)
    errors_entry(r, 403, "forbidden", NOTE)
    booking = await stored(client, users, booking_id)
    assert booking["note"] is None
    assert entries(booking, "NoteChanged") == []


async def test_note_bad_body_is_400_never_422(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    clock.now = AFTER
    bodies = {
        "number": b'{"note": 42}',
        "null": b'{"note": null}',
        "array": b'{"note": ["a"]}',
        "empty-object": b"{}",
        "malformed-json": b'{"note": "unterminated',
        # Text no database can store (PostgreSQL refuses NUL; neither encodes a lone surrogate).
        "nul-char": b'{"note": "a\\u0000b"}',
        "lone-surrogate": b'{"note": "x\\ud83d"}',
    }
    for name, body in bodies.items():
        r = await client.patch(
            note_url(booking_id), content=body, headers=as_json(users.as_athlete)
        )
        assert r.status_code == 400, (name, r.text)
        errors_entry(r, 400, "validation", NOTE)
    booking = await stored(client, users, booking_id)
    assert booking["note"] is None
    assert entries(booking, "NoteChanged") == []


# --- POST /bookings/{id}/dismiss -----------------------------------------------------------------


async def test_athlete_dismisses_a_canceled_booking_from_the_calendar(
    client, users, settings, clock
):
    kept = await new_booking(client, users, settings, start=START + timedelta(days=1))
    booking_id = await canceled_booking(client, users, settings)
    assert set(await calendar(client, users)) == {kept, booking_id}

    clock.now = NOW + timedelta(minutes=7)
    params = {"userId": str(users.athlete)}
    r = await client.post(dismiss_url(booking_id), params=params, headers=users.as_athlete)
    assert r.status_code == 204, r.text
    assert r.content == b""

    assert await calendar(client, users) == [kept]
    read = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
    assert read.status_code == 200, read.text
    assert read.json()["bookingStatus"] == "Canceled"
    event_id = read.json()["eventId"]
    listing = await client.get("/v1/bookings", params={"eventId": event_id}, headers=users.as_coach)
    assert listing.status_code == 200, listing.text
    assert [b["bookingId"] for b in listing.json()] == [booking_id]

    # A second dismissal is a no-op: same 204, nothing recorded, the first time kept.
    clock.now = NOW + timedelta(minutes=20)
    again = await client.post(dismiss_url(booking_id), params=params, headers=users.as_athlete)
    assert again.status_code == 204, again.text
    assert again.content == b""
    booking = await stored(client, users, booking_id)
    assert instant(booking["dismissedAt"]) == NOW + timedelta(minutes=7)
    [dismissed] = entries(booking, "Dismissed")
    assert dismissed["actorRole"] == "Athlete"
    assert dismissed["actorId"] == str(users.athlete)
    assert instant(dismissed["at"]) == NOW + timedelta(minutes=7)
    assert await calendar(client, users) == [kept]


@pytest.mark.parametrize("public", [True, False], ids=["accepted", "pending"])
async def test_only_a_canceled_booking_can_be_dismissed(client, users, settings, public):
    booking_id = await new_booking(client, users, settings, public=public)
    r = await client.post(
        dismiss_url(booking_id), params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    entry = errors_entry(r, 400, "validation", DISMISS)
    assert "Canceled" in entry["message"]
    assert await calendar(client, users) == [booking_id]
    assert (await stored(client, users, booking_id))["dismissedAt"] is None


async def test_dismiss_userid_must_be_the_athlete_and_the_caller(client, users, settings):
    booking_id = await canceled_booking(client, users, settings)
    attempts = [
        # userId is not the booking's athlete
        (users.as_other_athlete, users.other_athlete),
        (users.as_athlete, users.other_athlete),
        (users.as_admin, users.other_athlete),
        # userId is the athlete, but the caller is someone else (and no admin)
        (users.as_other_athlete, users.athlete),
        (users.as_coach, users.athlete),
        (users.as_scheduler, users.athlete),
    ]
    for headers, user_id in attempts:
        r = await client.post(
            dismiss_url(booking_id), params={"userId": str(user_id)}, headers=headers
        )
        errors_entry(r, 403, "forbidden", DISMISS)
    assert await calendar(client, users) == [booking_id]
    booking = await stored(client, users, booking_id)
    assert booking["dismissedAt"] is None
    assert entries(booking, "Dismissed") == []


async def test_admin_dismisses_for_the_athlete(client, users, settings, clock):
    booking_id = await canceled_booking(client, users, settings)
    clock.now = AFTER
    r = await client.post(
        dismiss_url(booking_id), params={"userId": str(users.athlete)}, headers=users.as_admin
    )
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert await calendar(client, users) == []
    [dismissed] = entries(await stored(client, users, booking_id), "Dismissed")
    assert dismissed["actorRole"] == "Admin"
    assert dismissed["actorId"] == str(users.admin)
    assert instant(dismissed["at"]) == AFTER


async def test_dismiss_unknown_booking_is_single_error_404(client, users):
    r = await client.post(
        dismiss_url(str(uuid.uuid4())),
        params={"userId": str(users.athlete)},
        headers=users.as_athlete,
    )
    single_not_found(r, DISMISS)


@pytest.mark.parametrize(
    ("path_id", "params"),
    [
        (None, {}),
        (None, {"userId": "not-a-uuid"}),
        (None, {"userId": ""}),
        ("not-a-uuid", "athlete"),
    ],
    ids=["missing-userId", "bad-userId", "empty-userId", "bad-bookingId"],
)
async def test_dismiss_bad_parameters_are_400(client, users, settings, path_id, params):
    booking_id = await canceled_booking(client, users, settings)
    if params == "athlete":
        params = {"userId": str(users.athlete)}
    r = await client.post(
        dismiss_url(path_id or booking_id), params=params, headers=users.as_athlete
    )
    errors_entry(r, 400, "validation", DISMISS)
    assert await calendar(client, users) == [booking_id]


# --- GraphQL twins -------------------------------------------------------------------------------


async def test_graphql_mark_completed_and_its_typed_errors(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)
    pending = await new_booking(
        client, users, settings, public=False, start=START + timedelta(hours=3)
    )

    async def complete(headers, bid=booking_id, completed=True) -> dict[str, Any]:
        data = await gql(client, headers, COMPLETE_GQL, bookingId=bid, completed=completed)
        assert "errors" not in data, data
        return data["data"]["markBookingAsCompleted"]

    early = await complete(users.as_coach)
    assert early["__typename"] == "ValidationError"
    assert early["code"] == "validation"
    assert "ended" in early["message"]

    clock.now = AFTER + timedelta(hours=3)
    refusals = [
        (users.as_athlete, booking_id, "ForbiddenError", "forbidden"),
        (users.as_scheduler, booking_id, "ForbiddenError", "forbidden"),
        (users.as_other_coach, booking_id, "NotFoundError", "notFound"),
        (users.as_other_athlete, booking_id, "NotFoundError", "notFound"),
        (users.as_coach, str(uuid.uuid4()), "NotFoundError", "notFound"),
        (users.as_coach, pending, "ValidationError", "validation"),
    ]
    for headers, bid, typename, code in refusals:
        result = await complete(headers, bid)
        assert (result["__typename"], result["code"]) == (typename, code), result
        assert result["message"]

    done = await complete(users.as_coach)
    assert done["__typename"] == "Booking"
    assert done["bookingId"] == booking_id
    assert done["completed"] is True
    [entry] = entries(done, "Completed")
    assert entry["actorRole"] == "Coach"
    assert instant(entry["at"]) == clock.now

    assert (await complete(users.as_coach))["completed"] is True  # idempotent
    clock.now += timedelta(minutes=1)  # entries at one instant come in random-id order
    undone = await complete(users.as_admin, completed=False)
    assert undone["completed"] is False
    assert [h["action"] for h in entries(undone, "Completed", "CompletionUndone")] == [
        "Completed",
        "CompletionUndone",
    ]
    assert entries(undone, "CompletionUndone")[0]["actorRole"] == "Admin"


async def test_graphql_add_note_and_its_typed_errors(client, users, settings, clock):
    booking_id = await new_booking(client, users, settings)

    async def note(headers, text, bid=booking_id) -> dict[str, Any]:
        data = await gql(client, headers, NOTE_GQL, bookingId=bid, note=text)
        assert "errors" not in data, data
        return data["data"]["addBookingNote"]

    early = await note(users.as_athlete, "too early")
    assert (early["__typename"], early["code"]) == ("ValidationError", "validation")

    clock.now = AFTER
    refusals = [
        (users.as_athlete, "ж" * 2001, booking_id, "ValidationError", "validation"),
        (users.as_athlete, "   ", booking_id, "ValidationError", "validation"),
        (users.as_athlete, "nul\x00char", booking_id, "ValidationError", "validation"),
        (users.as_scheduler, "x", booking_id, "ForbiddenError", "forbidden"),
        (users.as_other_athlete, "x", booking_id, "NotFoundError", "notFound"),
        (users.as_other_coach, "x", booking_id, "NotFoundError", "notFound"),
        (users.as_athlete, "x", str(uuid.uuid4()), "NotFoundError", "notFound"),
    ]
    for headers, text, bid, typename, code in refusals:
        result = await note(headers, text, bid)
        assert (result["__typename"], result["code"]) == (typename, code), result

    text = "Привет, 😀 " * 200  # 2000 characters, 2200 UTF-16 units, 3800 UTF-8 bytes
    assert len(text) == 2000
    written = await note(users.as_athlete, text)
    assert written["__typename"] == "Booking"
    assert written["note"] == text
    [entry] = entries(written, "NoteChanged")
    assert entry["actorRole"] == "Athlete"
    assert entry["actorId"] == str(users.athlete)
    assert instant(entry["at"]) == AFTER

    # History orders entries by (at, random id): move the clock so the order is defined.
    clock.now = AFTER + timedelta(minutes=1)
    replaced = await note(users.as_coach, "coach's word")
    assert replaced["note"] == "coach's word"
    assert [h["actorRole"] for h in entries(replaced, "NoteChanged")] == ["Athlete", "Coach"]


async def test_graphql_dismiss_and_its_typed_errors(client, users, settings, clock):
    live = await new_booking(client, users, settings, start=START + timedelta(days=1))
    booking_id = await canceled_booking(client, users, settings)

    async def dismiss(headers, bid, user_id) -> dict[str, Any]:
        data = await gql(client, headers, DISMISS_GQL, bookingId=bid, userId=str(user_id))
        assert "errors" not in data, data
        return data["data"]["dismissBooking"]

    refusals = [
        (users.as_athlete, live, users.athlete, "ValidationError", "validation"),
        (users.as_athlete, booking_id, users.other_athlete, "ForbiddenError", "forbidden"),
        (users.as_other_athlete, booking_id, users.athlete, "ForbiddenError", "forbidden"),
        (users.as_athlete, str(uuid.uuid4()), users.athlete, "NotFoundError", "notFound"),
    ]
    for headers, bid, user_id, typename, code in refusals:
        result = await dismiss(headers, bid, user_id)
        assert (result["__typename"], result["code"]) == (typename, code), result

    clock.now = NOW + timedelta(minutes=3)
    done = await dismiss(users.as_athlete, booking_id, users.athlete)
    assert done["__typename"] == "Booking"
    assert done["bookingStatus"] == "Canceled"
    assert instant(done["dismissedAt"]) == clock.now
    [entry] = entries(done, "Dismissed")
    assert entry["actorRole"] == "Athlete"
    assert instant(entry["at"]) == clock.now

    clock.now += timedelta(minutes=1)
    again = await dismiss(users.as_athlete, booking_id, users.athlete)
    assert instant(again["dismissedAt"]) == NOW + timedelta(minutes=3)
    assert len(entries(again, "Dismissed")) == 1

    data = await gql(client, users.as_athlete, CALENDAR_GQL, userId=str(users.athlete))
    assert [b["bookingId"] for b in data["data"]["bookings"]["nodes"]] == [live]
