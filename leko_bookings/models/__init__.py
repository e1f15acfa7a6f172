"""Tortoise models: data only. Every rule lives in ``leko_bookings.resolvers``."""

from leko_bookings.models.booking import Booking
from leko_bookings.models.enums import (
    SEAT_HOLDING,
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Currency,
    Eligibility,
    EventStatus,
    Level,
    OrderStatus,
    PaymentStatus,
    PaymentType,
    SlotPaymentMethod,
    SlotType,
)
from leko_bookings.models.event import Event
from leko_bookings.models.order import Order

__all__ = [
    "SEAT_HOLDING",
    "Booking",
    "BookingStatus",
    "CanceledByRole",
    "CancellationReasonCode",
    "Currency",
    "Eligibility",
    "Event",
    "EventStatus",
    "Level",
    "Order",
    "OrderStatus",
    "PaymentStatus",
    "PaymentType",
    "SlotPaymentMethod",
    "SlotType",
]
