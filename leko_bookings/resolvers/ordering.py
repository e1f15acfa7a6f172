"""Ordering: booking one or more events at once (SPEC_NOTES, "Booking rules").

The overbooking rule, the schedule-conflict rule and every other rule of an order live here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from typing import TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field
from tortoise.transactions import in_transaction

from leko_bookings import metrics
from leko_bookings.errors import BookingError, EventRefusal, OrderRefused, validation
from leko_bookings.models import (
    Booking,
    BookingStatus,
    Event,
    EventStatus,
    HistoryAction,
    Order,
    PaymentStatus,
    PaymentType,
)
from leko_bookings.resolvers import idempotency, rate_limits
from leko_bookings.resolvers.access import ensure_acts_for
from leko_bookings.resolvers.common import overlaps
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.history import Actor, actor_of, entry, record
from leko_bookings.resolvers.idempotency import Claim, IdempotencyKeyInUse, Keyed, Replayed
from leko_bookings.resolvers.notification_rules import Trigger
from leko_bookings.resolvers.outbox import enqueue
from leko_bookings.resolvers.seats import (
    SEAT_HOLDING,
    initial_status,
    seats_left,
    too_late,
)
from leko_bookings.resolvers.state_machine import Party
from leko_bookings.resolvers.views import order_view
from leko_bookings.store import bookings as booking_rows
from leko_bookings.store import events as event_rows
from leko_bookings.store import orders as order_rows
from leko_bookings.store import waitlists as waitlist_rows
from leko_bookings.store.events import Commitments
from leko_bookings.store.locks import lock_user
from leko_bookings.store.views import OrderView

PlacedOrKept = OrderView | Replayed


class PaymentMethodInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    type: PaymentType
    method_id: UUID | None = Field(default=None, alias="methodId")


class BookEventsInput(BaseModel):
    """An order request, with the contract's field names as aliases."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    user_id: UUID = Field(alias="userId")
    event_ids: list[UUID] = Field(alias="eventIds")
    payment_method: PaymentMethodInput = Field(alias="paymentMethod")


def _check_request(ctx: Context, data: BookEventsInput) -> None:
    ensure_acts_for(ctx, data.user_id, "order")
    limit = ctx.settings.max_events_per_order
    if not 1 <= len(data.event_ids) <= limit:
        raise validation(f"eventIds must hold between 1 and {limit} event ids.")
    duplicates = [e for e, n in Counter(data.event_ids).items() if n > 1]
    if duplicates:
        raise validation(f"eventIds must be distinct; repeated: {_ids(duplicates)}.")
    payment = data.payment_method
    if payment.type is PaymentType.Card:
        if payment.method_id is None:
            raise validation("paymentMethod.methodId is required when paymentMethod.type is Card.")
        raise validation("Card payments are not enabled yet; pay with paymentMethod.type Cash.")


def _ids(ids: list[UUID]) -> str:
    return ", ".join(str(i) for i in ids)


async def _load_events(data: BookEventsInput) -> dict[UUID, Event]:
    """Lock the requested events' rows in id order (no deadlocks between orders)."""
    events = await event_rows.lock_for_order(data.event_ids)
    missing = [e for e in data.event_ids if e not in events]
    if missing:
        raise validation(f"Unknown event ids: {_ids(missing)}.")
    canceled = [e for e in data.event_ids if events[e].status is EventStatus.Canceled]
    if canceled:
        raise validation(f"These events are canceled and cannot be booked: {_ids(canceled)}.")
    return events


def _refusals(
    ctx: Context, user_id: UUID, events: list[Event], commitments: Commitments
) -> list[EventRefusal]:
    """Per event, the first rule that fails, in the order SPEC_NOTES gives."""
    refusals = []
    for event in events:
        others = [(o.start_at, o.end_at) for o in events if o.id != event.id]
        late = too_late(ctx, event.start_at)
        if late is not None:
            error = late
        elif event.coach_id == user_id:
            error = BookingError.selfBookAttempt
        elif any(
            overlaps(event.start_at, event.end_at, s, e) for s, e in [*others, *commitments.busy]
        ):
            error = BookingError.conflictingUserSchedules
        elif seats_left(event.capacity, commitments.held.get(event.id, 0)) < 1:
            error = BookingError.overbooked
        else:
            continue
        refusals.append(EventRefusal(event.id, error))
    return refusals


def _over_seat_cap(
    ctx: Context, requested: list[Event], refusals: list[EventRefusal], upcoming: int
) -> tuple[list[EventRefusal], str]:
    """The seat cap (OWASP API6: one user must not hold every seat): the requested events beyond
    what the user may still hold in events not started yet, in request order, with the why.

    Checked after the per-event rules, among the events that pass them. Correct across
    processes because the caller holds the user's lock (`lock_user`) while counting.
    """
    cap = ctx.settings.max_upcoming_seats_per_user
    if cap == 0:
        return [], ""
    refused = {r.event_id for r in refusals}
    bookable = [e for e in requested if e.id not in refused]
    beyond = bookable[max(0, cap - upcoming) :]
    if not beyond:
        return [], ""
    why = (
        f" A user may hold at most {cap} seats in events that have not started yet; this user "
        f"holds {upcoming}, so {len(beyond)} of the requested events (reported overbooked) do "
        "not fit."
    )
    return [EventRefusal(e.id, BookingError.overbooked) for e in beyond], why


def booking_refusals(
    ctx: Context, user_id: UUID, requested: list[Event], commitments: Commitments
) -> tuple[list[EventRefusal], str]:
    """Every booking rule over the requested events (rows locked, `commitments` read after the
    locks): the refused ones in request order (empty: all may be booked), and why the seat cap
    refused some (or "")."""
    refusals = _refusals(ctx, user_id, requested, commitments)
    over_cap, why = _over_seat_cap(ctx, requested, refusals, commitments.upcoming)
    by_event = {r.event_id: r for r in [*refusals, *over_cap]}
    return [by_event[e.id] for e in requested if e.id in by_event], why


def new_booking(
    ctx: Context, order_id: UUID, event: Event, user_id: UUID, rescheduled_from: UUID | None = None
) -> Booking:
    """A booking of `event` in an order, its status by the event's slot."""
    return Booking(
        id=uuid4(),
        order_id=order_id,
        event=event,
        user_id=user_id,
        coach_id=event.coach_id,
        start_at=event.start_at,
        end_at=event.end_at,
        status=initial_status(event),
        price=event.price,
        price_currency=event.price_currency,
        completed=False,
        rescheduled_to=None,
        rescheduled_from=rescheduled_from,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


T = TypeVar("T")


async def _counted(placing: Awaitable[T]) -> T:
    """Each order request is counted in the metrics: accepted, or refused and why. A kept answer
    given again, or a key still in use (409), places no order and is not counted."""
    try:
        placed = await placing
    except IdempotencyKeyInUse:
        raise
    except Exception as exc:
        metrics.count_order(exc)
        raise
    if not isinstance(placed, Replayed):
        metrics.count_order()
    return placed


async def book_events(ctx: Context, data: BookEventsInput) -> OrderView:
    """Book every requested event or none; one transaction, rows locked, refusals per event."""
    return await _counted(_book_events(ctx, data))


async def book_events_once(ctx: Context, data: BookEventsInput, keyed: Keyed) -> PlacedOrKept:
    """`book_events` with an Idempotency-Key (resolvers/idempotency.py): the order placed and
    its answer kept, or the answer kept for the key given again (`Replayed`). The rate limit and
    the request's own checks come first: their refusals keep nothing."""
    return await _counted(_book_events_once(ctx, data, keyed))


async def _book_events(ctx: Context, data: BookEventsInput) -> OrderView:
    _check_request(ctx, data)
    await rate_limits.take_order(ctx)  # in a statement of its own: refused orders count too
    return await _place(ctx, data, None)


async def _book_events_once(ctx: Context, data: BookEventsInput, keyed: Keyed) -> PlacedOrKept:
    _check_request(ctx, data)
    idempotency.check_key(keyed.key)
    await rate_limits.take_order(ctx)
    body = idempotency.fingerprint(data.model_dump(mode="json", by_alias=True))
    held = await idempotency.claim(ctx, keyed, body, data.user_id)
    if isinstance(held, Replayed):
        return held
    try:
        return await _place(ctx, data, held)
    except OrderRefused as refusal:
        await idempotency.refused(held, refusal)
        raise
    except Exception:
        await idempotency.release(held)  # nothing kept: the key may be used again
        raise


async def _place(ctx: Context, data: BookEventsInput, held: Claim | None) -> OrderView:
    """The order's transaction; with a claimed key, its answer is kept in it."""
    async with in_transaction() as conn:
        await lock_user(conn, data.user_id)
        events = await _load_events(data)
        requested = [events[i] for i in data.event_ids]
        commitments = await event_rows.commitments(data.user_id, requested, SEAT_HOLDING, ctx.now)
        refusals, why = booking_refusals(ctx, data.user_id, requested, commitments)
        if refusals:
            n, total = len(refusals), len(requested)
            raise OrderRefused(
                f"{n} of the {total} requested events cannot be booked; nothing was booked.{why}",
                refusals=refusals,
            )
        booked = actor_of(
            ctx, Party.athlete if ctx.principal.user_id == data.user_id else Party.admin
        )
        payment = data.payment_method
        order, bookings = await place_bookings(
            ctx, data.user_id, requested, booked, payment.type, payment.method_id
        )
        if commitments.waiting:  # a seat now: no longer waiting for it
            await waitlist_rows.remove_user_from(data.user_id, list(commitments.waiting))
        if held is not None:  # the answer is kept with the order, or neither is written
            placed = await _shown(order, bookings, requested)
            await idempotency.complete(held, placed)
            return placed
    return await _shown(order, bookings, requested)


async def place_bookings(
    ctx: Context,
    user_id: UUID,
    events: list[Event],
    actor: Actor,
    payment_type: PaymentType = PaymentType.Cash,
    payment_method_id: UUID | None = None,
    detail: str | None = None,
) -> tuple[Order, list[Booking]]:
    """Inside the transaction that checked every rule (rows locked): a new order booking these
    events for the user, each booking's status by its slot, its history entry (`Booked` by
    `actor`, with `detail`), and the notifications a new booking sets off."""
    order = Order(
        id=uuid4(),
        user_id=user_id,
        payment_type=payment_type,
        payment_method_id=payment_method_id,
        payment_status=PaymentStatus.Cash,
        created_at=ctx.now,
    )
    await order_rows.create(order)
    bookings = [new_booking(ctx, order.id, event, user_id) for event in events]
    await booking_rows.create(bookings)
    history = [
        entry(b, ctx, actor, HistoryAction.Booked, target=b.status, detail=detail) for b in bookings
    ]
    await record(history)
    await enqueue(ctx, Trigger.booking_created, bookings)
    pending = [b for b in bookings if b.status is BookingStatus.Pending]
    await enqueue(ctx, Trigger.pending_approval, pending)
    return order, bookings


async def _shown(order: Order, bookings: list[Booking], events: list[Event]) -> OrderView:
    views = await booking_rows.views_of(list(zip(bookings, events, strict=True)), SEAT_HOLDING)
    return order_view(order_rows.record_of(order), views)
