"""The probes (issue 15, item 3): `GET /healthz` answers while the process does, without asking
the database; `GET /readyz` answers 200 only when the database answers within
LEKO_READY_TIMEOUT_SECONDS and every migration of this version is applied, else 503 with a JSON
reason. Neither takes a token or a rate limit, writes an access line, or is in the OpenAPI
document.

In-process on SQLite and PostgreSQL; the failures on real `serve` processes: a database with its
newest migration not applied (both dialects), a PostgreSQL server that refuses connections, and
one that accepts them and never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from leko_bookings.app import create_app
from leko_bookings.db import APP, migrations_dir
from leko_bookings.models import RateBucket
from tests.conftest import (
    SECRET,
    client_for,
    create_pg_database,
    drop_pg_database,
    migrate_with_cli,
    pg_url,
)
from tests.live_server import free_port, live_server

PROBES = ("/healthz", "/readyz")


def newest_migration(dialect: str) -> str:
    files = (migrations_dir(dialect) / APP).glob("*.py")
    return max(files, key=lambda p: int(p.name.split("_")[0])).name


# -- in-process, SQLite and PostgreSQL --------------------------------------------------------


async def test_healthz_and_readyz_answer_ok_without_a_token(client):
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert r.headers["cache-control"] == "no-store"
    r = await client.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})
    assert r.headers["cache-control"] == "no-store"


async def test_probes_ignore_tokens_and_take_no_rate_limit(db, settings, clock, channel, users):
    limited = settings.model_copy(update={"rate_limit_per_minute": 1, "rate_limit_burst": 1})
    app = create_app(limited, clock=clock, manage_database=False, channel=channel)
    async with client_for(app) as client:
        assert (await client.get("/v1/bookings", headers=users.as_athlete)).status_code != 429
        assert (await client.get("/v1/bookings", headers=users.as_athlete)).status_code == 429
        for _ in range(5):  # the caller's bucket is empty: the probes do not use it
            for probe in PROBES:
                assert (await client.get(probe, headers=users.as_athlete)).status_code == 200
                bad = {"Authorization": "Bearer not-a-token"}
                assert (await client.get(probe, headers=bad)).status_code == 200
    assert await RateBucket.all().count() == 1  # the athlete's, taken by /v1/bookings only


async def test_probes_are_not_in_the_openapi_document(client):
    document = (await client.get("/v1/openapi.json")).json()
    paths = " ".join(document["paths"])
    for hidden in ("healthz", "readyz", "metrics"):
        assert hidden not in paths


# -- real servers: a migration missing, a database refusing or not answering ------------------


@contextlib.contextmanager
def scratch_database(dialect: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own (dropped after)."""
    if dialect == "sqlite":
        url = f"sqlite://{tmp_path / 'scratch.sqlite3'}"
        migrate_with_cli(url)
        yield url
        return
    name = f"leko_ready_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_pg_database(name))
    try:
        url = pg_url(name).replace("maxsize=60", "maxsize=2")
        migrate_with_cli(url)
        yield url
    finally:
        asyncio.run(drop_pg_database(name))


def forget_migration(url: str, version: str) -> None:
    """Delete `version`'s row from aerich's table: as if that migration were not applied."""
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as conn, conn:
            deleted = conn.execute('DELETE FROM "aerich" WHERE "version" = ?', [version]).rowcount
    else:

        async def delete() -> str:
            conn = await asyncpg.connect(url.replace("postgres://", "postgresql://").split("?")[0])
            try:
                return await conn.execute('DELETE FROM "aerich" WHERE "version" = $1', version)
            finally:
                await conn.close()

        deleted = int(asyncio.run(delete()).split()[-1])
    assert deleted == 1


def serve(url: str, tmp_path: Path, **env: str) -> Any:
    """`serve --no-migrate` on `url`, logging at INFO into tmp_path/server.log."""
    environment = {"LEKO_DATABASE_URL": url, "LEKO_JWT_SECRET": SECRET, **env}
    log = tmp_path / "server.log"
    return live_server(environment, "--no-migrate", "--log-level", "info", log=log)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_readyz_is_503_while_a_migration_is_not_applied(dialect, tmp_path):
    newest = newest_migration(dialect)
    with scratch_database(dialect, tmp_path) as url:
        forget_migration(url, newest)
        with serve(url, tmp_path) as server:
            r = httpx.get(f"{server}/readyz")
            assert r.status_code == 503
            body = r.json()
            assert body["status"] == "unavailable"
            assert body["pendingMigrations"] == [newest]
            assert body["reason"] == "1 migration(s) not applied: run `leko-bookings migrate`"
            assert httpx.get(f"{server}/healthz").status_code == 200
        assert "/readyz" not in (tmp_path / "server.log").read_text()  # no access line


@pytest.mark.postgres_only
def test_readyz_is_503_when_the_database_refuses_connections(tmp_path):
    url = f"postgres://postgres@127.0.0.1:{free_port()}/nothing_listens_here"
    with serve(url, tmp_path) as server:
        r = httpx.get(f"{server}/readyz")
        assert r.status_code == 503
        assert r.json() == {
            "status": "unavailable",
            "reason": "the database cannot be reached (ConnectionRefusedError)",
        }
        assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port whose listener accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.postgres_only
def test_readyz_is_503_within_its_timeout_when_the_database_does_not_answer(tmp_path):
    with silent_server() as port:
        url = f"postgres://postgres@127.0.0.1:{port}/never_answers"
        with serve(url, tmp_path, LEKO_READY_TIMEOUT_SECONDS="0.5") as server:
            started = time.monotonic()
            r = httpx.get(f"{server}/readyz", timeout=10)
            elapsed = time.monotonic() - started
            assert r.status_code == 503
            assert r.json() == {
                "status": "unavailable",
                "reason": "the database did not answer within 0.5 s",
            }
            assert 0.5 <= elapsed < 2.0
            assert httpx.get(f"{server}/healthz").status_code == 200
