"""The append-only history of a booking: who did what, when."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import ActorRole, BookingStatus, HistoryAction


class BookingHistory(Model):
    id = fields.UUIDField(primary_key=True)
    booking: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Booking", related_name="history", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor_id = fields.UUIDField(null=True)
    actor_role = fields.CharEnumField(ActorRole, max_length=16)
    action = fields.CharEnumField(HistoryAction, max_length=24)
    from_status = fields.CharEnumField(BookingStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(BookingStatus, max_length=16, null=True)
    detail = fields.TextField(null=True)

    booking_id: object

    class Meta:
        table = "booking_history"
        indexes = (Index(fields=("booking_id", "at")), Index(fields=("actor_id",)))
