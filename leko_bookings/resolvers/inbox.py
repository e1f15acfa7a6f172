"""A user's notification inbox: newest first, read/unread."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from leko_bookings.models import Notification, NotificationStatus
from leko_bookings.resolvers.common import Page, PageRequest, check_page_size, page_bounds, page_of
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.reading import MAX_PAGE
from leko_bookings.store.sql import paginate_after


@dataclass(frozen=True, slots=True)
class InboxFilter:
    unread_only: bool = False
    page: PageRequest = field(default_factory=PageRequest)


async def list_notifications(ctx: Context, q: InboxFilter) -> Page[Notification]:
    """The caller's own notifications (not the expired ones), newest first."""
    check_page_size(q.page, MAX_PAGE)
    query = Notification.filter(recipient_id=ctx.principal.user_id).exclude(
        status=NotificationStatus.Expired
    )
    if q.unread_only:
        query = query.filter(read_at__isnull=True)
    rows = await paginate_after(query, "created_at", True, *page_bounds(q.page))
    return page_of(rows, q.page, "created_at")


async def mark_read(ctx: Context, notification_ids: list[UUID]) -> int:
    """Mark the caller's notifications read; others' ids are ignored. Returns how many changed."""
    return await Notification.filter(
        id__in=notification_ids, recipient_id=ctx.principal.user_id, read_at__isnull=True
    ).update(read_at=ctx.now)
