"""Cross-process locks that are not row locks: one user's writes serialised (PostgreSQL)."""

from __future__ import annotations

import hashlib
from uuid import UUID

from tortoise import BaseDBAsyncClient

# Namespace of the per-user advisory locks (pg_advisory_xact_lock(int, int)).
USER_LOCK_NAMESPACE = 0x4C4B5553


async def lock_user(conn: BaseDBAsyncClient, user_id: UUID) -> None:
    """Serialise one user's writes across processes (PostgreSQL advisory lock, held to commit).

    On SQLite there is one writer and Tortoise runs one transaction at a time: nothing to do.
    """
    if conn.capabilities.dialect != "postgres":
        return
    key = int.from_bytes(hashlib.blake2b(user_id.bytes, digest_size=4).digest(), "big", signed=True)
    await conn.execute_query(
        "SELECT pg_advisory_xact_lock($1::int, $2::int)", [USER_LOCK_NAMESPACE, key]
    )
