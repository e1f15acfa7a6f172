"""A user's notification inbox: reading it a page at a time, marking notifications read."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tortoise.queryset import QuerySet

from leko_bookings.models import Notification, NotificationStatus
from leko_bookings.store.sql import paginate_after
from leko_bookings.store.views import NotificationView


def _view(n: Notification) -> NotificationView:
    return NotificationView(
        id=n.id,
        rule=n.rule,
        booking_id=n.booking_id,
        recipient_role=n.recipient_role,
        status=n.status,
        created_at=n.created_at,
        sent_at=n.sent_at,
        read=n.read_at is not None,
    )


async def inbox(
    recipient_id: UUID,
    unread_only: bool,
    moment: datetime | None,
    row_id: UUID | None,
    limit: int | None,
    backward: bool = False,
) -> list[NotificationView]:
    """A recipient's notifications but the expired ones (and with `unread_only` the read ones),
    newest first, after the cursor's (created_at, id) when given, at most `limit`."""
    query = _selected(recipient_id, unread_only)
    rows = await paginate_after(query, "created_at", True, moment, row_id, limit, backward)
    return [_view(n) for n in rows]


async def count_inbox(recipient_id: UUID, unread_only: bool) -> int:
    return await _selected(recipient_id, unread_only).count()


def _selected(recipient_id: UUID, unread_only: bool) -> QuerySet[Notification]:
    query = Notification.filter(recipient_id=recipient_id).exclude(
        status=NotificationStatus.Expired
    )
    return query.filter(read_at__isnull=True) if unread_only else query


async def mark_read(ids: list[UUID], recipient_id: UUID, now: datetime) -> int:
    """Mark read those of the notifications that are the recipient's and unread; how many."""
    return await Notification.filter(
        id__in=ids, recipient_id=recipient_id, read_at__isnull=True
    ).update(read_at=now)


async def notification_by_id(notification_id: UUID, recipient_id: UUID) -> NotificationView | None:
    """One of the recipient's notifications (not an expired one), if it exists."""
    found = await _selected(recipient_id, False).filter(id=notification_id).first()
    return None if found is None else _view(found)
