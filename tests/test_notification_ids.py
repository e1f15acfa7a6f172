"""Notification ids: the UUIDv3 of (booking, rule, recipient), exactly as `uuid.uuid3` makes it."""

from __future__ import annotations

import uuid

from leko_bookings.resolvers.outbox import NAMESPACE, notification_id


def test_a_notification_id_is_the_uuid3_of_booking_rule_and_recipient():
    for _ in range(1000):
        booking, recipient = uuid.uuid4(), uuid.uuid4()
        expected = uuid.uuid3(NAMESPACE, f"{booking}:reminder1h:{recipient}")
        assert notification_id(booking, "reminder1h", recipient) == expected
    nil = uuid.UUID(int=0)
    assert notification_id(nil, "", nil) == uuid.uuid3(NAMESPACE, f"{nil}::{nil}")
    assert notification_id(nil, "", nil).version == 3
