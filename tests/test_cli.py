"""The `leko-bookings` command line, run as an operator runs it: in its own process.

`events import` against a live `serve` process (both databases), invalid import files, the
single-writer guard of `serve` on SQLite, `seed` on a fresh directory, and migrations at start-up.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from leko_bookings.auth import mint_token
from leko_bookings.db import migrations_dir, tortoise_config
from leko_bookings.seed import demo_catalog
from leko_bookings.settings import DEFAULT_SQLITE_FILE, Settings
from tests.conftest import SECRET, create_pg_database, drop_pg_database, pg_url
from tests.factories import event_json, order_body
from tests.live_server import CLI, free_port, spawn_server, stop_server

START_TIMEOUT = 30.0

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) {
    __typename
    ... on UpsertEventsSuccess { events { eventId coachId eventStatus timeslot { price } } }
    ... on Error { code message }
  }
}
"""


def cli_env(url: str | None = None) -> dict[str, str]:
    """The environment minus the caller's LEKO_ settings; with `url`: a database and secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEKO_")}
    env["AERICH_NO_TORTOISE_V1_WARNING"] = "1"
    if url is not None:
        env |= {"LEKO_DATABASE_URL": url, "LEKO_JWT_SECRET": SECRET}
    return env


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _log(log: Path) -> str:
    return log.read_text(errors="replace")


async def _until_up(proc: subprocess.Popen, http: httpx.AsyncClient, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert proc.poll() is None, f"server exited {proc.returncode}:\n{_log(log)}"
        try:
            if (await http.get("/v1/openapi.json")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server did not answer:\n{_log(log)}"
        await asyncio.sleep(0.05)  # polling for a process to come up, not for time


ServerSpec = tuple[dict[str, str], Path, tuple[str, ...]]


@asynccontextmanager
async def servers(*specs: ServerSpec) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`leko-bookings serve` processes started together; yields their clients once all answer."""
    procs: list[tuple[subprocess.Popen, Path]] = []
    clients: list[httpx.AsyncClient] = []
    try:
        for env, log, args in specs:
            port = free_port()
            with log.open("w") as out:
                procs.append((spawn_server(env, port, args, out), log))
            clients.append(httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10))
        await asyncio.gather(
            *(_until_up(proc, http, log) for (proc, log), http in zip(procs, clients, strict=True))
        )
        yield clients
    finally:
        for http in clients:
            await http.aclose()
        for proc, _ in procs:
            stop_server(proc)


@asynccontextmanager
async def serving(env: dict[str, str], log: Path, *args: str) -> AsyncIterator[httpx.AsyncClient]:
    async with servers((env, log, args)) as [http]:
        yield http


def bearer(user: uuid.UUID, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), user, list(roles))}"}


def write_events(path: Path, events: Any) -> Path:
    path.write_text(json.dumps(events), encoding="utf-8")
    return path


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied by each test that needs one (one migrate per module)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    done = run_cli("migrate", env=cli_env(f"sqlite://{path}"))
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def sqlite_db(migrated_sqlite: Path, tmp_path: Path) -> str:
    path = tmp_path / "bookings.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite://{path}"


@pytest.fixture(params=["sqlite", "postgres"])
async def served_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each backend (the server migrates it at start)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'served.sqlite3'}"
        return
    async with scratch_pg() as url:
        yield url


@asynccontextmanager
async def scratch_pg() -> AsyncIterator[str]:
    """An empty PostgreSQL database, dropped afterwards."""
    name = f"leko_cli_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await create_pg_database(name)
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


async def event_rows(url: str) -> dict[str, int]:
    """eventId -> price, straight from the database."""
    if url.startswith("sqlite://"):
        conn = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            return {str(i): p for i, p in conn.execute("SELECT id, price FROM event")}
        finally:
            conn.close()
    pg = await asyncpg.connect(url.split("?", 1)[0].replace("postgres://", "postgresql://", 1))
    try:
        return {str(r["id"]): r["price"] for r in await pg.fetch("SELECT id, price FROM event")}
    finally:
        await pg.close()


# --- events import ---------------------------------------------------------------------------


async def test_events_import_into_a_running_server(served_db, tmp_path):
    url = served_db
    env = cli_env(url)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    coach, athlete, admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = event_json(coach=coach, start=start, price=1500)
    second = event_json(coach=coach, start=start + timedelta(hours=3), price=1800)
    source = write_events(tmp_path / "events.json", [first, second])

    async with serving(env, tmp_path / "server.log") as http:
        done = await asyncio.to_thread(run_cli, "events", "import", str(source), env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"upserted 2 event(s) from {source}"

        # The server sees the imported event: no bookings yet.
        r = await http.get(
            "/v1/bookings", params={"eventId": first["eventId"]}, headers=bearer(admin, "admin")
        )
        assert r.status_code == 200, r.text
        assert r.json() == []

        # GraphQL upsertEvents on the same server round-trips an event.
        third = event_json(coach=coach, start=start + timedelta(hours=6), price=1700)
        r = await http.post(
            "/graphql",
            json={"query": UPSERT, "variables": {"events": [third]}},
            headers=bearer(admin, "admin"),
        )
        assert r.status_code == 200, r.text
        result = r.json()["data"]["upsertEvents"]
        assert result["__typename"] == "UpsertEventsSuccess", result
        assert result["events"] == [
            {
                "eventId": third["eventId"],
                "coachId": str(coach),
                "eventStatus": "Scheduled",
                "timeslot": {"price": 1700},
            }
        ]

        # Importing the same file again updates in place.
        first["timeslot"]["price"] = 2100
        write_events(source, [first, second])
        done = await asyncio.to_thread(run_cli, "events", "import", str(source), env=env)
        assert done.returncode == 0, done.stderr

        r = await http.post(
            "/v1/bookings",
            json=order_body(athlete, uuid.UUID(first["eventId"]), uuid.UUID(third["eventId"])),
            headers=bearer(athlete, "athlete"),
        )
        assert r.status_code == 201, r.text
        prices = {b["eventId"]: b["timeslot"]["price"] for b in r.json()["bookings"]}
        assert prices == {first["eventId"]: 2100, third["eventId"]: 1700}

        r = await http.get(
            "/v1/bookings", params={"eventId": first["eventId"]}, headers=bearer(admin, "admin")
        )
        assert [b["userId"] for b in r.json()] == [str(athlete)]

    assert await event_rows(url) == {
        first["eventId"]: 2100,
        second["eventId"]: 1800,
        third["eventId"]: 1700,
    }


def _missing_sport(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "sportId"}


def _ends_before_start(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "endAt": event["startAt"], "startAt": event["endAt"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(lambda good, bad: "[{" + json.dumps(good), "cannot read", id="bad-json"),
        pytest.param(
            lambda good, bad: json.dumps([good, _missing_sport(bad)]),
            "events.1.sportId: Field required",
            id="missing-field",
        ),
        pytest.param(
            lambda good, bad: json.dumps([good, _ends_before_start(bad)]),
            "endAt must be after startAt",
            id="end-before-start",
        ),
    ],
)
async def test_events_import_rejects_an_invalid_file(content, message, sqlite_db, tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    good = event_json(coach=uuid.uuid4(), start=start)
    bad = event_json(coach=uuid.uuid4(), start=start)
    source = tmp_path / "events.json"
    source.write_text(content(good, bad), encoding="utf-8")

    done = run_cli("events", "import", str(source), env=cli_env(sqlite_db))

    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("leko-bookings: "), done.stderr
    assert message in last
    assert done.stdout == ""
    assert await event_rows(sqlite_db) == {}, "nothing may be written"


# --- serve -----------------------------------------------------------------------------------


def test_serve_refuses_several_workers_on_sqlite(tmp_path):
    path = tmp_path / "one-writer.sqlite3"
    done = run_cli("serve", "--workers", "2", env=cli_env(f"sqlite://{path}"))
    assert done.returncode != 0
    assert "SQLite" in done.stderr
    assert "PostgreSQL" in done.stderr
    assert not path.exists(), "it must refuse before migrating or serving"


def test_an_absolute_sqlite_path_with_four_slashes_works(tmp_path):
    """`sqlite:////abs/path` (SQLAlchemy's spelling) is the file /abs/path, as `sqlite:///abs/path`
    is: migrating it neither fails nor hangs."""
    path = tmp_path / "four.sqlite3"
    done = run_cli("migrate", env=cli_env(f"sqlite:///{path}"))
    assert done.returncode == 0, done.stderr
    assert path.exists()
    assert tortoise_config(f"sqlite:///{path}") == tortoise_config(f"sqlite://{path}")


def _aerich_versions(path: Path) -> list[str] | None:
    """The applied migrations, or None when the aerich table does not exist."""
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'aerich'"
        ).fetchone()
        if found is None:
            return None
        return [v for (v,) in conn.execute("SELECT version FROM aerich ORDER BY id")]
    finally:
        conn.close()


async def test_serve_migrates_at_start_unless_no_migrate(tmp_path):
    migrating, untouched = tmp_path / "migrating.sqlite3", tmp_path / "untouched.sqlite3"
    async with servers(
        (cli_env(f"sqlite://{migrating}"), tmp_path / "migrating.log", ()),
        (cli_env(f"sqlite://{untouched}"), tmp_path / "untouched.log", ("--no-migrate",)),
    ):
        applied = _aerich_versions(migrating)
        skipped = _aerich_versions(untouched)
    files = sorted(p.name for p in (migrations_dir("sqlite") / "models").glob("*.py"))
    assert files
    assert applied == files, "serve applies pending migrations before it answers"
    assert skipped is None, "serve --no-migrate must not create the aerich table"


# --- seed ------------------------------------------------------------------------------------


def _count_events(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    finally:
        conn.close()


def test_seed_a_fresh_directory_twice(tmp_path):
    env = cli_env()  # no LEKO_DATABASE_URL, no LEKO_JWT_SECRET
    database = tmp_path / DEFAULT_SQLITE_FILE
    secret_file = tmp_path / f"{DEFAULT_SQLITE_FILE}.jwt-secret"
    expected = len(demo_catalog(datetime.now(UTC)).events)
    assert expected > 0

    done = run_cli("seed", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert database.exists()
    assert secret_file.exists()
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    assert secret_file.stat().st_mode & 0o077 == 0, "the secret must not be readable by others"
    assert _count_events(database) == expected
    assert f"seeded {expected} events" in done.stdout

    tokens = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    roles = [
        jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})[
            "roles"
        ]
        for token in tokens
    ]
    assert roles == [["athlete"], ["coach"], ["admin"]]

    again = run_cli("seed", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _count_events(database) == expected, "re-seeding upserts, it does not duplicate"
    assert secret_file.read_text().strip() == secret, "the development secret is kept"


def listening_sockets(port: int) -> int:
    """TCP sockets listening on `port` (any address), from /proc/net/tcp and tcp6."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


@pytest.fixture
async def pg_db() -> AsyncIterator[str]:
    async with scratch_pg() as url:
        yield url


async def test_serve_gives_each_worker_a_listening_socket_of_its_own(pg_db, tmp_path):
    """Several workers: one SO_REUSEPORT socket each, so the kernel spreads the connections
    (uvicorn's single shared socket let one worker take every connection of a burst)."""
    log = tmp_path / "server.log"
    async with serving(cli_env(pg_db), log, "--workers", "3") as http:
        port = int(str(http.base_url).rsplit(":", 1)[1].rstrip("/"))
        assert listening_sockets(port) == 3, _log(log)
        clients = [httpx.AsyncClient(base_url=str(http.base_url), timeout=10) for _ in range(12)]
        try:
            answers = await asyncio.gather(*(c.get("/v1/openapi.json") for c in clients))
        finally:
            for c in clients:
                await c.aclose()
        assert {r.status_code for r in answers} == {200}


def test_serve_with_workers_reports_a_port_in_use(pg_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--workers", "2", "--port", str(port), env=cli_env(pg_db))
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
