"""GraphQL enums: the models' and errors' own enums, registered once, before any type uses them.

Strawberry registers an enum on the class itself, so annotations use the Python enums directly.
Import this module before a module that annotates with them (a plain enum met first would be
registered under its Python name).
"""

from __future__ import annotations

import strawberry

from leko_bookings import models
from leko_bookings.auth import Role
from leko_bookings.errors import BookingError, ErrorCode

for _enum in (
    models.BookingStatus,
    models.EventStatus,
    models.CanceledByRole,
    models.CancellationReasonCode,
    models.SlotType,
    models.Level,
    models.Eligibility,
    models.Currency,
    models.SlotPaymentMethod,
    models.PaymentType,
    models.PaymentStatus,
    models.OrderStatus,
    models.ActorRole,
    models.HistoryAction,
    models.NotificationStatus,
    models.RecipientRole,
    ErrorCode,
    Role,
):
    strawberry.enum(_enum)
strawberry.enum(BookingError, name="BookingErrorCode")
