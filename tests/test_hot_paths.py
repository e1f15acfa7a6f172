"""The hot paths' shortcuts (issue 6): one multi-row
INSERT per table (`insert`), and orders that cost the same few statements however many events
they book."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.fields.base import DatabaseDefault

from bench.sqlcount import counting_statements
from leko_bookings.models import (
    BookingHistory,
    Notification,
    NotificationStatus,
    RecipientRole,
)
from leko_bookings.resolvers import common
from leko_bookings.store import sql
from leko_bookings.store.sql import insert
from tests.conftest import NOW
from tests.factories import book, create_event

DAY = NOW.replace(hour=6) + timedelta(days=1)


async def events(users, settings, count: int, private: bool = False) -> list[uuid.UUID]:
    return [
        await create_event(
            settings, NOW, coach=users.coach, start=DAY + timedelta(hours=2 * i), public=not private
        )
        for i in range(count)
    ]


async def booked(client, users, settings, count: int, private: bool = False) -> list[uuid.UUID]:
    r = await book(client, users.as_athlete, users.athlete, *await events(users, settings, count))
    assert r.status_code == 201, r.text
    return [uuid.UUID(b["bookingId"]) for b in r.json()["bookings"]]


async def test_get_by_id_costs_three_statements(client, users, settings):
    (booking_id,) = await booked(client, users, settings, 1)
    with counting_statements() as counter:
        r = await client.get(f"/v1/bookings/{booking_id}", headers=users.as_athlete)
    assert r.status_code == 200, r.text
    assert r.json()["bookingId"] == str(booking_id)
    # the booking with its event, then its rank (the rate limits are off in these tests)
    assert len(counter.statements) == 2, counter.statements


@pytest.mark.parametrize("private", [False, True])
async def test_an_order_costs_the_same_statements_for_1_or_8_events(
    client, users, settings, dialect, private
):
    counts = []
    for count, athlete, headers in (
        (1, users.athlete, users.as_athlete),
        (8, users.other_athlete, users.as_other_athlete),
    ):
        requested = await events(users, settings, count, private)
        with counting_statements() as counter:
            r = await book(client, headers, athlete, *requested)
        assert r.status_code == 201, r.text
        assert len(r.json()["bookings"]) == count
        counts.append(len(counter.statements))
    # user lock (PostgreSQL only), events, commitments, order, bookings, history, outbox
    # (bookingCreated; bookingPendingApproval too for private events), ranks
    expected = (8 if dialect == "postgres" else 7) + private
    assert counts == [expected, expected]


async def test_insert_splits_what_one_statement_cannot_carry(client, users, settings, monkeypatch):
    (booking_id,) = await booked(client, users, settings, 1)
    monkeypatch.setattr(sql, "MAX_PARAMETERS", 50)  # 9 columns: 5 rows a statement
    entries = [
        BookingHistory(
            id=common.time_ordered_uuid(),
            booking_id=booking_id,
            at=NOW + timedelta(seconds=i),
            actor_id=users.athlete,
            actor_role="Athlete",
            action="NoteChanged",
            from_status=None,
            to_status=None,
            detail=f"entry {i}",
        )
        for i in range(12)
    ]
    with counting_statements() as counter:
        await insert(entries)
    assert len(counter.statements) == 3
    written = await BookingHistory.filter(booking_id=booking_id, action="NoteChanged").order_by(
        "at"
    )
    assert [h.detail for h in written] == [f"entry {i}" for i in range(12)]
    assert [h.at for h in written] == [NOW + timedelta(seconds=i) for i in range(12)]


def notification(booking_id: uuid.UUID, recipient: uuid.UUID, **fields) -> Notification:
    values = {
        "id": uuid.uuid4(),
        "booking_id": booking_id,
        "rule": "bookingCreated",
        "recipient_id": recipient,
        "recipient_role": RecipientRole.Coach,
        "status": NotificationStatus.Pending,
        "attempts": 0,
        "next_attempt_at": NOW,
        "valid_until": None,
        "created_at": NOW,
        **fields,
    }
    return Notification(**values)


async def test_insert_ignores_conflicts_only_when_asked(client, users, settings):
    (booking_id,) = await booked(client, users, settings, 1)
    row = notification(booking_id, users.other_coach)
    await insert([row], ignore_conflicts=True)
    await insert([row], ignore_conflicts=True)  # the same id again: nothing happens
    assert await Notification.filter(recipient_id=users.other_coach).count() == 1
    with pytest.raises(IntegrityError):
        await insert([row])


async def test_insert_refuses_a_field_left_to_the_database(client, users, settings):
    (booking_id,) = await booked(client, users, settings, 1)
    row = notification(booking_id, users.other_coach)
    row.attempts = DatabaseDefault(Notification._meta.fields_map["attempts"])  # type: ignore[assignment]
    with pytest.raises(ValueError, match="set every field of notification"):
        await insert([row])
    assert await Notification.filter(recipient_id=users.other_coach).count() == 0
