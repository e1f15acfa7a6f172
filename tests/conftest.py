"""Test harness: every HTTP test runs against the app on SQLite and on PostgreSQL.

Each backend's database is created once per session by applying the aerich migrations (so
the migrations are exercised by every run), then emptied before each test. Time is injected
through a FakeClock; nothing sleeps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from leko_bookings.app import create_app
from leko_bookings.auth import mint_token
from leko_bookings.channels import Message
from leko_bookings.db import tortoise_config
from leko_bookings.settings import Settings
from tests.contract import BASE_URL, validate_hook

os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")

PG_ADMIN_URL = os.environ.get("LEKO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
PG_ADMIN_DSN = PG_ADMIN_URL.replace("postgres://", "postgresql://", 1)  # asyncpg's spelling
SECRET = "test-secret-" + "x" * 40
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TABLES = (
    "waitlist_entry",
    "notification",
    "booking_history",
    "booking",
    "booking_order",
    "event",
    "rate_bucket",
    "booking_rank_stale",
    "calendar_feed",
    "idempotency_key",
)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}?maxsize=60"


async def create_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run_cli(url: str, *args: str) -> None:
    """`leko-bookings <args>` on the database `url`, as an operator would, in a fresh process;
    it must succeed."""
    env = {**os.environ, "LEKO_DATABASE_URL": url, "LEKO_JWT_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "leko_bookings.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def migrate_with_cli(url: str) -> None:
    """Apply the migrations as an operator would (`leko-bookings migrate`)."""
    run_cli(url, "migrate")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database of one backend, with Tortoise initialised on it."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        name = None
    else:
        name = f"leko_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        await create_pg_database(name)
        url = pg_url(name)
    migrate_with_cli(url)
    # Tortoise caches each model's INSERT SQL per connection alias; both backends use
    # "default", so the other backend's dialect must be forgotten when switching.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        yield url
    finally:
        await Tortoise.close_connections()
        if name:
            await drop_pg_database(name)


@pytest.fixture
def dialect(database: str) -> str:
    return "postgres" if database.startswith("postgres") else "sqlite"


@pytest.fixture
async def db(database: str) -> str:
    """Each test starts from empty tables."""
    conn = connections.get("default")
    if database.startswith("postgres"):
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    else:
        for table in TABLES:
            await conn.execute_script(f'DELETE FROM "{table}"')
    return database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# Tests fire many requests as one user under a clock that stands still: the rate limits are off
# unless a test turns them on (tests/test_rate_limits.py). The seat cap keeps its default.
NO_RATE_LIMITS = {
    "rate_limit_per_minute": 0,
    "order_rate_limit_per_minute": 0,
    "calendar_feed_rate_limit_per_minute": 0,
}


@pytest.fixture
def settings(database: str) -> Settings:
    return Settings(database_url=database, jwt_secret=SECRET, **NO_RATE_LIMITS)


class RecordingChannel:
    """A channel that keeps what it is given; `fail` makes deliveries fail."""

    def __init__(self) -> None:
        self.delivered: list[Message] = []
        self.fail = False

    async def deliver(self, messages: list[Message]) -> dict[uuid.UUID, str]:
        if self.fail:
            return {m.id: "the receiver is down" for m in messages}
        self.delivered.extend(messages)
        return {}

    async def aclose(self) -> None:
        return None

    def rules(self) -> list[tuple[str, str]]:
        return sorted((m.rule, m.recipient_role) for m in self.delivered)


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def app(db: str, settings: Settings, clock: FakeClock, channel: RecordingChannel) -> FastAPI:
    return create_app(settings, clock=clock, manage_database=False, channel=channel)


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app; every REST response is checked against the contract."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=BASE_URL,
        event_hooks={"response": [validate_hook]},
    ) as c:
        yield c


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


class Users:
    """Ids and bearer headers for the parties of a test."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self.athlete = uuid.uuid4()
        self.other_athlete = uuid.uuid4()
        self.coach = uuid.uuid4()
        self.other_coach = uuid.uuid4()
        self.admin = uuid.uuid4()
        self.scheduler = uuid.uuid4()

    def headers(self, user: uuid.UUID, *roles: str, **extra: Any) -> dict[str, str]:
        token = mint_token(
            self.settings, user, list(roles) or ["athlete"], now=datetime.now(UTC), **extra
        )
        return {"Authorization": f"Bearer {token}"}

    @property
    def as_athlete(self) -> dict[str, str]:
        return self.headers(self.athlete, "athlete")

    @property
    def as_other_athlete(self) -> dict[str, str]:
        return self.headers(self.other_athlete, "athlete")

    @property
    def as_coach(self) -> dict[str, str]:
        return self.headers(self.coach, "coach")

    @property
    def as_other_coach(self) -> dict[str, str]:
        return self.headers(self.other_coach, "coach")

    @property
    def as_admin(self) -> dict[str, str]:
        return self.headers(self.admin, "admin")

    @property
    def as_scheduler(self) -> dict[str, str]:
        return self.headers(self.scheduler, "scheduler")


@pytest.fixture
def users(settings: Settings, clock: FakeClock) -> Users:
    return Users(settings, clock)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
