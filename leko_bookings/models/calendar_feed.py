"""A user's calendar feed: the secret URL their calendar app subscribes to (the rules:
resolvers/calendar_feeds.py). Only the token's SHA-256 is kept; the URL is shown once."""

from tortoise import fields
from tortoise.models import Model


class CalendarFeed(Model):
    id = fields.UUIDField(primary_key=True)
    user_id = fields.UUIDField(unique=True)  # one feed per user: a new one replaces the old
    token_hash = fields.CharField(max_length=64, unique=True)  # hex SHA-256 of the URL's token
    created_at = fields.DatetimeField()

    class Meta:
        table = "calendar_feed"
