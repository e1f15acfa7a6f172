"""Behind PgBouncer (issue 15): the URL's asyncpg options, statements without a name, and the
migration lock, through a real PgBouncer in transaction mode (tests/pgbouncer.py).

The served app's behaviour through it (50 orders for 3 seats, rate limits, overlapping notify
runs on 2 workers) is tested where the direct variants are: test_concurrency, test_rate_limits,
test_notify_delivery.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from leko_bookings.db import (
    LOCK_TIMEOUT_GRACE_SECONDS,
    MIGRATION_LOCK_KEY,
    BoundedAsyncpgClient,
    MigrationLockTimeout,
    asyncpg_connect_kwargs,
    asyncpg_dsn,
    migrate,
    migrations_dir,
    tortoise_config,
    without_statement_cache,
)
from tests.conftest import PG_ADMIN_DSN, SECRET, create_pg_database, drop_pg_database, pg_url
from tests.live_server import free_port
from tests.pgbouncer import Bouncer, pgbouncer, requires_pgbouncer

pytestmark = [pytest.mark.postgres_only, requires_pgbouncer]

MIGRATIONS = sorted(p.name for p in (migrations_dir("postgres") / "models").glob("*.py"))


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    with pgbouncer("transaction") as running:
        yield running


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """An empty database of its own; its name."""
    name = f"leko_pgb_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    try:
        yield name
    finally:
        await drop_pg_database(name)


def direct_dsn(name: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """`leko-bookings <args>` in a process of its own, as an operator runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEKO_")}
    return subprocess.Popen(
        [sys.executable, "-m", "leko_bookings.cli", *args],
        env={**clean, "AERICH_NO_TORTOISE_V1_WARNING": "1", "LEKO_JWT_SECRET": SECRET, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def finished(*procs: subprocess.Popen) -> list[tuple[int, str, str]]:
    """Each process's exit status, output and errors, once all have ended."""
    outputs = await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=120) for p in procs))
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]


async def aerich_versions(name: str) -> list[str]:
    conn = await asyncpg.connect(direct_dsn(name))
    try:
        return [r["version"] for r in await conn.fetch("SELECT version FROM aerich ORDER BY id")]
    finally:
        await conn.close()


# --- the URL's options -----------------------------------------------------------------------


def test_the_url_s_asyncpg_options_are_connect_options_not_server_settings() -> None:
    url = (
        "postgres://app@db.example:6432/leko?maxsize=20&minsize=0&statement_cache_size=0"
        "&max_cached_statement_lifetime=0&max_cacheable_statement_size=2048"
        "&command_timeout=30&timeout=5&sslmode=disable&application_name=leko"
    )
    assert asyncpg_connect_kwargs(url) == {
        "dsn": "postgresql://app@db.example:6432/leko?sslmode=disable&application_name=leko",
        "statement_cache_size": 0,
        "max_cached_statement_lifetime": 0.0,
        "max_cacheable_statement_size": 2048,
        "command_timeout": 30.0,
        "timeout": 5.0,
    }
    assert asyncpg_dsn(url) == asyncpg_connect_kwargs(url)["dsn"]
    # The served app's pool (Tortoise) gets the same option, typed.
    credentials = tortoise_config(url, timeout=10)["connections"]["default"]["credentials"]
    assert credentials["statement_cache_size"] == 0
    # Migrations turn the cache off unless the URL says otherwise.
    assert without_statement_cache("postgres://a@h/db?maxsize=5") == (
        "postgres://a@h/db?maxsize=5&statement_cache_size=0"
    )
    assert without_statement_cache(url) == url
    assert without_statement_cache("sqlite://x.sqlite3") == "sqlite://x.sqlite3"


async def test_a_url_with_statement_cache_size_connects_through_pgbouncer(bouncer: Bouncer) -> None:
    """Before: asyncpg sent `statement_cache_size` as a startup setting, which PgBouncer refused
    ("unsupported startup parameter") — and PostgreSQL too."""
    for url in (bouncer.url("test", maxsize=5), pg_url("test")):
        conn = await asyncpg.connect(**asyncpg_connect_kwargs(f"{url}&statement_cache_size=0"))
        try:
            assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
        finally:
            await conn.close()


async def served_pool(url: str) -> BoundedAsyncpgClient:
    """The served app's Tortoise client of `url` (`tortoise_config(timeout=...)`), connected."""
    credentials = tortoise_config(url, timeout=10)["connections"]["default"]["credentials"]
    client = BoundedAsyncpgClient(connection_name="probe", **credentials)
    await client.create_connection(with_db=True)
    return client


async def test_with_the_cache_off_the_served_pool_prepares_no_named_statement() -> None:
    """One pooled connection (maxsize=1), so the check runs in the session that ran the query."""
    named = {}
    for cache in ("100", "0"):
        url = pg_url("test").replace("maxsize=60", "maxsize=1")
        client = await served_pool(f"{url}&statement_cache_size={cache}")
        try:
            await client.execute_query("SELECT $1::int, now()", [1])
            await client.execute_insert("SELECT $1::text AS x", ["y"])
            _, rows = await client.execute_query("SELECT count(*) AS n FROM pg_prepared_statements")
            named[cache] = rows[0]["n"]
        finally:
            await client.close()
    assert named["100"] >= 1  # asyncpg's default: named statements, which the check sees
    assert named["0"] == 0


async def test_every_statement_works_through_pgbouncer_with_the_cache_off(
    bouncer: Bouncer,
) -> None:
    """Hundreds of statements at once from two pools (two workers) sharing fewer server
    connections: before, asyncpg's named statements met on pooled server connections
    (DuplicatePreparedStatementError, InvalidSQLStatementNameError)."""
    url = bouncer.url("test", maxsize=20, statement_cache_size=0)
    pools = [await served_pool(url), await served_pool(url)]

    async def statements(client: BoundedAsyncpgClient, i: int) -> int:
        _, rows = await client.execute_query("SELECT $1::int + 1 AS n, now() AS t", [i])
        async with client.acquire_connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1::int, $2::int)", 7, i % 5)
            assert await conn.fetchval("SELECT $1::text || 'x'", str(i)) == f"{i}x"
        return int(rows[0]["n"])

    try:
        results = await asyncio.gather(
            *(statements(pools[i % 2], i) for i in range(300)), return_exceptions=True
        )
    finally:
        for client in pools:
            await client.close()
    assert results == [i + 1 for i in range(300)]


async def test_session_mode_sized_for_every_pooled_connection_needs_no_setting() -> None:
    """Session mode: a server connection per client connection for its whole life, so asyncpg's
    default statement cache works; PgBouncer's pool must hold workers x maxsize (here 2 x 3)."""
    with pgbouncer("session", pool_size=6) as session:
        url = session.url("test", maxsize=3)
        pools = [await served_pool(url), await served_pool(url)]
        try:
            results = await asyncio.gather(
                *(pools[i % 2].execute_query("SELECT $1::int + 1 AS n", [i]) for i in range(200))
            )
        finally:
            for client in pools:
                await client.close()
    assert [rows[0]["n"] for _, rows in results] == [i + 1 for i in range(200)]


# --- the migration lock ----------------------------------------------------------------------


async def hold_migration_lock(dsn: str) -> asyncpg.Connection:
    """A connection in a transaction holding the migration lock, as a migrating process does."""
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    return conn


async def test_a_held_migration_lock_makes_migrate_give_up_within_the_timeout(
    bouncer: Bouncer, database: str
) -> None:
    holder = await hold_migration_lock(direct_dsn(database))
    try:
        started = time.monotonic()
        with pytest.raises(MigrationLockTimeout, match="LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS"):
            await migrate(bouncer.url(database, statement_cache_size=0), lock_timeout=0.5)
        assert 0.5 <= time.monotonic() - started < 0.5 + LOCK_TIMEOUT_GRACE_SECONDS
        # The CLI, `migrate`, `serve` and `seed` (which migrate first): a clear message, exit
        # status 2.
        env = {
            "LEKO_DATABASE_URL": bouncer.url(database, statement_cache_size=0),
            "LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS": "0.5",
        }
        port = str(free_port())
        results = await finished(
            cli("migrate", env=env), cli("serve", "--port", port, env=env), cli("seed", env=env)
        )
    finally:
        await holder.close()
    for status, _, errors in results:
        assert status == 2, errors
        assert "gave up waiting for the migration lock after 0.5 s" in errors
        assert "LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS" in errors
        assert "Traceback" not in errors
    conn = await asyncpg.connect(direct_dsn(database))
    try:
        assert await conn.fetchval("SELECT to_regclass('aerich')") is None  # nothing migrated
    finally:
        await conn.close()


async def lock_holders(key: int) -> int:
    """Sessions holding advisory lock `key` (a bigint key is stored as two 32-bit halves)."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objsubid = 1 AND classid = $1 AND objid = $2",
                key >> 32,
                key & 0xFFFFFFFF,
            )
        )
    finally:
        await conn.close()


async def test_a_migrate_that_left_holds_no_lock_behind_the_pooler(
    bouncer: Bouncer, database: str
) -> None:
    """A process killed while migrating: its client connection to PgBouncer goes. A session
    lock (the old way) stays with the pooled server connection; the transaction lock goes with
    the transaction, and the next `migrate` proceeds."""
    url = bouncer.url(database, statement_cache_size=0)
    session_key = (
        MIGRATION_LOCK_KEY + 1
    )  # not the real lock: it stays held by a pooled server connection
    old = await asyncpg.connect(**asyncpg_connect_kwargs(url))
    await old.execute(f"SELECT pg_advisory_lock({session_key})")
    old.terminate()
    assert await lock_holders(session_key) == 1  # why migrations no longer use a session lock
    killed = await asyncpg.connect(**asyncpg_connect_kwargs(url))
    await killed.execute(f"BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    assert await lock_holders(MIGRATION_LOCK_KEY) == 1
    killed.terminate()
    deadline = time.monotonic() + 10
    while await lock_holders(MIGRATION_LOCK_KEY):  # PgBouncer closes the server connection
        assert time.monotonic() < deadline, "the transaction lock outlived its client"
        await asyncio.sleep(0.02)
    [(status, output, errors)] = await finished(
        cli("migrate", env={"LEKO_DATABASE_URL": url, "LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS": "10"})
    )
    assert status == 0, errors
    assert output.startswith(f"applied {len(MIGRATIONS)} migration(s)")
    assert sorted(await aerich_versions(database)) == MIGRATIONS


async def test_simultaneous_migrates_through_pgbouncer_apply_each_migration_once(
    bouncer: Bouncer, database: str
) -> None:
    """Three processes at once: through the pooler with the cache off; through the pooler with
    no cache setting (`migrate` turns it off); and through LEKO_MIGRATION_DATABASE_URL, directly,
    while its LEKO_DATABASE_URL names a database that does not exist."""
    runs = [
        {"LEKO_DATABASE_URL": bouncer.url(database, maxsize=5, statement_cache_size=0)},
        {"LEKO_DATABASE_URL": bouncer.url(database)},
        {
            "LEKO_DATABASE_URL": bouncer.url(f"{database}_missing"),
            "LEKO_MIGRATION_DATABASE_URL": pg_url(database),
        },
    ]
    results = await finished(*(cli("migrate", env=env) for env in runs))
    assert [status for status, _, _ in results] == [0, 0, 0], results
    applied = [int(out.split("applied ", 1)[1].split(" ", 1)[0]) for _, out, _ in results]
    assert sorted(applied) == [0, 0, len(MIGRATIONS)]
    assert sorted(await aerich_versions(database)) == MIGRATIONS
