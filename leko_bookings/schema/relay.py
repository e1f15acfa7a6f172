"""Relay conventions for every list: `XConnection { edges { cursor node } nodes pageInfo
totalCount }`, forward (`first`/`after`) and backward (`last`/`before`).

Each connection is made from one resolver `Page` in one place (`connection_of`): the nodes are
mapped read models; cursors of edges are made only when `edges` is selected, and `totalCount`
is one COUNT only when selected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from leko_bookings.errors import validation
from leko_bookings.resolvers.common import Page, PageRequest

T = TypeVar("T")
V = TypeVar("V")

DEFAULT_PAGE = 50


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    page_info: PageInfo
    cursors: strawberry.Private[Callable[[], list[str]]]
    count: strawberry.Private[Callable[[], Awaitable[int]] | None]

    @strawberry.field(description="The nodes with their cursors.")
    def edges(self) -> list[Edge[T]]:
        return [
            Edge(cursor=cursor, node=node)
            for cursor, node in zip(self.cursors(), self.nodes, strict=True)
        ]

    @strawberry.field(description="How many items the whole list holds (one COUNT).")
    async def total_count(self) -> int:
        if self.count is None:
            raise validation("This list cannot be counted.")
        return await self.count()


def page_request(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    """A page as GraphQL asks for it: `first` defaults to 50 unless paging backward."""
    if first is None and last is None and before is None:
        first = DEFAULT_PAGE
    return PageRequest(first, after, last, before)


def connection_of(page: Page[V], node: Callable[[V], Any]) -> Connection[Any]:
    """The connection of a resolver's page, each read model mapped by `node`."""
    return Connection(
        nodes=[node(item) for item in page.items],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        cursors=page.cursors,
        count=page.count,
    )
