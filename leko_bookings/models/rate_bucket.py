"""A token bucket of one rate limit and one caller (the rule: resolvers/rate_limits.py)."""

from tortoise import fields
from tortoise.models import Model


class RateBucket(Model):
    # `<limit>:<user id>`, e.g. `all:6f1c…` or `orders:6f1c…`.
    key = fields.CharField(max_length=64, primary_key=True)
    # Tokens left at `refilled_at`; from then on the bucket refills continuously up to its burst.
    tokens = fields.FloatField()
    # Unix time in seconds (a float, not a timestamp): the refill is plain arithmetic, the same
    # SQL on both databases, exact to the microsecond (`to_timestamp(refilled_at)` to read it).
    refilled_at = fields.FloatField()

    class Meta:
        table = "rate_bucket"
