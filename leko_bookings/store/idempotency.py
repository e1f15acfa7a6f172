"""Idempotency-Keys of orders (the rules: `resolvers/idempotency.py`): claiming a key, writing its
answer while holding it, letting it go, and purging or erasing keys.

A key is one row, unique per (caller, key), so every process and host sees the same claim: the
claim inserts it or, when it exists, returns it, in one statement; every later change of a key
is a compare-and-set on who holds it (`lease_id`) and its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from tortoise.expressions import Q

from leko_bookings.models import IdempotencyKey, IdempotencyState
from leko_bookings.store.sql import Params, Row, enum_of, positional_decoders

_STATE = enum_of(IdempotencyState)


_RETURNED = (
    "id",
    "fingerprint",
    "state",
    "lease_id",
    "leased_until",
    "expires_at",
    "status_code",
    "order_id",
    "refusal",
    "body",
)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key as stored: who holds it (while Processing) and, once Completed, its answer (the
    columns `_RETURNED`, in order)."""

    id: UUID
    fingerprint: str
    state: IdempotencyState
    lease_id: UUID
    leased_until: datetime
    expires_at: datetime
    status_code: int | None
    order_id: UUID | None
    refusal: str | None
    body: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    """A request's claim on a key: its fingerprint, whom the order is for, until when it holds
    the key, and when the key expires."""

    lease_id: UUID
    fingerprint: str
    subject_id: UUID
    now: datetime
    leased_until: datetime
    expires_at: datetime


def _claimed(lease: Lease) -> dict[str, Any]:
    """A key's columns as `lease` claims it: Processing, no answer yet."""
    return {
        "fingerprint": lease.fingerprint,
        "subject_id": lease.subject_id,
        "state": IdempotencyState.Processing.value,
        "lease_id": lease.lease_id,
        "leased_until": lease.leased_until,
        "created_at": lease.now,
        "expires_at": lease.expires_at,
        "status_code": None,
        "order_id": None,
        "refusal": None,
        "body": None,
    }


def _record(p: Params, row: Row) -> KeyRecord:
    values = [row[c] for c in _RETURNED]
    if not p.postgres:  # SQLite's stored text, decoded as Tortoise reads it
        decoders = positional_decoders(IdempotencyKey, _RETURNED)
        values = [d(v) for d, v in zip(decoders, values, strict=True)]
    values[2] = _STATE[values[2]]
    return KeyRecord(*values)


def _set(p: Params, columns: dict[str, Any]) -> str:
    return ", ".join(f'"{c}" = {p(v)}' for c, v in columns.items())


async def claim(user_id: UUID, key: str, lease: Lease) -> KeyRecord:
    """The caller's key, inserted as Processing under `lease` unless it exists; as it is then
    (the caller's new claim when its `lease_id` is the lease's). One statement: concurrent claims
    of one key queue on its row, and the later ones see the first's (the conflict's update
    changes nothing but returns the row)."""
    p = Params()
    values = {"id": uuid4(), "user_id": user_id, "key": key, **_claimed(lease)}
    columns = ", ".join(f'"{c}"' for c in values)
    returned = ", ".join(f'"{c}"' for c in _RETURNED)
    sql = (
        f'INSERT INTO "idempotency_key" ({columns}) '
        f"VALUES ({', '.join(p(v) for v in values.values())}) "
        'ON CONFLICT ("user_id", "key") DO UPDATE SET "user_id" = excluded."user_id" '
        f"RETURNING {returned}"
    )
    [row] = await p.fetch(sql)  # execute_query would drop an INSERT's RETURNING rows
    return _record(p, row)


async def _changed(record_id: UUID, seen: UUID, columns: dict[str, Any], state: str) -> bool:
    """Change the key's columns only if it is still as seen (held by `seen`, in `state`): a
    compare-and-set, one statement; False when another request changed it first."""
    p = Params()
    sql = (
        f'UPDATE "idempotency_key" SET {_set(p, columns)} WHERE "id" = {p(record_id)} '
        f'AND "lease_id" = {p(seen)} AND "state" = {p(state)} RETURNING "id"'
    )
    return bool(await p.fetch(sql))


async def restart(record: KeyRecord, lease: Lease) -> bool:
    """An expired key starts over as `lease`'s new claim (False: another request did first)."""
    return await _changed(record.id, record.lease_id, _claimed(lease), record.state.value)


async def take_over(record: KeyRecord, lease: Lease) -> bool:
    """A Processing key whose holder's lease ran out is held by `lease` from now on (its first
    request can no longer write an answer); False: another request took it first."""
    held = {"lease_id": lease.lease_id, "leased_until": lease.leased_until}
    return await _changed(record.id, record.lease_id, held, IdempotencyState.Processing.value)


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    order_id: UUID | None
    refusal: str | None
    body: str | None


async def complete(record_id: UUID, lease_id: UUID, answer: Answer) -> bool:
    """The key's answer, written only while `lease_id` still holds it (False: it does not)."""
    kept = {
        "state": IdempotencyState.Completed.value,
        "status_code": answer.status_code,
        "order_id": answer.order_id,
        "refusal": answer.refusal,
        "body": answer.body,
    }
    return await _changed(record_id, lease_id, kept, IdempotencyState.Processing.value)


async def release(record_id: UUID, lease_id: UUID) -> None:
    """The key let go without an answer (nothing kept), if `lease_id` still holds it."""
    await IdempotencyKey.filter(
        id=record_id, lease_id=lease_id, state=IdempotencyState.Processing
    ).delete()


async def purge_expired(now: datetime) -> int:
    """Delete the keys expired at `now`; how many."""
    return int(await IdempotencyKey.filter(expires_at__lte=now).delete())


def _of(user_id: UUID) -> Q:
    return Q(user_id=user_id) | Q(subject_id=user_id)


async def held_of(user_id: UUID) -> bool:
    """Whether a key of the user, or of an order for them, is kept."""
    return await IdempotencyKey.filter(_of(user_id)).exists()


async def erase(user_id: UUID) -> None:
    """Delete every key naming the user: theirs, those of orders for them, and those whose kept
    answer shows them (an order of a coach's events names the coach)."""
    await IdempotencyKey.filter(_of(user_id) | Q(body__contains=str(user_id))).delete()
