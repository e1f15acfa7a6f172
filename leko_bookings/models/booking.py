"""A booking: one athlete's seat at one event, within an order."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import (
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Currency,
)


class Booking(Model):
    id = fields.UUIDField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Order", related_name="bookings", on_delete=fields.CASCADE, db_index=True
    )
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="bookings", on_delete=fields.RESTRICT
    )
    user_id = fields.UUIDField()
    # Copied from the event (kept in step by the catalog resolver) so the calendar
    # queries by athlete/coach and time use one index.
    coach_id = fields.UUIDField()
    start_at = fields.DatetimeField()
    end_at = fields.DatetimeField()

    status = fields.CharEnumField(BookingStatus, max_length=16)
    price = fields.BigIntField()
    price_currency = fields.CharEnumField(Currency, max_length=8)
    completed = fields.BooleanField(db_default=False)
    note: str | None = fields.TextField(null=True)
    canceled_at = fields.DatetimeField(null=True)
    canceled_by_role = fields.CharEnumField(CanceledByRole, max_length=16, null=True)
    cancellation_reason_code = fields.CharEnumField(
        CancellationReasonCode, max_length=16, null=True
    )
    cancellation_reason_text: str | None = fields.TextField(null=True)
    dismissed_at = fields.DatetimeField(null=True)
    dispute_reason: str | None = fields.TextField(null=True)
    dispute_resolution: str | None = fields.TextField(null=True)
    # A reschedule (resolvers/reschedule.py) links the booking it canceled and the one it made,
    # both ways; not foreign keys: both are the same athlete's and go together when erased.
    rescheduled_to = fields.UUIDField(null=True)
    rescheduled_from = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # serviceCardinality as last settled (`resolvers/ranks.py`): trusted only while no
    # RankStale row names the booking's athlete and coach; NULL when it holds no seat.
    service_rank = fields.IntField(null=True)

    event_id: object
    order_id: object

    class Meta:
        table = "booking"
        indexes = (
            # The calendar (`store/bookings.py: _users_page_sql`): a user's bookings overlapping a
            # month, by start then id; `end_at` is tested in the index, so only the month's rows
            # are read from the table.
            Index(fields=("user_id", "start_at", "id", "end_at")),
            # serviceCardinality where it is counted (a stale athlete and coach, other reads, the
            # settling): an athlete's bookings with one coach up to one booking, by start then
            # id, counted with their status from this index alone (no table rows read).
            Index(fields=("user_id", "coach_id", "start_at", "id", "status")),
            Index(fields=("coach_id", "start_at")),
            Index(fields=("event_id", "status")),
            # The notify run: bookings by status and start (reminders, pending expiry) or end.
            Index(fields=("status", "start_at", "id")),
            Index(fields=("status", "end_at", "id")),
        )


class RankStale(Model):
    """An athlete's bookings with one coach whose stored ranks (`Booking.service_rank`) may be
    out of date: written by the database's triggers (migration `stored_ranks`) in the
    transaction that inserts, deletes, or changes the status, start, coach or athlete of a
    booking; deleted by the settling that renumbers them (`resolvers/ranks.py`)."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.UUIDField()
    coach_id = fields.UUIDField()

    class Meta:
        table = "booking_rank_stale"
        indexes = (Index(fields=("user_id", "coach_id")),)
