"""The GraphQL request context: the resolver context plus the per-request history loader."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from fastapi import Depends, Request
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from leko_bookings.channels import Channel
from leko_bookings.errors import unauthorized
from leko_bookings.http import current_principal, resolver_context
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import history_of
from leko_bookings.store.views import HistoryEntryView


async def _histories(booking_ids: list[UUID]) -> list[list[HistoryEntryView]]:
    grouped = await history_of(booking_ids)
    return [grouped.get(i, []) for i in booking_ids]


class GraphQLContext(BaseContext):
    def __init__(self, ctx: Context | None, channel: Channel) -> None:
        super().__init__()
        self._ctx = ctx
        self.channel = channel
        self.history: DataLoader[UUID, list[HistoryEntryView]] = DataLoader(load_fn=_histories)

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


async def get_context(
    request: Request, ctx: Annotated[Context | None, Depends(_optional_context)]
) -> GraphQLContext:
    return GraphQLContext(ctx, request.app.state.channel)
