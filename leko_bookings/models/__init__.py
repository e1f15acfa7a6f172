"""Tortoise models: data only. Every rule lives in ``leko_bookings.resolvers``."""

from leko_bookings.models.booking import Booking, RankStale
from leko_bookings.models.calendar_feed import CalendarFeed
from leko_bookings.models.enums import (
    ActorRole,
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Currency,
    Eligibility,
    EventStatus,
    HistoryAction,
    IdempotencyState,
    Level,
    NotificationStatus,
    OrderStatus,
    PaymentStatus,
    PaymentType,
    RecipientRole,
    SlotPaymentMethod,
    SlotType,
)
from leko_bookings.models.event import Event
from leko_bookings.models.history import BookingHistory
from leko_bookings.models.idempotency import IdempotencyKey
from leko_bookings.models.notification import Notification
from leko_bookings.models.order import Order
from leko_bookings.models.rate_bucket import RateBucket
from leko_bookings.models.waitlist import WaitlistEntry

__all__ = [
    "ActorRole",
    "Booking",
    "BookingHistory",
    "BookingStatus",
    "CalendarFeed",
    "CanceledByRole",
    "CancellationReasonCode",
    "Currency",
    "Eligibility",
    "Event",
    "EventStatus",
    "HistoryAction",
    "IdempotencyKey",
    "IdempotencyState",
    "Level",
    "Notification",
    "NotificationStatus",
    "Order",
    "OrderStatus",
    "PaymentStatus",
    "PaymentType",
    "RankStale",
    "RateBucket",
    "RecipientRole",
    "SlotPaymentMethod",
    "SlotType",
    "WaitlistEntry",
]
