"""Notifications on GraphQL: the cron's run, and each user's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings import models
from leko_bookings.resolvers import inbox, notify
from leko_bookings.resolvers.common import PageRequest
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import ForbiddenError, ValidationError
from leko_bookings.schema.types import PageInfo
from leko_bookings.store.views import NotificationView


@strawberry.type(description="What one notify run did.")
class NotifySummary:
    expired_bookings: int = strawberry.field(description="Pending bookings canceled at start.")
    queued: int
    claimed: int
    sent: int
    retried: int
    failed: int
    expired: int


NotifyResult = Annotated[NotifySummary | ForbiddenError, strawberry.union("NotifyResult")]


@strawberry.type
class Notification:
    id: UUID
    rule: str
    booking_id: UUID
    recipient_role: models.RecipientRole
    status: models.NotificationStatus
    created_at: datetime
    sent_at: datetime | None
    read: bool

    @classmethod
    def of(cls, view: NotificationView) -> Notification:
        return cls(
            id=view.id,
            rule=view.rule,
            booking_id=view.booking_id,
            recipient_role=view.recipient_role,
            status=view.status,
            created_at=view.created_at,
            sent_at=view.sent_at,
            read=view.read,
        )


@strawberry.type
class NotificationConnection:
    nodes: list[Notification]
    page_info: PageInfo


@strawberry.type
class MarkedRead:
    updated: int


MarkReadResult = Annotated[MarkedRead | ValidationError, strawberry.union("MarkReadResult")]


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self, info: Info, unread_only: bool = False, first: int = 50, after: str | None = None
    ) -> NotificationConnection:
        query = inbox.InboxFilter(unread_only, PageRequest(first, after))
        page = await inbox.list_notifications(info.context.ctx, query)
        return NotificationConnection(
            nodes=[Notification.of(n) for n in page.items],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Contract: POST /bookings/notify (scheduler, admin).")
    async def notify_bookings(self, info: Info) -> NotifyResult:
        done = await notify.notify_bookings(info.context.ctx, info.context.channel)
        return NotifySummary(
            expired_bookings=done.expired_bookings,
            queued=done.queued,
            claimed=done.claimed,
            sent=done.sent,
            retried=done.retried,
            failed=done.failed,
            expired=done.expired,
        )

    @strawberry.mutation(description="Mark some of the caller's notifications read.")
    async def mark_notifications_read(self, info: Info, ids: list[UUID]) -> MarkReadResult:
        return MarkedRead(updated=await inbox.mark_read(info.context.ctx, ids))
