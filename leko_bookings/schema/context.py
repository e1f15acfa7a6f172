"""The GraphQL request context: the resolver context plus per-request loaders (batched reads)."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cached_property, partial
from typing import Any
from uuid import UUID

import strawberry
from fastapi import Request, Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from leko_bookings.channels import Channel
from leko_bookings.errors import unauthorized
from leko_bookings.http import current_principal, resolver_context
from leko_bookings.resolvers import events, reading, waitlists
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import history_of
from leko_bookings.store.views import BookingView, HistoryEntryView, OrderView, WaitlistSummary

ViewerBookingKey = tuple[UUID, bool]
"""(event id, ranked: whether the booking's serviceCardinality is shown)."""


async def _histories(booking_ids: list[UUID]) -> list[list[HistoryEntryView]]:
    grouped = await history_of(booking_ids)
    return [grouped.get(i, []) for i in booking_ids]


async def _seats_taken(event_ids: list[UUID]) -> list[int]:
    taken = await events.seats_taken(event_ids)
    return [taken.get(i, 0) for i in event_ids]


async def _viewer_bookings(ctx: Context, keys: list[ViewerBookingKey]) -> list[BookingView | None]:
    """One statement for every event of the batch (ranked if any key asks for the rank)."""
    found = await events.viewer_bookings(ctx, [i for i, _ in keys], any(r for _, r in keys))
    return [found.get(i) for i, _ in keys]


async def _waitlists(ctx: Context, event_ids: list[UUID]) -> list[WaitlistSummary]:
    found = await waitlists.summaries(ctx, event_ids)
    return [found[i] for i in event_ids]


class GraphQLContext:
    """What resolvers reach through `info.context`: the caller's resolver context, the HTTP
    request and the response whose headers the answer carries (e.g. Retry-After), the
    notification channel, and per-request loaders."""

    def __init__(
        self,
        ctx: Context | None,
        channel: Channel,
        request: Request | WebSocket | None = None,
        response: Response | None = None,
    ) -> None:
        self._ctx = ctx
        self.request = request
        self.response = response
        self.connection_params: dict[str, object] | None = None  # a WebSocket's connection_init
        self.channel = channel
        self.history: DataLoader[UUID, list[HistoryEntryView]] = DataLoader(load_fn=_histories)
        self.orders: DataLoader[tuple[UUID, bool], OrderView] = DataLoader(load_fn=self._orders)
        self.bookings: DataLoader[UUID, BookingView | None] = DataLoader(load_fn=self._bookings)

    async def _orders(self, keys: list[tuple[UUID, bool]]) -> list[OrderView]:
        """Orders of bookings the caller was shown (Booking.order), keyed by (order id, ranked):
        one statement for them all (and one for the ranks when shown)."""
        found: dict[tuple[UUID, bool], OrderView] = {}
        for ranked in {r for _, r in keys}:
            ids = [i for i, r in keys if r is ranked]
            for order in await reading.orders_by_id(self.ctx, ids, ranked):
                found[order.order_id, ranked] = order
        return [found[key] for key in keys]

    async def _bookings(self, booking_ids: list[UUID]) -> list[BookingView | None]:
        """Bookings by id, those the caller may see (else None: erased or not theirs)."""
        by_id = {b.booking_id: b for b in await reading.bookings_by_id(self.ctx, booking_ids)}
        return [by_id.get(i) for i in booking_ids]

    @cached_property
    def seats_taken(self) -> DataLoader[UUID, int]:
        """Seats taken in events not read with their seats (a booking's event, ...)."""
        return DataLoader(load_fn=_seats_taken)

    @cached_property
    def viewer_booking(self) -> DataLoader[ViewerBookingKey, BookingView | None]:
        """The caller's own seat-holding booking in an event."""
        return DataLoader(load_fn=partial(_viewer_bookings, self.ctx))

    @cached_property
    def waitlist(self) -> DataLoader[UUID, WaitlistSummary]:
        """An event's waitlist length and the caller's place in it."""
        return DataLoader(load_fn=partial(_waitlists, self.ctx))

    def forget_loaded(self) -> None:
        """Drop what the loaders read (a subscription's next message reads again)."""
        for loader in (self.history, self.orders, self.bookings):
            loader.clear_all()
        for cached in ("seats_taken", "viewer_booking", "waitlist"):
            self.__dict__.pop(cached, None)

    def answer_header(self, name: str, value: str) -> None:
        """A header the HTTP answer carries (Retry-After, Idempotent-Replayed); over a WebSocket
        there is none to set."""
        if self.response is not None:
            self.response.headers[name] = value

    @property
    def has_caller(self) -> bool:
        return self._ctx is not None

    def set_caller(self, ctx: Context) -> None:
        """The caller of a WebSocket, known once it sent its token (`connection_init`)."""
        self._ctx = ctx

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            raise unauthorized("Missing bearer token (Authorization: Bearer <JWT>).")
        return self._ctx


Info = strawberry.Info[GraphQLContext, None]


def _is_graphiql_page(request: Request) -> bool:
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    )


async def _optional_context(request: Request) -> Context | None:
    if _is_graphiql_page(request):
        return None  # the IDE page itself holds no data; its queries need a token
    return await resolver_context(request, await current_principal(request))


_CURRENT: ContextVar[GraphQLContext] = ContextVar("leko_graphql_context")


def current() -> GraphQLContext:
    """The GraphQL context of the request being executed (for values built without `info`,
    such as a booking's event, that load what they need only when a query asks)."""
    return _CURRENT.get()


async def new_context(request: Request | WebSocket, response: Any) -> GraphQLContext:
    """The request's GraphQL context: the caller's resolver context (their token checked and
    their request limit taken; none for the GraphiQL page itself), the response whose headers
    the answer carries, and its loaders."""
    ctx = None if isinstance(request, WebSocket) else await _optional_context(request)
    sub_response = response if isinstance(response, Response) else None
    context = GraphQLContext(ctx, request.app.state.channel, request, sub_response)
    _CURRENT.set(context)
    return context
