"""Idempotency-Keys of orders (issue 17), as draft-ietf-httpapi-idempotency-key-header has them.

A key is the caller's (the token's subject) and names one order request: the first request with
it claims it; its answer (201 with the order, or 400 with the refusals) is kept with the
fingerprint of its body, and the same key with the same body answers it again, booking nothing,
until the key expires (`LEKO_IDEMPOTENCY_TTL_HOURS`). The same key with another body is refused
(422); while the first request still runs, another one with the key is told to retry (409,
Retry-After). Other answers (401, 403, 429, a validation error that is not a refusal, 5xx) keep
nothing: the key is let go and may be used again.

Across processes and hosts (`store/idempotency.py`): the claim is a row unique per (caller, key),
written (committed) by a statement of its own before the order, so a concurrent request sees it;
taking over or restarting a key is a compare-and-set on the row.
A 201's answer is written in the order's own transaction, only while the request still holds
the key: an order and its kept answer commit together or not at all. A process that dies
mid-request leaves the key Processing; it holds the key for `LEASE`, after which the next
request with the key takes it over and places the order (the first one booked nothing: its
transaction never committed). A first request still alive after its lease finds the key taken
when it comes to write its answer: its order is rolled back and it answers 409.

The fingerprint is the SHA-256 of the parsed body as canonical JSON (the contract's field names,
keys sorted, no spaces, absent optional fields as null): the same order sent over REST or
GraphQL, with fields in any order or spacing, is the same body.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from leko_bookings.errors import (
    BookingError,
    DomainError,
    ErrorCode,
    EventRefusal,
    OrderRefused,
    validation,
)
from leko_bookings.models import IdempotencyState
from leko_bookings.resolvers import reading
from leko_bookings.resolvers.context import Context
from leko_bookings.store import idempotency as key_rows
from leko_bookings.store.idempotency import Answer, KeyRecord, Lease
from leko_bookings.store.views import OrderView

# How long a request holds its key before another may take it over (its process died): longer
# than any order takes, short enough that a crash does not block the key for long.
LEASE = timedelta(seconds=30)
RETRY_AFTER_SECONDS = 1  # an order takes milliseconds: retry soon
MAX_KEY_LENGTH = 255
_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # MAX_KEY_LENGTH
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyInUse(DomainError):
    """409: another request with this key is still being answered; retry after `retry_after`."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.tooManyRequests,
            "A request with this Idempotency-Key is still being processed; retry after "
            f"{RETRY_AFTER_SECONDS} second(s) to get its answer.",
        )
        self.retry_after = RETRY_AFTER_SECONDS

    @property
    def status(self) -> int:
        return 409

    @property
    def extensions(self) -> dict[str, Any]:
        return super().extensions | {"retryAfter": self.retry_after, "status": 409}


class IdempotencyKeyReused(DomainError):
    """422: the key was used for a request with another body."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.validation,
            "This Idempotency-Key was used for an order with a different body; use a new key "
            "for a new order.",
        )

    @property
    def status(self) -> int:
        return 422

    @property
    def extensions(self) -> dict[str, Any]:
        return super().extensions | {"status": 422}


def check_key(key: str) -> None:
    if not _KEY.fullmatch(key):
        raise validation(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )


def fingerprint(body: Any) -> str:
    """SHA-256 (hex) of a parsed body as canonical JSON."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Rendering:
    """How a transport answers an order and a refusal (the bytes it sends), kept with the key
    so that a replay on that transport sends the very same bytes."""

    order: Callable[[OrderView], bytes]
    refusal: Callable[[OrderRefused], bytes]


@dataclass(frozen=True, slots=True)
class Keyed:
    """An order request's key, and how its transport answers (None: nothing to keep but the
    order's id and the refusals, as for GraphQL)."""

    key: str
    rendering: Rendering | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """The caller's hold on a key while their order runs."""

    record_id: UUID
    lease_id: UUID
    rendering: Rendering | None


@dataclass(frozen=True, slots=True)
class Replayed:
    """A kept answer: 201 with `order_id`, or 400 with `refusal`; `body`, the bytes the REST
    transport sent (None when the first request came over GraphQL)."""

    status_code: int
    body: bytes | None
    order_id: UUID | None
    refusal: OrderRefused | None


async def claim(ctx: Context, keyed: Keyed, body_print: str, subject_id: UUID) -> Claim | Replayed:
    """Claim the caller's key for an order (body fingerprint `body_print`) for `subject_id`; or
    the answer kept for it; or 422 (another body), 409 (still being answered). A statement or
    two, each atomic on its own: no transaction."""
    now = ctx.now
    expires = now + timedelta(hours=ctx.settings.idempotency_ttl_hours)
    lease = Lease(uuid4(), body_print, subject_id, now, now + LEASE, expires)
    found = await key_rows.claim(ctx.principal.user_id, keyed.key, lease)
    mine = Claim(found.id, lease.lease_id, keyed.rendering)
    if found.lease_id == lease.lease_id:
        return mine
    if found.expires_at <= now:
        if await key_rows.restart(found, lease):
            return mine
        raise IdempotencyKeyInUse()  # another request with the key restarted it first
    if found.fingerprint != body_print:
        raise IdempotencyKeyReused()
    if found.state is IdempotencyState.Completed:
        return _replayed(found)
    if found.leased_until <= now and await key_rows.take_over(found, lease):  # its holder died
        return mine
    raise IdempotencyKeyInUse()


async def complete(held: Claim, view: OrderView) -> None:
    """Inside the order's transaction: keep its answer, or (another request took the key over)
    refuse with 409 so the order is rolled back."""
    body = held.rendering.order(view).decode() if held.rendering else None
    answer = Answer(201, view.order_id, None, body)
    if not await key_rows.complete(held.record_id, held.lease_id, answer):
        raise IdempotencyKeyInUse()


async def refused(held: Claim, refusal: OrderRefused) -> None:
    """After the refused order rolled back: keep the refusal (400) as the key's answer."""
    kept = {
        "message": refusal.message,
        "refusals": [[str(r.event_id), r.booking_error.value] for r in refusal.refusals],
    }
    body = held.rendering.refusal(refusal).decode() if held.rendering else None
    answer = Answer(400, None, json.dumps(kept), body)
    await key_rows.complete(held.record_id, held.lease_id, answer)


async def release(held: Claim) -> None:
    """The order ended in an answer that is not kept: let the key go."""
    await key_rows.release(held.record_id, held.lease_id)


def _replayed(found: KeyRecord) -> Replayed:
    refusal = None
    if found.refusal is not None:
        kept = json.loads(found.refusal)
        refusals = [EventRefusal(UUID(e), BookingError(code)) for e, code in kept["refusals"]]
        refusal = OrderRefused(kept["message"], refusals=refusals)
    body = None if found.body is None else found.body.encode()
    return Replayed(found.status_code or 0, body, found.order_id, refusal)


async def replayed_order(ctx: Context, replay: Replayed) -> OrderView:
    """The order a kept 201 names, as it is now (for a transport that kept no body)."""
    assert replay.order_id is not None
    [order] = await reading.orders_by_id(ctx, [replay.order_id])
    return order


async def purge_expired(ctx: Context) -> int:
    """The notify run: delete the keys that expired; how many."""
    return await key_rows.purge_expired(ctx.now)
