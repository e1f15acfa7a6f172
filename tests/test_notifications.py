"""Notifications: rules fire once, at the right time, never outside their window; retries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from leko_bookings.models import Booking, Notification, NotificationStatus
from leko_bookings.resolvers.outbox import notification_id
from tests.conftest import NOW
from tests.factories import book, create_event, gql

NOTIFY = """
mutation {
  notifyBookings {
    __typename
    ... on NotifySummary { expiredBookings queued claimed sent retried failed expired }
    ... on Error { code }
  }
}
"""
CANCEL = """
mutation($id: UUID!) { cancelBooking(bookingId: $id, reasonCode: NoTime) { __typename } }
"""


async def run(client, users) -> dict:
    data = await gql(client, users.as_scheduler, NOTIFY)
    return data["data"]["notifyBookings"]


async def test_rest_notify_answers_204_for_operators_only(client, users):
    r = await client.post("/v1/bookings/notify", headers=users.as_scheduler)
    assert r.status_code == 204
    assert r.content == b""
    r = await client.post("/v1/bookings/notify", headers=users.as_admin)
    assert r.status_code == 204
    r = await client.post("/v1/bookings/notify", headers=users.as_athlete)
    assert r.status_code == 403
    data = await gql(client, users.as_coach, NOTIFY)
    assert data["data"]["notifyBookings"] == {"__typename": "ForbiddenError", "code": "forbidden"}


async def test_created_and_pending_approval_go_to_coach_once(client, users, settings, channel):
    public = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=3))
    private = await create_event(
        settings, NOW, coach=users.coach, start=NOW + timedelta(days=4), public=False
    )
    await book(client, users.as_athlete, users.athlete, public, private)
    summary = await run(client, users)
    assert summary["sent"] == 3
    assert channel.rules() == [
        ("bookingCreated", "Coach"),
        ("bookingCreated", "Coach"),
        ("bookingPendingApproval", "Coach"),
    ]
    assert {m.recipient_id for m in channel.delivered} == {users.coach}
    summary = await run(client, users)
    assert summary["claimed"] == 0
    assert len(channel.delivered) == 3


async def test_reminders_fire_in_their_window_only(client, users, settings, clock, channel):
    start = NOW + timedelta(days=3)
    event = await create_event(settings, NOW, coach=users.coach, start=start)
    await book(client, users.as_athlete, users.athlete, event)
    await run(client, users)
    channel.delivered.clear()

    clock.now = start - timedelta(hours=25)
    assert (await run(client, users))["sent"] == 0
    clock.now = start - timedelta(hours=23)
    await run(client, users)
    assert channel.rules() == [("reminder24h", "Athlete"), ("reminder24h", "Coach")]
    clock.now = start - timedelta(hours=20)
    await run(client, users)
    assert len(channel.delivered) == 2  # once only
    clock.now = start - timedelta(minutes=30)
    await run(client, users)
    assert channel.rules()[-2:] == [("reminder1h", "Athlete"), ("reminder1h", "Coach")] or (
        sorted(channel.rules()) == channel.rules()
    )
    assert sum(1 for m in channel.delivered if m.rule == "reminder1h") == 2
    clock.now = start + timedelta(minutes=1)
    await run(client, users)
    assert len(channel.delivered) == 4


async def test_a_reminder_whose_moment_passed_is_not_sent_late(
    client, users, settings, clock, channel
):
    start = NOW + timedelta(days=3)
    event = await create_event(settings, NOW, coach=users.coach, start=start)
    await book(client, users.as_athlete, users.athlete, event)
    await run(client, users)
    channel.delivered.clear()
    clock.now = start - timedelta(hours=6)  # the 24 h reminder's window (24 h..12 h) has passed
    await run(client, users)
    assert channel.delivered == []
    assert not await Notification.filter(rule="reminder24h").exists()


async def test_pending_at_start_is_canceled_by_system_and_athlete_told(
    client, users, settings, clock, channel
):
    start = NOW + timedelta(days=1)
    event = await create_event(settings, NOW, coach=users.coach, start=start, public=False)
    r = await book(client, users.as_athlete, users.athlete, event)
    booking_id = r.json()["bookings"][0]["bookingId"]
    clock.now = start
    summary = await run(client, users)
    assert summary["expiredBookings"] == 1
    booking = await Booking.get(id=booking_id)
    assert booking.status == "Canceled"
    assert booking.canceled_by_role == "System"
    assert ("pendingExpired", "Athlete") in channel.rules()
    assert (await run(client, users))["expiredBookings"] == 0


async def test_cancellation_tells_the_other_party(client, users, settings, channel):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=2))
    r = await book(client, users.as_athlete, users.athlete, event)
    booking_id = r.json()["bookings"][0]["bookingId"]
    await run(client, users)
    channel.delivered.clear()
    data = await gql(client, users.as_athlete, CANCEL, id=booking_id)
    assert data["data"]["cancelBooking"]["__typename"] == "Booking"
    await run(client, users)
    assert channel.rules() == [("bookingCanceled", "Coach")]


async def test_completion_due_after_end_while_not_completed(
    client, users, settings, clock, channel
):
    start = NOW + timedelta(days=1)
    event = await create_event(settings, NOW, coach=users.coach, start=start, minutes=60)
    await book(client, users.as_athlete, users.athlete, event)
    await run(client, users)
    channel.delivered.clear()
    clock.now = start + timedelta(minutes=61)
    await run(client, users)
    assert ("completionDue", "Coach") in channel.rules()


async def test_failures_retry_with_backoff_then_fail_visibly(
    client, users, settings, clock, channel
):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=5))
    await book(client, users.as_athlete, users.athlete, event)
    channel.fail = True
    first = await run(client, users)
    assert first["retried"] == 1
    row = await Notification.get(rule="bookingCreated")
    assert row.attempts == 1
    assert row.next_attempt_at == NOW + timedelta(seconds=settings.notification_backoff_seconds)
    assert (await run(client, users))["claimed"] == 0  # not before its backoff
    for _ in range(2, settings.notification_max_attempts + 1):
        clock.now = (await Notification.get(id=row.id)).next_attempt_at
        summary = await run(client, users)
        assert summary["claimed"] == 1
    row = await Notification.get(id=row.id)
    assert row.status == NotificationStatus.Failed
    assert row.last_error == "the receiver is down"
    assert row.attempts == settings.notification_max_attempts
    channel.fail = False
    clock.now += timedelta(days=1)
    assert (await run(client, users))["claimed"] == 0


async def test_a_due_reminder_that_fails_is_retried_under_the_same_id(
    client, users, settings, clock, channel
):
    start = NOW + timedelta(days=3)
    event = await create_event(settings, NOW, coach=users.coach, start=start)
    r = await book(client, users.as_athlete, users.athlete, event)
    booking_id = uuid.UUID(r.json()["bookings"][0]["bookingId"])
    await run(client, users)
    clock.now = start - timedelta(minutes=50)
    channel.fail = True
    summary = await run(client, users)
    assert (summary["queued"], summary["claimed"], summary["retried"]) == (2, 2, 2)
    rows = await Notification.filter(rule="reminder1h").order_by("recipient_role")
    assert [(n.status, n.attempts, n.sent_at) for n in rows] == [
        (NotificationStatus.Pending, 1, None)
    ] * 2
    assert {n.id for n in rows} == {
        notification_id(booking_id, "reminder1h", who) for who in (users.athlete, users.coach)
    }
    assert rows[0].next_attempt_at == clock.now + timedelta(
        seconds=settings.notification_backoff_seconds
    )
    channel.fail = False
    channel.delivered.clear()
    assert (await run(client, users))["claimed"] == 0  # not before its backoff, nor rewritten
    clock.now = rows[0].next_attempt_at
    summary = await run(client, users)
    assert (summary["queued"], summary["sent"]) == (0, 2)
    assert {m.id for m in channel.delivered} == {n.id for n in rows}
    assert {m.attempt for m in channel.delivered} == {2}
    assert await Notification.filter(rule="reminder1h", status=NotificationStatus.Sent).count() == 2


async def test_inbox_lists_the_callers_notifications_and_marks_read(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=2))
    await book(client, users.as_athlete, users.athlete, event)
    await run(client, users)
    inbox = "{ notifications { nodes { id: notificationId rule read } pageInfo { hasNextPage } } }"
    data = await gql(client, users.as_coach, inbox)
    [note] = data["data"]["notifications"]["nodes"]
    assert note["rule"] == "bookingCreated"
    assert note["read"] is False
    other = await gql(client, users.as_athlete, inbox)
    assert other["data"]["notifications"]["nodes"] == []
    mark = """
    mutation($ids: [UUID!]!) { markNotificationsRead(ids: $ids) { ... on MarkedRead { updated } } }
    """
    stranger = await gql(client, users.as_athlete, mark, ids=[note["id"]])
    assert stranger["data"]["markNotificationsRead"]["updated"] == 0
    mine = await gql(client, users.as_coach, mark, ids=[note["id"], str(uuid.uuid4())])
    assert mine["data"]["markNotificationsRead"]["updated"] == 1
    data = await gql(client, users.as_coach, inbox)
    assert data["data"]["notifications"]["nodes"][0]["read"] is True


async def test_erasing_a_coach_tells_athletes_of_bookings_ahead(client, users, settings, channel):
    event = await create_event(settings, NOW, coach=users.coach, start=NOW + timedelta(days=2))
    await book(client, users.as_athlete, users.athlete, event)
    await run(client, users)
    channel.delivered.clear()
    headers = {**users.as_coach, "x-current-user-id": str(users.coach)}
    assert (await client.delete("/v1/users", headers=headers)).status_code == 204
    await run(client, users)
    assert channel.rules() == [("bookingCanceled", "Athlete")]
    assert channel.delivered[0].recipient_id == users.athlete
    assert not await Notification.filter(recipient_id=users.coach).exists()
