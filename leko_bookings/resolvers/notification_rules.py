"""Notification rules as data (SPEC_NOTES, "Notifications"): defaults here, a file may override.

A rule says when a notification is due (its trigger, an offset), to whom, and how long it stays
worth sending (its window): a reminder whose moment has passed is not sent late.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from leko_bookings.models import RecipientRole


class Trigger(StrEnum):
    booking_created = "bookingCreated"  # event-driven: the order's transaction
    pending_approval = "pendingApproval"  # event-driven: a booking created Pending
    booking_canceled = "bookingCanceled"  # event-driven: the cancel's transaction
    booking_rescheduled = "bookingRescheduled"  # event-driven: the reschedule's transaction
    waitlist_promoted = "waitlistPromoted"  # event-driven: the transaction that freed the seat
    pending_expired = "pendingExpired"  # the notify run cancels a Pending booking at its start
    before_start = "beforeStart"  # time-driven: `minutes` before the start
    after_end = "afterEnd"  # time-driven: `minutes` after the end, while not completed


class Recipient(StrEnum):
    athlete = "athlete"
    coach = "coach"
    other_party = "otherParty"  # of a cancellation: whoever did not cancel


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_.-]+$")
    trigger: Trigger
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    minutes: int = Field(default=0, ge=0, le=60 * 24 * 60)
    window_minutes: int | None = Field(default=None, alias="windowMinutes", ge=1)
    enabled: bool = True

    def valid_until(self, due: datetime) -> datetime | None:
        return due + timedelta(minutes=self.window_minutes) if self.window_minutes else None


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(name="bookingCreated", trigger=Trigger.booking_created, recipients=(Recipient.coach,)),
    Rule(
        name="bookingPendingApproval",
        trigger=Trigger.pending_approval,
        recipients=(Recipient.coach,),
    ),
    Rule(
        name="bookingCanceled",
        trigger=Trigger.booking_canceled,
        recipients=(Recipient.other_party,),
    ),
    # To the coach of the new booking, and to the old one's when another coach's (both
    # bookings queue it; resolvers/reschedule.py).
    Rule(
        name="bookingRescheduled",
        trigger=Trigger.booking_rescheduled,
        recipients=(Recipient.coach,),
    ),
    # To the athlete booked from an event's waitlist (resolvers/waitlists.py: promote).
    Rule(
        name="waitlistPromoted",
        trigger=Trigger.waitlist_promoted,
        recipients=(Recipient.athlete,),
    ),
    # Sent from 24 h before until 12 h before; later it would no longer be "tomorrow".
    Rule(
        name="reminder24h",
        trigger=Trigger.before_start,
        recipients=(Recipient.athlete, Recipient.coach),
        minutes=24 * 60,
        window_minutes=12 * 60,
    ),
    # Sent from 1 h before until the start; never after it.
    Rule(
        name="reminder1h",
        trigger=Trigger.before_start,
        recipients=(Recipient.athlete, Recipient.coach),
        minutes=60,
        window_minutes=60,
    ),
    # Asked for from the end for a week, while the session is not marked completed.
    Rule(
        name="completionDue",
        trigger=Trigger.after_end,
        recipients=(Recipient.coach,),
        window_minutes=7 * 24 * 60,
    ),
    Rule(name="pendingExpired", trigger=Trigger.pending_expired, recipients=(Recipient.athlete,)),
)

_RULES = TypeAdapter(tuple[Rule, ...])


@cache
def load_rules(path: Path | None) -> tuple[Rule, ...]:
    """The defaults, or the rules of a JSON file (an array of rules) replacing them."""
    if path is None:
        return DEFAULT_RULES
    try:
        rules = _RULES.validate_python(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"notification rules file {path}: {exc}") from exc
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError(f"notification rules file {path}: rule names must be unique")
    return rules


class Parties(Protocol):
    """A booking as a rule addresses it (a model or a read model): its id, athlete and coach."""

    @property
    def id(self) -> UUID: ...

    @property
    def user_id(self) -> UUID: ...

    @property
    def coach_id(self) -> UUID: ...


def recipients_of(
    rule: Rule, booking: Parties, canceled_by_athlete: bool | None = None
) -> list[tuple[UUID, RecipientRole]]:
    """(user id, role) pairs a rule addresses for a booking."""
    found: list[tuple[UUID, RecipientRole]] = []
    for recipient in rule.recipients:
        if recipient is Recipient.athlete or (
            recipient is Recipient.other_party and canceled_by_athlete is not True
        ):
            found.append((booking.user_id, RecipientRole.Athlete))
        if recipient is Recipient.coach or (
            recipient is Recipient.other_party and canceled_by_athlete is not False
        ):
            found.append((booking.coach_id, RecipientRole.Coach))
    return list(dict.fromkeys(found))
