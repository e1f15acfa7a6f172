"""Waitlists: joining, leaving, and an event's waitlist for its coach (one resolver call each)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from leko_bookings.resolvers import waitlists
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import ForbiddenError, NotFoundError, ValidationError
from leko_bookings.schema.relay import Connection, connection_of, page_request
from leko_bookings.store.views import WaitlistEntryView


@strawberry.type(description="An athlete waiting for a seat in a full event.")
class WaitlistEntry:
    event_id: UUID
    user_id: UUID
    position: int = strawberry.field(description="1 for the next athlete to get a seat.")
    joined_at: datetime

    @classmethod
    def of(cls, w: WaitlistEntryView) -> WaitlistEntry:
        return cls(
            event_id=w.event_id, user_id=w.user_id, position=w.position, joined_at=w.joined_at
        )


@strawberry.type(description="The caller no longer waits for a seat in the event.")
class WaitlistLeft:
    event_id: UUID
    was_waiting: bool = strawberry.field(description="False: the caller was not waiting.")


JoinWaitlistResult = Annotated[
    WaitlistEntry | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("JoinWaitlistResult"),
]
LeaveWaitlistResult = Annotated[
    WaitlistLeft | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("LeaveWaitlistResult"),
]


@strawberry.type
class WaitlistMutation:
    @strawberry.mutation(
        description="An athlete waits for a seat in a full event they could otherwise book; the "
        "earliest eligible waiting athletes are booked as seats free (new Cash orders)."
    )
    async def join_waitlist(self, info: Info, event_id: UUID) -> JoinWaitlistResult:
        return WaitlistEntry.of(await waitlists.join_waitlist(info.context.ctx, event_id))

    @strawberry.mutation(description="The caller stops waiting for a seat in the event.")
    async def leave_waitlist(self, info: Info, event_id: UUID) -> LeaveWaitlistResult:
        left = await waitlists.leave_waitlist(info.context.ctx, event_id)
        return WaitlistLeft(event_id=event_id, was_waiting=left)


@strawberry.type
class WaitlistQuery:
    @strawberry.field(
        description="An event's waiting athletes in waiting order (its coach and operators)."
    )
    async def waitlist(
        self,
        info: Info,
        event_id: UUID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WaitlistEntry] | None:
        page = page_request(first, after, last, before)
        found = await waitlists.waitlist(info.context.ctx, event_id, page)
        return connection_of(found, WaitlistEntry.of)
