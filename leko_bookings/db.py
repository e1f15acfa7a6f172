"""Database wiring: the Tortoise config, and aerich migrations kept as one history per dialect."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

from leko_bookings.settings import dialect_of, get_settings, sqlite_file, sqlite_url

DIALECTS = ("postgres", "sqlite")
APP = "models"
MODELS = ["leko_bookings.models", "aerich.models"]
SQLITE_DEFAULTS = {"busy_timeout": "5000"}
# Arbitrary constant: the key of the transaction-level advisory lock held while migrating.
MIGRATION_LOCK_KEY = 0x4C454B4F
# Options of Tortoise's client in a PostgreSQL URL (`?maxsize=20`): not for one asyncpg connection.
TORTOISE_OPTIONS = frozenset(
    {
        "minsize",
        "maxsize",
        "max_queries",
        "max_inactive_connection_lifetime",
        "schema",
        "fetch_inserted",
        "connection_name",
    }
)
# asyncpg's connect options a PostgreSQL URL may carry (`?statement_cache_size=0` behind a
# transaction pooler), with their types. Tortoise passes them to asyncpg as options; asyncpg's
# own DSN parser would send them to the server as settings, which PostgreSQL rejects
# ("unrecognized configuration parameter") and PgBouncer too ("unsupported startup parameter").
CONNECT_OPTIONS: dict[str, Callable[[str], Any]] = {
    "statement_cache_size": int,
    "max_cached_statement_lifetime": float,
    "max_cacheable_statement_size": int,
    "command_timeout": float,
    "timeout": float,
}
# Past the lock timeout, how much longer the client waits for the server to say so.
LOCK_TIMEOUT_GRACE_SECONDS = 2.0


def normalize_url(url: str) -> str:
    """Give SQLite a busy timeout so a second process (the CLI) waits instead of failing (and
    read `sqlite:////abs/path` as `sqlite:///abs/path`)."""
    if dialect_of(url) != "sqlite":
        return url
    parts = urlsplit(sqlite_url(url))
    query = dict(SQLITE_DEFAULTS) | dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(url: str | None = None, *, timeout: float | None = None) -> dict[str, Any]:
    """The Tortoise config of `url`. With `timeout` (the served app on PostgreSQL), no wait on
    the database lasts longer: connecting, waiting for a pooled connection, each statement; past
    it the operation raises TimeoutError (a 503). Without it (migrations, CLI runs), no limit."""
    url = normalize_url(url or get_settings().database_url)
    connection: str | dict[str, Any] = url
    if timeout is not None and dialect_of(url) == "postgres":
        connection = expand_db_url(url)
        connection["engine"] = __name__  # Tortoise takes `client_class` from this module
        credentials = connection["credentials"]
        credentials |= {"timeout": timeout, "command_timeout": timeout}
        credentials["connection_class"] = PooledConnection
        # No connection is opened while creating the pool (under Tortoise's pool lock, where
        # concurrent requests would queue one timeout after another); acquiring opens them.
        credentials.setdefault("minsize", 0)
    return {
        "connections": {"default": connection},
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


def _split_url(url: str) -> tuple[str, dict[str, Any]]:
    """A PostgreSQL URL as an asyncpg DSN (the server, the database, libpq's parameters such as
    `sslmode`, server settings) and the asyncpg connect options it carries."""
    parts = urlsplit(url)
    dsn_query: list[tuple[str, str]] = []
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query):
        if key in CONNECT_OPTIONS:
            options[key] = CONNECT_OPTIONS[key](value)
        elif key not in TORTOISE_OPTIONS:
            dsn_query.append((key, value))
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(dsn_query)))
    return dsn, options


def asyncpg_dsn(url: str) -> str:
    """`url` for `asyncpg.connect(dsn)`: without Tortoise's options and asyncpg's connect options
    (`asyncpg_connect_kwargs` keeps those), which asyncpg would send to the server as settings."""
    return _split_url(url)[0]


def asyncpg_connect_kwargs(url: str) -> dict[str, Any]:
    """`asyncpg.connect(**asyncpg_connect_kwargs(url))`: the DSN, and the URL's connect options
    (`statement_cache_size`, `command_timeout`, ...) as options, typed as asyncpg wants them."""
    dsn, options = _split_url(url)
    return {"dsn": dsn, **options}


def without_statement_cache(url: str) -> str:
    """`url` with asyncpg's prepared statement cache off unless it says otherwise (PostgreSQL):
    every statement then runs as an unnamed one, which a transaction pooler (PgBouncer
    `pool_mode = transaction`) supports; named ones outlive the transaction on its server
    connection and meet other clients there."""
    if dialect_of(url) != "postgres":
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    if any(key == "statement_cache_size" for key, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, ("statement_cache_size", "0")])))


class MigrationLockTimeout(RuntimeError):
    """`migrate` did not get the migration lock within LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS."""


async def migrate(url: str | None = None, *, lock_timeout: float | None = None) -> list[str]:
    """Apply the pending migrations of the URL's dialect; return the applied file names.

    Default URL: LEKO_MIGRATION_DATABASE_URL, else LEKO_DATABASE_URL. On PostgreSQL, with
    asyncpg's statement cache off unless the URL sets it (a few statements: through a
    transaction pooler too), under the migration lock (`lock_timeout`, default
    LEKO_MIGRATION_LOCK_TIMEOUT_SECONDS; past it MigrationLockTimeout)."""
    settings = get_settings()
    url = url or settings.migration_database_url or settings.database_url
    if lock_timeout is None:
        lock_timeout = settings.migration_lock_timeout_seconds
    url = without_statement_cache(url)
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    from leko_bookings.store.migrations import migration_lock  # the store imports this module

    async with migration_lock(url, lock_timeout):
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


class _AcquireWithDeadline:
    """An asyncpg pool whose `acquire` gives up after `timeout` (asyncpg's default waits for a
    free connection forever, so requests would queue behind each other's timeouts)."""

    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return self._pool.acquire(timeout=self._timeout if timeout is None else timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PooledConnection(asyncpg.Connection):
    """A connection of the served app's pool, given back to the pool without asyncpg's reset
    statement (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one more
    round trip and statement after every statement run outside a transaction). The service
    leaves no session state on a pooled connection — its advisory locks are transaction-level
    (`store/locks.py`), it never SETs a session variable, LISTENs or keeps a cursor open, as a
    transaction pooler (PgBouncer) requires too — and asyncpg still rolls back a transaction
    left open when the connection goes back (`Connection.reset`)."""

    def get_reset_query(self) -> str:
        return ""


class BoundedAsyncpgClient(AsyncpgDBClient):
    """Tortoise's asyncpg client, its pool's `acquire` bounded by the connect timeout; the pool
    kept as `asyncpg_pool` too (its occupancy for the metrics: asyncpg's public API)."""

    asyncpg_pool: asyncpg.Pool | None = None

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        pool = await super().create_pool(**kwargs)
        self.asyncpg_pool = pool
        return _AcquireWithDeadline(pool, float(kwargs["timeout"]))


client_class = BoundedAsyncpgClient  # read by Tortoise for the engine named `leko_bookings.db`


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DBConnectionError,
    ConnectionError,
    TimeoutError,  # asyncio's too: a connect, acquire or statement past the configured timeout
    socket.gaierror,  # the database host's name does not resolve
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # A pooled connection the server terminated while idle (pg_terminate_backend, a shutdown):
    # its FATAL message arrives before the socket closes, and the next query on it fails so.
    asyncpg.exceptions.InternalClientError,
)


_NETWORK_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


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
        if isinstance(current, OSError) and current.errno in _NETWORK_ERRNOS:
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True  # the connection was lost before this call (e.g. rolling back after)
        current = current.__cause__ or current.__context__
    return False
