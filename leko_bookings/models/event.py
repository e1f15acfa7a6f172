"""A coach's event with its one time slot (our catalog of another service's events)."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import (
    Currency,
    Eligibility,
    EventStatus,
    Level,
    SlotPaymentMethod,
    SlotType,
)


class Event(Model):
    id = fields.UUIDField(primary_key=True)
    coach_id = fields.UUIDField()
    sport_id = fields.UUIDField()
    start_at = fields.DatetimeField()
    end_at = fields.DatetimeField()
    status = fields.CharEnumField(EventStatus, max_length=16, db_default=EventStatus.Scheduled)

    # The time slot (contract `TimeSlot`): one per event, so kept on the event row.
    timeslot_id = fields.UUIDField()
    slot_start_time = fields.CharField(max_length=32)
    slot_end_time = fields.CharField(max_length=32)
    capacity = fields.IntField()
    slot_type = fields.CharEnumField(SlotType, max_length=16)
    age_from = fields.SmallIntField()
    age_to = fields.SmallIntField()
    duration = fields.IntField()
    price = fields.BigIntField()
    price_currency = fields.CharEnumField(Currency, max_length=8)
    payment_method = fields.CharEnumField(SlotPaymentMethod, max_length=16)
    address_id = fields.UUIDField(null=True)
    public = fields.BooleanField(null=True)
    level = fields.CharEnumField(Level, max_length=16, null=True)
    eligibility = fields.CharEnumField(Eligibility, max_length=16, null=True)

    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Writes of the row since it was created (a catalog change, a cancellation, an erasure):
    # with its bookings' history, what the calendar feeds' SEQUENCE counts.
    revision = fields.IntField(db_default=0)

    class Meta:
        table = "event"
        indexes = (Index(fields=("coach_id", "start_at")),)
