"""The service's table columns (as `leko-bookings migrate` creates them), for COPY and raw SQL."""

from __future__ import annotations


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


EVENT = _columns(
    "id coach_id sport_id start_at end_at status timeslot_id slot_start_time slot_end_time "
    "capacity slot_type age_from age_to duration price price_currency payment_method address_id "
    "public level eligibility created_at updated_at"
)
ORDER = _columns("id user_id payment_type payment_method_id payment_status created_at")
BOOKING = _columns(
    "id user_id coach_id start_at end_at status price price_currency completed note canceled_at "
    "canceled_by_role cancellation_reason_code cancellation_reason_text dismissed_at "
    "dispute_reason dispute_resolution created_at updated_at event_id order_id"
)
HISTORY = _columns("id booking_id at actor_id actor_role action from_status to_status detail")
NOTIFICATION = _columns(
    "id booking_id rule recipient_id recipient_role status attempts next_attempt_at valid_until "
    "last_error created_at sent_at read_at"
)
SEAT_HOLDING = ("Pending", "Accepted", "InDispute", "DisputeDone")
