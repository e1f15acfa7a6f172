"""An athlete waiting for a seat in a full event (the rules: resolvers/waitlists.py)."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class WaitlistEntry(Model):
    id = fields.UUIDField(primary_key=True)
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Event", related_name="waitlist", on_delete=fields.CASCADE
    )
    user_id = fields.UUIDField()
    # Waiting order: by the moment of joining, then id.
    created_at = fields.DatetimeField()

    event_id: object

    class Meta:
        table = "waitlist_entry"
        unique_together = (("event_id", "user_id"),)
        indexes = (Index(fields=("event_id", "created_at", "id")), Index(fields=("user_id",)))
