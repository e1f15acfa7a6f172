"""Mutations: each calls a resolver; domain errors become typed members of its result union."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import strawberry
from pydantic.alias_generators import to_camel

from leko_bookings.resolvers import catalog, ordering
from leko_bookings.schema.context import Info
from leko_bookings.schema.errors import (
    BookingRefused,
    ForbiddenError,
    TooManyRequestsError,
    ValidationError,
)
from leko_bookings.schema.inputs import EventInput, PaymentMethodInput
from leko_bookings.schema.types import BookingOrder, Event


@strawberry.type
class UpsertEventsSuccess:
    events: list[Event]


BookEventsResult = Annotated[
    BookingOrder | BookingRefused | ValidationError | ForbiddenError | TooManyRequestsError,
    strawberry.union("BookEventsResult"),
]
UpsertEventsResult = Annotated[
    UpsertEventsSuccess | ValidationError | ForbiddenError,
    strawberry.union("UpsertEventsResult"),
]


def _contract_names(value: Any) -> Any:
    """Input field names as the contract and the import file spell them (camelCase)."""
    if isinstance(value, dict):
        return {to_camel(k): _contract_names(v) for k, v in value.items()}
    return value


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Book every event or none (contract: POST /bookings).")
    async def book_events(
        self,
        info: Info,
        user_id: UUID,
        event_ids: list[UUID],
        payment_method: PaymentMethodInput,
    ) -> BookEventsResult:
        data = ordering.BookEventsInput(
            user_id=user_id,
            event_ids=event_ids,
            payment_method=ordering.PaymentMethodInput(
                type=payment_method.type, method_id=payment_method.method_id
            ),
        )
        return BookingOrder.of(await ordering.book_events(info.context.ctx, data))

    @strawberry.mutation(
        description="Create or replace catalog events by eventId (admin, scheduler)."
    )
    async def upsert_events(self, info: Info, events: list[EventInput]) -> UpsertEventsResult:
        data = catalog.parse_events([_contract_names(dataclasses.asdict(e)) for e in events])
        saved = await catalog.upsert_events(info.context.ctx, data)
        return UpsertEventsSuccess(events=[Event.of(e) for e in saved])
