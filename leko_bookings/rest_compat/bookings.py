"""The contract's booking paths. Each one parses, calls a resolver, and shapes the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, StrictBool, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from leko_bookings.errors import OrderRefused
from leko_bookings.http import check_traceparent, current_principal, resolver_context
from leko_bookings.resolvers import erasure, idempotency, notify, ordering, reading, records
from leko_bookings.resolvers.common import PageRequest
from leko_bookings.resolvers.context import Context
from leko_bookings.rest_compat.errors import error_response
from leko_bookings.rest_compat.responses import BOOK_EVENT_ERRORS, ERROR, ERRORS, error_responses
from leko_bookings.rest_compat.serialize import Json, booking_json, order_json
from leko_bookings.store.views import OrderView


def _plus_from_query(value: Any) -> Any:
    """An unencoded '+' in a query string arrives as a space: '...10:00:00 03:00' means +03:00."""
    if isinstance(value, str) and len(value) > 6 and value[-6] == " " and value[-3] == ":":
        return value[:-6] + "+" + value[-5:]
    return value


Instant = Annotated[datetime | None, BeforeValidator(_plus_from_query), Query()]


async def rest_context(request: Request) -> Context:
    """The caller first (401, then 429), then the trace header (400), then the parameters.
    One dependency, not a chain: FastAPI's solving costs per dependency on every request."""
    ctx = await resolver_context(request, await current_principal(request))
    await check_traceparent(request)
    return ctx


RestCtx = Annotated[Context, Depends(rest_context)]
router = APIRouter()


@router.post(
    "/bookings/notify", status_code=204, responses=error_responses({400: ERRORS, 500: None})
)
async def notify_bookings(ctx: RestCtx, request: Request) -> Response:
    await notify.notify_bookings(ctx, request.app.state.channel)
    return Response(status_code=204)


async def _method_not_allowed(request: Request) -> Response:
    raise StarletteHTTPException(405)


# `/bookings/notify` is a resource of its own (POST only): without this, GET on it would be read
# as GET /bookings/{bookingId} with the id "notify" (400) rather than answer 405.
router.add_route("/bookings/notify", _method_not_allowed, methods=["GET"], include_in_schema=False)


class _Answers:
    """The bytes this transport answers an order and a refusal with, kept with the key; an
    order's are rendered once, for the key and for the answer."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.order_bytes: bytes | None = None

    def order(self, view: OrderView) -> bytes:
        self.order_bytes = bytes(Json(order_json(view)).body)
        return self.order_bytes

    def refusal(self, refusal: OrderRefused) -> bytes:
        return bytes(error_response(self.request, refusal).body)


async def _replayed(ctx: Context, request: Request, kept: idempotency.Replayed) -> Response:
    """A key's kept answer again: the bytes first sent; for a key first used over GraphQL (no
    bytes kept), the refusal, or the order as it is now."""
    headers = {idempotency.REPLAYED_HEADER: "true"}
    if kept.body is not None:
        return Response(kept.body, kept.status_code, headers, media_type="application/json")
    if kept.refusal is not None:
        return error_response(request, kept.refusal, headers)
    view = await idempotency.replayed_order(ctx, kept)
    return Json(order_json(view), status_code=201, headers=headers)


@router.post("/bookings", status_code=201, responses=error_responses({400: BOOK_EVENT_ERRORS}))
async def book_events(
    ctx: RestCtx,
    request: Request,
    body: ordering.BookEventsInput,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    if key is None:
        return Json(order_json(await ordering.book_events(ctx, body)), status_code=201)
    answers = _Answers(request)
    keyed = idempotency.Keyed(key, idempotency.Rendering(answers.order, answers.refusal))
    placed = await ordering.book_events_once(ctx, body, keyed)
    if isinstance(placed, idempotency.Replayed):
        return await _replayed(ctx, request, placed)
    assert answers.order_bytes is not None  # rendered once, when kept with the order
    return Response(answers.order_bytes, 201, media_type="application/json")


@router.get("/bookings/orders", responses=error_responses({400: ERRORS}))
async def get_user_booking_orders(
    ctx: RestCtx, userId: Annotated[UUID, Query()], startAt: Instant = None, endAt: Instant = None
) -> Json:
    page = await reading.list_orders(ctx, reading.OrderFilter(userId, startAt, endAt))
    return Json([order_json(o) for o in page.items])


@router.get("/bookings/{bookingId}", responses=error_responses({400: ERRORS, 404: ERROR}))
async def get_booking_by_id(ctx: RestCtx, bookingId: UUID) -> Json:
    return Json(booking_json(await reading.get_booking(ctx, bookingId)))


@router.get("/bookings", responses=error_responses({400: ERRORS}))
async def get_bookings(
    ctx: RestCtx,
    userId: Annotated[UUID | None, Query()] = None,
    eventId: Annotated[UUID | None, Query()] = None,
    startAt: Instant = None,
    endAt: Instant = None,
) -> Json:
    query = reading.BookingFilter(userId, eventId, startAt, endAt, PageRequest())
    page = await reading.list_bookings(ctx, query)
    return Json([booking_json(b) for b in page.items])


class CompletedBody(BaseModel):
    completed: StrictBool


class NoteBody(BaseModel):
    note: StrictStr


@router.patch(
    "/bookings/{bookingId}/completed", responses=error_responses({400: ERRORS, 404: ERROR})
)
async def mark_booking_as_completed(ctx: RestCtx, bookingId: UUID, body: CompletedBody) -> Json:
    return Json(booking_json(await records.mark_completed(ctx, bookingId, body.completed)))


@router.patch("/bookings/{bookingId}/note", responses=error_responses({400: ERRORS, 404: ERROR}))
async def add_booking_note(ctx: RestCtx, bookingId: UUID, body: NoteBody) -> Json:
    return Json(booking_json(await records.add_note(ctx, bookingId, body.note)))


@router.post(
    "/bookings/{bookingId}/dismiss",
    status_code=204,
    responses=error_responses({400: ERRORS, 403: ERRORS, 404: ERROR}),
)
async def dismiss_booking(
    ctx: RestCtx, bookingId: UUID, userId: Annotated[UUID, Query()]
) -> Response:
    await records.dismiss_booking(ctx, bookingId, userId)
    return Response(status_code=204)


@router.delete(
    "/users",
    status_code=204,
    responses=error_responses({400: ERRORS, 403: ERRORS, 404: ERRORS}),
)
async def delete_user_from_bookings(
    ctx: RestCtx,
    current_user_id: Annotated[UUID, Header(alias="x-current-user-id")],
    userId: Annotated[UUID | None, Query()] = None,
) -> Response:
    await erasure.erase_user(ctx, current_user_id, userId)
    return Response(status_code=204)
