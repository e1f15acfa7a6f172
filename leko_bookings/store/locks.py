"""Cross-process locks that are not row locks: one user's writes serialised (PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from tortoise import BaseDBAsyncClient

# Namespace of the per-user advisory locks (pg_advisory_xact_lock(int, int)).
USER_LOCK_NAMESPACE = 0x4C4B5553


def _key(user_id: UUID) -> int:
    digest = hashlib.blake2b(user_id.bytes, digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_user(conn: BaseDBAsyncClient, user_id: UUID) -> None:
    """Serialise one user's writes across processes (PostgreSQL advisory lock, held to commit).

    On SQLite there is one writer and Tortoise runs one transaction at a time: nothing to do.
    """
    await lock_users(conn, [user_id])


async def lock_users(conn: BaseDBAsyncClient, user_ids: Iterable[UUID]) -> None:
    """`lock_user` for several users, in the order of their lock keys: two transactions locking
    overlapping sets never each hold what the other waits for (two users may share a key)."""
    if conn.capabilities.dialect != "postgres":
        return
    for key in sorted({_key(u) for u in user_ids}):
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock($1::int, $2::int)", [USER_LOCK_NAMESPACE, key]
        )


async def try_lock_user(conn: BaseDBAsyncClient, user_id: UUID) -> bool:
    """`lock_user` if nobody else holds the lock now (never waits); whether it is held."""
    if conn.capabilities.dialect != "postgres":
        return True
    _, rows = await conn.execute_query(
        "SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS held",
        [USER_LOCK_NAMESPACE, _key(user_id)],
    )
    return bool(rows[0]["held"])
