"""An order: one or more bookings made together and paid together."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import PaymentStatus, PaymentType


class Order(Model):
    id = fields.UUIDField(primary_key=True)
    user_id = fields.UUIDField()
    payment_type = fields.CharEnumField(PaymentType, max_length=16)
    payment_method_id = fields.UUIDField(null=True)
    payment_status = fields.CharEnumField(PaymentStatus, max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "booking_order"
        indexes = (Index(fields=("user_id", "created_at")),)
