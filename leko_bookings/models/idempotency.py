"""An Idempotency-Key of an order (the rules: resolvers/idempotency.py): one row per (caller, key),
claimed before the order runs, its answer kept for replays until it expires."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from leko_bookings.models.enums import IdempotencyState


class IdempotencyKey(Model):
    id = fields.UUIDField(primary_key=True)
    user_id = fields.UUIDField()  # the caller (the token's subject): keys are theirs alone
    key = fields.CharField(max_length=255)
    # SHA-256 (hex) of the parsed request body, canonical JSON: the same key with another body is
    # refused.
    fingerprint = fields.CharField(max_length=64)
    subject_id = fields.UUIDField()  # whom the order is for (its userId): erasing them erases it
    state = fields.CharEnumField(IdempotencyState, max_length=16)
    # The request holding the key while Processing, until `leased_until` (then another may take
    # it over: its holder died); its answer is written only while it still holds it.
    lease_id = fields.UUIDField()
    leased_until = fields.DatetimeField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()  # created_at + LEKO_IDEMPOTENCY_TTL_HOURS
    # The answer, once Completed: 201 with the order, or 400 with the refusals (JSON: message and
    # [eventId, bookingError] pairs); `body`, the bytes the REST transport answered (None when
    # the first request came over GraphQL).
    status_code = fields.SmallIntField(null=True)
    order_id = fields.UUIDField(null=True)
    refusal: str | None = fields.TextField(null=True)
    body: str | None = fields.TextField(null=True)

    class Meta:
        table = "idempotency_key"
        unique_together = (("user_id", "key"),)
        indexes = (Index(fields=("expires_at",)), Index(fields=("subject_id",)))
