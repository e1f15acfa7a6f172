"""A user's notification inbox: newest first, read/unread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from uuid import UUID

from leko_bookings.errors import NotFound
from leko_bookings.resolvers.common import Page, PageRequest, check_page_size, page_bounds, page_of
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.reading import MAX_PAGE
from leko_bookings.store import notifications
from leko_bookings.store.views import BookingView, NotificationView


@dataclass(frozen=True, slots=True)
class InboxFilter:
    unread_only: bool = False
    page: PageRequest = field(default_factory=PageRequest)


async def list_notifications(ctx: Context, q: InboxFilter) -> Page[NotificationView]:
    """The caller's own notifications (not the expired ones), newest first."""
    check_page_size(q.page, MAX_PAGE)
    me = ctx.principal.user_id
    rows = await notifications.inbox(me, q.unread_only, *page_bounds(q.page))
    page = page_of(rows, q.page, lambda n: (n.created_at, n.id))
    page.count = partial(notifications.count_inbox, me, q.unread_only)
    return page


async def mark_read(ctx: Context, notification_ids: list[UUID]) -> int:
    """Mark the caller's notifications read; others' ids are ignored. Returns how many changed."""
    return await notifications.mark_read(notification_ids, ctx.principal.user_id, ctx.now)


async def get_notification(ctx: Context, notification_id: UUID) -> NotificationView:
    """One of the caller's own notifications; anyone else's is not found."""
    found = await notifications.notification_by_id(notification_id, ctx.principal.user_id)
    if found is None:
        raise NotFound(f"Notification {notification_id} was not found.")
    return found


_MESSAGES = {
    "bookingCreated": "New booking for your session on {when}.",
    "bookingPendingApproval": "A booking for your session on {when} awaits your approval.",
    "bookingCanceled": "The session on {when} was canceled.",
    "reminder24h": "Reminder: your session is tomorrow, {when}.",
    "reminder1h": "Your session starts in 1 hour ({when}).",
    "completionDue": "The session of {when} has ended: please mark it completed.",
    "pendingExpired": "Your booking for {when} expired: the coach did not accept it in time.",
    "bookingRescheduled": "A booking was rescheduled to your session on {when}.",
    "waitlistPromoted": "A seat freed up: you are booked for the session on {when}.",
}


def message_of(view: NotificationView, booking: BookingView | None) -> str:
    """A short English sentence for an inbox entry, from its rule and its booking (the default
    rules; a rule of a rules file reads generically). An erased booking is said to be gone."""
    if booking is None:
        return f"Notification {view.rule!r} about a booking that no longer exists."
    when = booking.start_at.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")
    template = _MESSAGES.get(view.rule, "Notification {rule!r} about your session on {when}.")
    return template.format(when=when, rule=view.rule)
