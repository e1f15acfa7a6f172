"""A user's notification inbox: newest first, read/unread."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from leko_bookings.resolvers.common import Page, PageRequest, check_page_size, page_bounds, page_of
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.reading import MAX_PAGE
from leko_bookings.store import notifications
from leko_bookings.store.views import NotificationView


@dataclass(frozen=True, slots=True)
class InboxFilter:
    unread_only: bool = False
    page: PageRequest = field(default_factory=PageRequest)


async def list_notifications(ctx: Context, q: InboxFilter) -> Page[NotificationView]:
    """The caller's own notifications (not the expired ones), newest first."""
    check_page_size(q.page, MAX_PAGE)
    rows = await notifications.inbox(ctx.principal.user_id, q.unread_only, *page_bounds(q.page))
    return page_of(rows, q.page, lambda n: (n.created_at, n.id))


async def mark_read(ctx: Context, notification_ids: list[UUID]) -> int:
    """Mark the caller's notifications read; others' ids are ignored. Returns how many changed."""
    return await notifications.mark_read(notification_ids, ctx.principal.user_id, ctx.now)
