"""The notification outbox's rules: one notification per (booking, rule, recipient), unique.

A notification's id is a name-based UUID (v3) of its (booking, rule, recipient), computed here
and nowhere else: the same notification always has the same id, whoever writes it and however
often it is retried, so receivers can deduplicate on it and a second write of it is a no-op
(unique key).

Event-driven rules are written by the transaction that changed the booking, pending, and a notify
run delivers them. Time-driven ones are written by the notify run that finds them due, in the
transaction that delivers them (see `Due` and `write_due`). The statements: `store/outbox.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import md5
from uuid import UUID

from leko_bookings.channels import Message
from leko_bookings.models import BookingStatus, CanceledByRole
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.notification_rules import (
    Parties,
    Rule,
    Trigger,
    load_rules,
    recipients_of,
)
from leko_bookings.store import outbox
from leko_bookings.store.outbox import DueBooking, DueOn, DueWindow, NewNotification
from leko_bookings.store.views import NIL

TIME_DRIVEN = (Trigger.before_start, Trigger.after_end)
NAMESPACE = UUID("5d2c1a0e-7f3b-4c56-9a1e-0b8f4e6d2c71")  # of notification ids; never change it
_NAMESPACE_BYTES = NAMESPACE.bytes
# RFC 9562 version 3: the version nibble 0011, the variant bits 10; all others from MD5.
_V3_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V3_SET = (0x3000 << 64) | (0x8000 << 48)
_ACCEPTED = BookingStatus.Accepted.value  # the status of a due booking, as messages show it


def notification_id(booking_id: UUID, rule: str, recipient_id: UUID) -> UUID:
    """The id of the notification of `rule` about a booking for one recipient: the UUIDv3 of
    `<booking>:<rule>:<recipient>` in NAMESPACE, what `uuid.uuid3` returns, in half its time (a
    notify run computes one per notification)."""
    name = f"{booking_id}:{rule}:{recipient_id}".encode()
    digest = md5(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    return UUID(int=(int.from_bytes(digest) & _V3_CLEAR) | _V3_SET)


def active_rules(ctx: Context, *triggers: Trigger) -> list[Rule]:
    rules = load_rules(ctx.settings.notification_rules_file)
    return [r for r in rules if r.enabled and r.trigger in triggers]


def notifications_of(
    rule: Rule,
    booking: Parties,
    until: datetime | None,
    canceled_by_athlete: bool | None = None,
) -> list[NewNotification]:
    """What a rule asks for about one booking: one notification per recipient (none for a party
    erased from it)."""
    return [
        NewNotification(
            notification_id(booking.id, rule.name, who), booking.id, rule.name, who, role, until
        )
        for who, role in recipients_of(rule, booking, canceled_by_athlete)
        if who != NIL
    ]


async def enqueue(
    ctx: Context,
    trigger: Trigger,
    bookings: Sequence[Parties],
    canceled_by: CanceledByRole | None = None,
) -> int:
    """Inside the transaction that changed the bookings: queue what an event-driven rule says."""
    by_athlete = (
        None
        if canceled_by in (None, CanceledByRole.System)
        else canceled_by is CanceledByRole.Athlete
    )
    rows = [
        notification
        for rule in active_rules(ctx, trigger)
        for booking in bookings
        for notification in notifications_of(rule, booking, rule.valid_until(ctx.now), by_athlete)
    ]
    await outbox.add_pending(rows, ctx.now)
    return len(rows)


@dataclass(frozen=True, slots=True)
class Due:
    """The bookings a time-driven rule is due for at a moment (its window), and how long after
    the booking's start (reminders) or end a notification stays worth sending (None: as long as
    the booking qualifies)."""

    rule: Rule
    window: DueWindow
    worth: timedelta | None

    @classmethod
    def of(cls, rule: Rule, now: datetime) -> Due:
        """Due from `due_at` until `due_at + window`; reminders never from the start on."""
        offset = timedelta(minutes=rule.minutes)
        window = timedelta(minutes=rule.window_minutes or 60 * 24 * 365)
        if rule.trigger is Trigger.before_start:
            # start - offset <= now < start - offset + window, and now < start; valid until
            # due + window but never after the start
            low, high = max(now, now + offset - window), now + offset
            worth = min(window - offset, timedelta(0)) if rule.window_minutes else timedelta(0)
            return cls(rule, DueWindow(DueOn.start, low, high, uncompleted=False), worth)
        # end + offset <= now < end + offset + window, while not completed; valid until
        # end + offset + window
        worth_after = offset + window if rule.window_minutes else None
        after_end = DueWindow(DueOn.end, now - offset - window, now - offset, uncompleted=True)
        return cls(rule, after_end, worth_after)

    def valid_until(self, booking: DueBooking) -> datetime | None:
        """Past it, the notification is no longer worth sending (a reminder: at the start)."""
        return None if self.worth is None else self.window.instant(booking) + self.worth


async def write_due(ctx: Context, due: Due, bookings: list[DueBooking]) -> list[Message]:
    """Inside the delivering transaction: write the due notifications of these bookings that no
    run has written yet, as sent by this run (a failed delivery is then recorded as a retry), and
    return them to deliver.

    The store checks the bookings again in the transaction (still Accepted, still due, the same
    parties). A concurrent run writing the same rows waits for this transaction and then skips
    them (the unique key), so each is delivered by one run. Recipients come from the scan: a
    party changed between the scan and this write (an event given to another coach) is skipped
    here and written by the next run, while the rule's window is open."""
    wanted = [(n, b) for b in bookings for n in notifications_of(due.rule, b, due.valid_until(b))]
    written = await outbox.write_sent(due.window, [n for n, _ in wanted], ctx.now)
    return [
        Message(
            id=n.id,
            rule=n.rule,
            booking_id=b.id,
            recipient_id=n.recipient_id,
            recipient_role=n.recipient_role,
            attempt=1,
            created_at=ctx.now,
            event_id=b.event_id,
            start_at=b.start_at,
            end_at=b.end_at,
            booking_status=_ACCEPTED,
        )
        for n, b in wanted
        if n.id in written
    ]
