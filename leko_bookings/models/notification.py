"""The notification outbox: one row per (booking, rule, recipient), delivered exactly once."""

from tortoise import fields
from tortoise.indexes import Index, PartialIndex
from tortoise.models import Model

from leko_bookings.models.enums import NotificationStatus, RecipientRole


class Notification(Model):
    # A UUIDv3 of (booking, rule, recipient): the same on every retry; receivers deduplicate on it.
    id = fields.UUIDField(primary_key=True)
    # Not a foreign key: writing a notification never locks its booking (a notify run writes
    # thousands while users change their bookings); erasure deletes them with the booking.
    booking_id = fields.UUIDField()
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

    class Meta:
        table = "notification"
        unique_together = (("booking_id", "rule", "recipient_id"),)
        indexes = (
            # What a run claims; rows written as sent by the run that delivers them stay out.
            PartialIndex(fields=("next_attempt_at",), condition={"status": "Pending"}),
            Index(fields=("recipient_id", "created_at")),
        )
