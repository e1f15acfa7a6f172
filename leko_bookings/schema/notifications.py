"""Notifications on GraphQL: the cron's run, and each user's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings import models
from leko_bookings.resolvers import inbox, notify
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import ForbiddenError, ValidationError
from leko_bookings.schema.node import Node, global_id
from leko_bookings.schema.relay import Connection, connection_of, page_request
from leko_bookings.schema.types import Booking
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
    purged_idempotency_keys: int = strawberry.field(
        description="Orders' Idempotency-Keys deleted: past LEKO_IDEMPOTENCY_TTL_HOURS."
    )
    purged_waitlist_entries: int = strawberry.field(
        description="Waitlist entries deleted: their events have started or are canceled."
    )
    purged_rate_buckets: int = strawberry.field(
        description="Rate-limit buckets dropped: full again, the same as none."
    )
    settled_rank_groups: int = strawberry.field(
        description="Athletes' serviceCardinality with one coach stored anew after changes "
        "(until then each is counted when read)."
    )
    busy_rank_groups: int = strawberry.field(
        description="Athletes' ranks with one coach left for the next run: a transaction held "
        "one of their bookings."
    )


NotifyResult = Annotated[NotifySummary | ForbiddenError, strawberry.union("NotifyResult")]


async def _booking(root: Notification, info: Info) -> Booking | None:
    found = await info.context.bookings.load(root.booking_id)
    return None if found is None else Booking.of(found)


async def _message(root: Notification, info: Info) -> str:
    return inbox.message_of(root.view, await info.context.bookings.load(root.booking_id))


@strawberry.type
class Notification(Node):
    notification_id: UUID
    rule: str
    booking_id: UUID
    recipient_role: models.RecipientRole
    status: models.NotificationStatus
    created_at: datetime
    sent_at: datetime | None
    read: bool
    view: strawberry.Private[NotificationView]
    booking: Booking | None = strawberry.field(
        resolver=_booking, description="The booking it is about (null once erased)."
    )
    message: str = strawberry.field(resolver=_message, description="What to show the reader.")

    @classmethod
    def of(cls, view: NotificationView) -> Notification:
        return cls(
            id=global_id("Notification", view.id),
            notification_id=view.id,
            view=view,
            rule=view.rule,
            booking_id=view.booking_id,
            recipient_role=view.recipient_role,
            status=view.status,
            created_at=view.created_at,
            sent_at=view.sent_at,
            read=view.read,
        )


@strawberry.type
class MarkedRead:
    updated: int


MarkReadResult = Annotated[MarkedRead | ValidationError, strawberry.union("MarkReadResult")]


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification] | None:
        query = inbox.InboxFilter(unread_only, page_request(first, after, last, before))
        page = await inbox.list_notifications(info.context.ctx, query)
        return connection_of(page, Notification.of)


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
            purged_idempotency_keys=done.purged_idempotency_keys,
            purged_waitlist_entries=done.purged_waitlist_entries,
            purged_rate_buckets=done.purged_rate_buckets,
            settled_rank_groups=done.settled_rank_groups,
            busy_rank_groups=done.busy_rank_groups,
        )

    @strawberry.mutation(description="Mark some of the caller's notifications read.")
    async def mark_notifications_read(self, info: Info, ids: list[UUID]) -> MarkReadResult:
        return MarkedRead(updated=await inbox.mark_read(info.context.ctx, ids))
