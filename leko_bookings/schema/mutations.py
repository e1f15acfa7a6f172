"""Mutations: each calls a resolver; domain errors become typed members of its result union."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import strawberry
from pydantic.alias_generators import to_camel

from leko_bookings.resolvers import catalog, ordering
from leko_bookings.resolvers.idempotency import (
    REPLAYED_HEADER,
    IdempotencyKeyInUse,
    Keyed,
    Replayed,
    replayed_order,
)
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


KEY = (
    "Makes the order safe to retry (as POST /bookings's Idempotency-Key header): 1 to 255 "
    "printable ASCII characters, the caller's own. The same key with the same order answers the "
    "first answer again (the order as it is now, or the same BookingRefused) and books nothing, "
    "with the HTTP header Idempotent-Replayed: true; with another order: a GraphQL error (code "
    "validation, status 422); while the first is still being answered: a GraphQL error (code "
    "tooManyRequests, status 409, retryAfter)."
)


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
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY)] = None,
    ) -> BookEventsResult:
        ctx = info.context.ctx
        data = ordering.BookEventsInput(
            user_id=user_id,
            event_ids=event_ids,
            payment_method=ordering.PaymentMethodInput(
                type=payment_method.type, method_id=payment_method.method_id
            ),
        )
        if idempotency_key is None:
            return BookingOrder.of(await ordering.book_events(ctx, data))
        try:
            placed = await ordering.book_events_once(ctx, data, Keyed(idempotency_key))
        except IdempotencyKeyInUse as busy:
            info.context.answer_header("Retry-After", str(busy.retry_after))
            raise
        if isinstance(placed, Replayed):
            info.context.answer_header(REPLAYED_HEADER, "true")
            if placed.refusal is not None:
                raise placed.refusal
            return BookingOrder.of(await replayed_order(ctx, placed))
        return BookingOrder.of(placed)

    @strawberry.mutation(
        description="Create or replace catalog events by eventId (admin, scheduler)."
    )
    async def upsert_events(self, info: Info, events: list[EventInput]) -> UpsertEventsResult:
        data = catalog.parse_events([_contract_names(dataclasses.asdict(e)) for e in events])
        saved = await catalog.upsert_events(info.context.ctx, data)
        return UpsertEventsSuccess(events=[Event.of(e) for e in saved])
