"""Orders: writing one, and a user's orders by creation time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.queryset import QuerySet

from leko_bookings.models import Order, PaymentStatus
from leko_bookings.store.sql import insert, paginate_after


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order's own columns (its bookings and status are read and derived beside it)."""

    order_id: UUID
    user_id: UUID
    payment_status: PaymentStatus
    created_at: datetime


def record_of(order: Order) -> OrderRecord:
    return OrderRecord(order.id, order.user_id, order.payment_status, order.created_at)


async def create(order: Order) -> None:
    await insert([order])


async def list_orders(
    user_id: UUID,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime | None, UUID | None, int | None, bool],
) -> list[OrderRecord]:
    """A user's orders created in [start, end), newest first, after a page's (moment, id),
    at most its limit."""
    query = _selected(user_id, start, end)
    return [record_of(o) for o in await paginate_after(query, "created_at", True, *after)]


async def count_orders(user_id: UUID, start: datetime | None, end: datetime | None) -> int:
    return await _selected(user_id, start, end).count()


def _selected(user_id: UUID, start: datetime | None, end: datetime | None) -> QuerySet[Order]:
    query = Order.filter(user_id=user_id)
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lt=end)
    return query
