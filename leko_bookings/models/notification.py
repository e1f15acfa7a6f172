"""The notification outbox: one row per (booking, rule, recipient), delivered exactly once."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import NotificationStatus, RecipientRole


class Notification(Model):
    id = fields.UUIDField(primary_key=True)  # stable across retries: receivers deduplicate on it
    booking: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Booking", related_name="notifications", on_delete=fields.CASCADE
    )
    rule = fields.CharField(max_length=48)
    recipient_id = fields.UUIDField()
    recipient_role = fields.CharEnumField(RecipientRole, max_length=16)
    status = fields.CharEnumField(NotificationStatus, max_length=16)
    attempts = fields.IntField(db_default=0)
    next_attempt_at = fields.DatetimeField()
    valid_until = fields.DatetimeField(null=True)
    last_error: str | None = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)

    booking_id: object

    class Meta:
        table = "notification"
        unique_together = (("booking_id", "rule", "recipient_id"),)
        indexes = (
            Index(fields=("status", "next_attempt_at")),
            Index(fields=("recipient_id", "created_at")),
        )
