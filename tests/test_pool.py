"""The served app's pooled PostgreSQL connections (`db.PooledConnection`): given back without
asyncpg's reset statement, an open transaction still rolled back."""

from __future__ import annotations

import asyncpg
import pytest

from leko_bookings.db import PooledConnection, tortoise_config
from tests.conftest import PG_ADMIN_DSN, PG_ADMIN_URL

pytestmark = pytest.mark.postgres_only


def test_the_served_app_s_pool_uses_pooled_connections() -> None:
    config = tortoise_config(PG_ADMIN_URL, timeout=5)
    credentials = config["connections"]["default"]["credentials"]
    assert credentials["connection_class"] is PooledConnection
    # Migrations and CLI runs keep asyncpg's defaults.
    assert isinstance(tortoise_config(PG_ADMIN_URL)["connections"]["default"], str)


async def test_a_pooled_connection_goes_back_without_a_reset_but_rolled_back() -> None:
    pool = await asyncpg.create_pool(
        PG_ADMIN_DSN, min_size=1, max_size=1, connection_class=PooledConnection
    )
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            # Session state the service never leaves behind: kept, so no RESET ALL ran.
            await conn.execute("SET application_name = 'leko-pool-test'")
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("CREATE TEMPORARY TABLE left_open (x int)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same connection
            assert await conn.fetchval("SHOW application_name") == "leko-pool-test"
            assert not conn.is_in_transaction()  # the open transaction was rolled back
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await pool.close()
