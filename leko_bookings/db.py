"""Database wiring: the Tortoise config, and aerich migrations kept as one history per dialect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise.exceptions import DBConnectionError

from leko_bookings.settings import dialect_of, get_settings, sqlite_file

DIALECTS = ("postgres", "sqlite")
APP = "models"
MODELS = ["leko_bookings.models", "aerich.models"]
SQLITE_DEFAULTS = {"busy_timeout": "5000"}
# Arbitrary constant: the key of the session-level advisory lock taken while migrating.
MIGRATION_LOCK_KEY = 0x4C454B4F


def normalize_url(url: str) -> str:
    """Give SQLite a busy timeout so a second process (the CLI) waits instead of failing."""
    if dialect_of(url) != "sqlite":
        return url
    parts = urlsplit(url)
    query = dict(SQLITE_DEFAULTS) | dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(url: str | None = None) -> dict[str, Any]:
    url = normalize_url(url or get_settings().database_url)
    return {
        "connections": {"default": url},
        "apps": {APP: {"models": MODELS, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def migrations_root() -> Path:
    """`migrations/` of a source checkout, or the copy packed into a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "migrations", here / "_migrations"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no migrations/ directory found beside the package")


def migrations_dir(dialect: str) -> Path:
    return migrations_root() / dialect


def aerich_command(url: str) -> Command:
    return Command(tortoise_config(url), app=APP, location=str(migrations_dir(dialect_of(url))))


def _asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    tortoise_only = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"}
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in tortoise_only]
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))


@asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    """Serialise migrations of several processes/hosts starting at once (PostgreSQL)."""
    if dialect_of(url) != "postgres":
        yield
        return
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        yield
    finally:
        await conn.close()  # closing the session releases the lock


async def migrate(url: str | None = None) -> list[str]:
    """Apply the pending migrations of the URL's dialect; return the applied file names."""
    url = url or get_settings().database_url
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    async with _migration_lock(url):
        command = aerich_command(url)
        async with command:
            await command.init()
            return await command.upgrade(run_in_transaction=True)


async def _make_migration(dialect: str, url: str, name: str) -> str | None:
    command = aerich_command(url)
    if not any((Path(command.location) / APP).glob("*.py")):
        async with command:
            await command.init_migrations(safe=True)
        return "initial"
    async with command:
        await command.init(offline=True)
        return await command.migrate(name, no_input=True, offline=True)


def make_migration(dialect: str, name: str, postgres_url: str) -> str | None:
    """Generate the next migration of one dialect from the models (offline: nothing is written
    to any database). Run one dialect per process: aerich keeps its pending operations in
    class-level state, which would leak one dialect's DDL into the other's migration."""
    url = postgres_url if dialect == "postgres" else "sqlite://:memory:"
    return asyncio.run(_make_migration(dialect, url, name))


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DBConnectionError,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether a failure (or what caused it) means the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if "database is locked" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
