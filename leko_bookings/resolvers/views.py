"""Derived values the contract shows: an order's status (serviceCardinality's rank is read by
the store with the seat rule of `seats.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from leko_bookings.models import BookingStatus, OrderStatus
from leko_bookings.store.orders import OrderRecord
from leko_bookings.store.views import BookingView, OrderView

_ENDED = {BookingStatus.Canceled, BookingStatus.Rejected}


def order_status(statuses: Sequence[BookingStatus]) -> OrderStatus:
    """Canceled when no booking is left standing; Pending while any awaits the coach."""
    if all(s in _ENDED for s in statuses):
        return OrderStatus.Canceled
    if any(s is BookingStatus.Pending for s in statuses):
        return OrderStatus.Pending
    return OrderStatus.Confirmed


def order_view(
    order: OrderRecord,
    bookings: Sequence[BookingView],
    shown: Sequence[BookingView] | None = None,
) -> OrderView:
    """An order with its status (of all its `bookings`) and the bookings a reader is `shown`
    (default: all)."""
    return OrderView(
        order_id=order.order_id,
        user_id=order.user_id,
        status=order_status([b.booking_status for b in bookings]),
        payment_status=order.payment_status,
        created_at=order.created_at,
        bookings=tuple(bookings if shown is None else shown),
    )
