"""Finding objects: by global id (`node`, `nodes`), an order by id, and who is signed in.

Someone else's object is null, with no error that would reveal it exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import strawberry

from leko_bookings.auth import Role
from leko_bookings.errors import NotFound, validation
from leko_bookings.resolvers import inbox, reading
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names
from leko_bookings.schema.context import Info
from leko_bookings.schema.node import Node, parse_global_id
from leko_bookings.schema.notifications import Notification
from leko_bookings.schema.types import Booking, BookingOrder

MAX_NODES = 100

Finder = Callable[[Info, UUID], Awaitable[Any]]
FINDERS: dict[str, Finder] = {}  # type name -> how to find one (Event's is added by its module)


def finder(type_name: str) -> Callable[[Finder], Finder]:
    def register(find: Finder) -> Finder:
        FINDERS[type_name] = find
        return find

    return register


@finder("Booking")
async def _booking(info: Info, booking_id: UUID) -> Booking:
    return Booking.of(await reading.get_booking(info.context.ctx, booking_id))


@finder("BookingOrder")
async def _order(info: Info, order_id: UUID) -> BookingOrder:
    return BookingOrder.of(await reading.get_order(info.context.ctx, order_id))


@finder("Notification")
async def _notification(info: Info, notification_id: UUID) -> Notification:
    return Notification.of(await inbox.get_notification(info.context.ctx, notification_id))


async def find(info: Info, global_id: str) -> Node | None:
    """The object of a global id if the caller may see it; else None (not found, not theirs)."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] not in FINDERS:
        info.context.ctx  # noqa: B018 - still a signed-in request (401 otherwise)
        return None
    try:
        found: Node = await FINDERS[parsed[0]](info, parsed[1])
    except NotFound:
        return None
    return found


@strawberry.type(description="The signed-in user.")
class Viewer:
    user_id: UUID
    roles: list[Role]


@strawberry.type
class LookupQuery:
    @strawberry.field(description="Any object by its global id; null if it is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await find(info, id)

    @strawberry.field(description=f"Objects by global id, in order (at most {MAX_NODES}).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise validation(f"Give at most {MAX_NODES} ids.")
        return [await find(info, i) for i in ids]

    @strawberry.field(description="An order, if it is yours (or you operate); else null.")
    async def order(self, info: Info, order_id: UUID) -> BookingOrder | None:
        try:
            return await _order(info, order_id)
        except NotFound:
            return None

    @strawberry.field(description="The signed-in user.")
    def viewer(self, info: Info) -> Viewer | None:
        principal = info.context.ctx.principal
        return Viewer(user_id=principal.user_id, roles=sorted(principal.roles))
