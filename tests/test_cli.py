"""The `leko-bookings` command line, run as an operator runs it: in its own process.

`events import` against a live `serve` process (both databases), invalid import files, 20,000
events in any form (JSON array or NDJSON, a file or standard input) with a progress bar on a
terminal only, `events list` and its filters, JSON outputs in the GraphQL API's names, help texts
with defaults, which database each command uses (`-v`, errors), exit codes, the single-writer
guard of `serve` on SQLite, `serve --notify-every`, `seed` (stable ids, the demo's bookings,
`--print-env`, its warning apart from its output), and migrations at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import gc
import json
import os
import pty
import shutil
import socket
import sqlite3
import struct
import subprocess
import termios
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
from graphql import GraphQLObjectType, build_schema

import leko_bookings
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
    *args: str,
    env: dict[str, str],
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
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
        assert done.stdout.startswith(f"upserted 2 event(s) from {source} in 1 batch(es) (")

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
    files = sorted(  # in the order aerich applies them: by their number
        (p.name for p in (migrations_dir("sqlite") / "models").glob("*.py")),
        key=lambda name: int(name.split("_", 1)[0]),
    )
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

    assert "LEKO_JWT_SECRET is not set" in done.stderr, "warned, on stderr"
    assert "LEKO_JWT_SECRET" not in done.stdout, "never among the printed tokens"

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
        for _ in range(300):  # the first worker answered; the others may still be starting
            if listening_sockets(port) == 3:
                break
            await asyncio.sleep(0.1)
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


# --- events import: any number of events, in any form ------------------------------------------

MANY = 20_000


@pytest.fixture(scope="module")
def many_events() -> list[dict[str, Any]]:
    """20,000 distinct events of 20 coaches (more than 20 upserts' worth)."""
    start = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=2)
    coaches = [uuid.uuid4() for _ in range(20)]
    return [
        event_json(coach=coaches[i % 20], start=start + timedelta(hours=i // 20))
        for i in range(MANY)
    ]


def as_text(events: list[dict[str, Any]], form: str) -> str:
    if form == "json":
        return json.dumps(events)
    return "".join(json.dumps(e) + "\n" for e in events)  # NDJSON: one event a line


@pytest.mark.parametrize("source", ["file", "stdin"])
@pytest.mark.parametrize("form", ["json", "ndjson"])
async def test_events_import_loads_any_number_of_events(
    form, source, many_events, sqlite_db, tmp_path
):
    text = as_text(many_events, form)
    if source == "file":
        path = tmp_path / f"events.{form}"
        path.write_text(text, encoding="utf-8")
        args, given, name = [str(path)], None, str(path)
    else:
        args, given, name = ["-"], text, "standard input"

    done = run_cli("events", "import", *args, env=cli_env(sqlite_db), input=given, timeout=300)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"upserted {MANY} event(s) from {name} in 20 batch(es) (")
    assert "upserting" not in done.stderr, "no progress bar off a terminal"
    assert set(await event_rows(sqlite_db)) == {e["eventId"] for e in many_events}


def test_events_import_shows_a_progress_bar_on_a_terminal(sqlite_db, tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    coach = uuid.uuid4()
    events = [event_json(coach=coach, start=start + timedelta(hours=i)) for i in range(2500)]
    source = write_events(tmp_path / "events.json", events)
    terminal, stderr = pty.openpty()  # the command's stderr is a terminal, 100 columns wide
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.Popen(
            [*CLI, "events", "import", str(source)],
            env=cli_env(sqlite_db),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        os.close(stderr)
        shown = _read_all(terminal)  # until the command closes its end
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(terminal)
    assert proc.returncode == 0, shown
    assert "upserting" in shown
    assert "/2500" in shown
    assert out.startswith("upserted 2500 event(s)"), "the summary goes to stdout"


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end closed (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_events_import_refuses_an_event_id_given_twice(sqlite_db, tmp_path):
    event = event_json(coach=uuid.uuid4(), start=datetime.now(UTC) + timedelta(days=2))
    text = as_text([event, event_json(coach=uuid.uuid4(), start=datetime.now(UTC)), event], "nd")
    done = run_cli("events", "import", "-", env=cli_env(sqlite_db), input=text)
    assert done.returncode == 2
    assert "Each eventId may appear once per import" in done.stderr
    assert f"[database: {sqlite_db} (LEKO_DATABASE_URL; the file " in done.stderr


async def test_a_refused_batch_says_what_was_written(sqlite_db, tmp_path):
    """The catalog refuses the second batch: the first stays written, the message says so."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    coach = uuid.uuid4()
    events = [event_json(coach=coach, start=start + timedelta(hours=i)) for i in range(1500)]
    events[1200] = _ends_before_start(events[1200])
    done = run_cli("events", "import", "-", env=cli_env(sqlite_db), input=as_text(events, "nd"))
    assert done.returncode == 2
    assert "events 1001..1500 of 1500 refused" in done.stderr
    assert "endAt must be after startAt" in done.stderr
    assert "1000 event(s) before them upserted, none after" in done.stderr
    assert set(await event_rows(sqlite_db)) == {e["eventId"] for e in events[:1000]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it holds no events"),
        ('{"eventId": 1}\n{"eventId": \n', "line 2 is not JSON"),
        ("[1, 2", "not a JSON array"),
    ],
)
def test_events_import_says_where_the_input_is_not_json(text, message, sqlite_db):
    done = run_cli("events", "import", "-", env=cli_env(sqlite_db), input=text)
    assert done.returncode == 2
    assert f"cannot read standard input: {message}" in done.stderr


# --- events list ---------------------------------------------------------------------------------


def graphql_fields(type_name: str) -> set[str]:
    sdl = (Path(__file__).resolve().parents[1] / "schema.graphql").read_text(encoding="utf-8")
    found = build_schema(sdl).type_map[type_name]
    assert isinstance(found, GraphQLObjectType)
    return set(found.fields)


def test_events_list_filters_by_window_and_coach(sqlite_db, tmp_path):
    env = cli_env(sqlite_db)
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    anna, boris = uuid.uuid4(), uuid.uuid4()
    events = {
        "anna-2": event_json(coach=anna, start=day + timedelta(days=2)),
        "anna-3": event_json(coach=anna, start=day + timedelta(days=3)),
        "boris-2": event_json(coach=boris, start=day + timedelta(days=2, hours=2), public=False),
        "anna-20": event_json(coach=anna, start=day + timedelta(days=20)),
    }
    source = write_events(tmp_path / "events.json", list(events.values()))
    assert run_cli("events", "import", str(source), env=env).returncode == 0

    def listed(*args: str) -> list[dict[str, Any]]:
        done = run_cli("events", "list", *args, "--json", env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def names(found: list[dict[str, Any]]) -> list[str]:
        by_id = {e["eventId"]: name for name, e in events.items()}
        return [by_id[e["eventId"]] for e in found]

    on_day_2 = [
        f"--from={(day + timedelta(days=2)).date()}",
        f"--to={(day + timedelta(days=3)).date()}",
    ]
    assert names(listed()) == ["anna-2", "boris-2", "anna-3"], "default: the next 14 days"
    assert names(listed(*on_day_2)) == ["anna-2", "boris-2"]
    assert names(listed(*on_day_2, f"--coach={anna}")) == ["anna-2"]
    assert names(listed(f"--from={(day + timedelta(days=19)).isoformat()}")) == ["anna-20"]

    [boris_2] = listed(*on_day_2, f"--coach={boris}")
    assert set(boris_2) == graphql_fields("Event") & set(boris_2), "GraphQL's Event fields"
    assert set(boris_2["timeslot"]) <= graphql_fields("TimeSlot")
    assert boris_2["seatsLeft"] == 5
    assert boris_2["timeslot"]["public"] is False

    text = run_cli("events", "list", *on_day_2, env=env)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("2 event(s) from ")
    assert events["boris-2"]["eventId"] in lines[2]
    assert "private" in lines[2]


def test_events_list_refuses_a_time_without_offset(sqlite_db):
    done = run_cli("events", "list", "--from", "2026-06-01T09:00:00", env=cli_env(sqlite_db))
    assert done.returncode == 2
    assert "give an offset" in done.stderr


# --- JSON outputs, help, database, exit codes ----------------------------------------------------


def test_notify_prints_its_summary_in_graphql_s_names(sqlite_db):
    done = run_cli("notify", env=cli_env(sqlite_db))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == graphql_fields("NotifySummary")
    assert "expiredBookings" in summary


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


def test_every_option_has_a_help_line_with_its_default():
    from leko_bookings.cli import build_parser

    seen = 0
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(
                action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction
            ):
                continue
            where = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where}: no help"
            if action.option_strings:
                assert "default" in action.help or "(required)" in action.help, where
                seen += 1
    assert seen > 25


def test_help_shows_descriptions_defaults_and_exit_codes():
    serve = run_cli("serve", "--help", env=cli_env())
    text = " ".join(serve.stdout.split())
    assert "--host HOST address to listen on (default: 127.0.0.1)" in text
    assert "--port PORT port (default: 8000)" in text
    assert "--notify-every SECONDS run notify every SECONDS" in text
    assert "exit status:" in text
    imported = " ".join(run_cli("events", "import", "--help", env=cli_env()).stdout.split())
    assert "NDJSON" in imported
    assert "FILE the events' file, or - for standard input" in imported
    top = " ".join(run_cli("--help", env=cli_env()).stdout.split())
    assert "database: sqlite://leko_bookings.sqlite3 (the default; the file /" in top
    assert "3 the database cannot be reached" in top


def test_version():
    done = run_cli("--version", env=cli_env())
    assert done.returncode == 0
    assert done.stdout.strip() == f"leko-bookings {leko_bookings.__version__}"


@pytest.mark.parametrize(
    "command",
    [("migrate",), ("notify",), ("events", "list"), ("-v", "seed", "--print-env"), ("token",)],
    ids=lambda c: "-".join(c),
)
def test_verbose_says_which_database_the_command_uses(command, sqlite_db):
    args = [*command, "-v"] if command[0] != "-v" else list(command)
    if command == ("token",):
        args += ["--sub", str(uuid.uuid4()), "--role", "athlete"]
    done = run_cli(*args, env=cli_env(sqlite_db))
    assert done.returncode == 0, done.stderr
    if command == ("token",):
        assert "leko-bookings: this command uses no database" in done.stderr
        assert "tokens signed with LEKO_JWT_SECRET" in done.stderr
    else:
        assert f"leko-bookings: database: {sqlite_db} (LEKO_DATABASE_URL; the file /" in done.stderr
    assert "database:" not in done.stdout, "results only on stdout"


def test_an_unreachable_database_is_exit_3_naming_it_without_its_password():
    url = f"postgres://leko:s3cret@127.0.0.1:{free_port()}/nowhere"
    done = run_cli("events", "list", env=cli_env() | {"LEKO_DATABASE_URL": url})
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("leko-bookings: the database cannot be reached: ")
    assert "[database: postgres://leko:***@127.0.0.1:" in last
    assert "s3cret" not in done.stderr
    assert "Traceback" not in done.stderr


# --- serve --notify-every ------------------------------------------------------------------------

INBOX = "{ notifications(first: 10) { nodes { rule status } } }"


async def test_serve_notify_every_delivers_notifications(sqlite_db, tmp_path):
    env = cli_env(sqlite_db)
    coach, athlete = uuid.uuid4(), uuid.uuid4()
    event = event_json(coach=coach, start=datetime.now(UTC) + timedelta(days=2))
    assert run_cli("events", "import", "-", env=env, input=json.dumps([event])).returncode == 0
    log = tmp_path / "server.log"
    async with serving(env, log, "--notify-every", "0.5") as http:
        r = await http.post(
            "/v1/bookings",
            json=order_body(athlete, uuid.UUID(event["eventId"])),
            headers=bearer(athlete, "athlete"),
        )
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while True:
            r = await http.post("/graphql", json={"query": INBOX}, headers=bearer(coach, "coach"))
            nodes = r.json()["data"]["notifications"]["nodes"]
            if nodes and {n["status"] for n in nodes} == {"Sent"}:
                break
            assert time.monotonic() < deadline, f"not delivered: {nodes}\n{_log(log)}"
            await asyncio.sleep(0.2)  # waiting for the notify process, not for simulated time
    assert [n["rule"] for n in nodes] == ["bookingCreated"]
    assert "notify run: " in _log(log)
    deadline = time.monotonic() + 10
    while _notify_processes(sqlite_db):  # the runs stop with the server
        assert time.monotonic() < deadline, "notify --every outlived its server"
        await asyncio.sleep(0.2)  # waiting for a process to exit, not for simulated time


def _notify_processes(url: str) -> list[int]:
    """`notify --every` processes on this database, from /proc."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"--every" in command and f"LEKO_DATABASE_URL={url}".encode() in environ:
            found.append(int(proc.name))
    return found


# --- seed: the demo ------------------------------------------------------------------------------


def print_env(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    done = run_cli("seed", "--print-env", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith("export ") for line in lines), done.stdout
    return dict(line.split()[1].split("=", 1) for line in lines)


def _bookings(path: Path) -> dict[str, tuple[str, datetime, int]]:
    """booking id -> (status, end, its event's capacity), straight from the SQLite file."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT b.id, b.status, b.end_at, e.capacity FROM booking b JOIN event e "
            "ON e.id = b.event_id"
        ).fetchall()
    finally:
        conn.close()
    return {str(i): (s, datetime.fromisoformat(end), cap) for i, s, end, cap in rows}


def test_seed_gives_stable_ids_and_bookings_for_every_step(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    ids = print_env(first, cli_env())
    other = print_env(second, cli_env())  # another database
    people_and_events = [k for k in ids if k.endswith("_ID") and "BOOKING" not in k]
    assert {"ATHLETE_ID", "COACH_ID", "ADMIN_ID", "EVENT_ID", "FULL_EVENT_ID"} <= set(
        people_and_events
    )
    assert {k: ids[k] for k in people_and_events} == {k: other[k] for k in people_and_events}
    again = print_env(first, cli_env())  # the same database: nothing booked twice
    assert {k: v for k, v in again.items() if k.endswith("_ID")} == {
        k: v for k, v in ids.items() if k.endswith("_ID")
    }

    now = datetime.now(UTC)
    bookings = _bookings(first / DEFAULT_SQLITE_FILE)
    for name in ("PAST_BOOKING_ID", "PAST_BOOKING_2_ID", "PAST_BOOKING_3_ID"):
        status, end, _ = bookings[ids[name]]
        assert (status, end < now) == ("Accepted", True), name
    for name in ("PENDING_BOOKING_ID", "PENDING_BOOKING_2_ID"):
        assert bookings[ids[name]][0] == "Pending", name
    status, end, _ = bookings[ids["UPCOMING_BOOKING_ID"]]
    assert (status, end > now) == ("Accepted", True)
    full = [b for b in bookings.values() if b[2] == 3]  # the full event's capacity
    assert len(full) == 3
    assert ids["BASE_URL"] == "http://127.0.0.1:8000"


async def test_a_served_app_freezes_what_lives_once_it_has_started(monkeypatch):
    """`serve`'s factory (`serving.served_app`): after the app's own startup, the objects alive
    are frozen out of the cyclic collector and young objects are collected less often; the app's
    own startup and shutdown still run around it."""
    from fastapi import FastAPI

    from leko_bookings import serving

    steps: list[str] = []

    @asynccontextmanager
    async def started(app: FastAPI) -> AsyncIterator[None]:
        steps.append("startup")
        yield
        steps.append("shutdown")

    monkeypatch.setattr("leko_bookings.app.create_app", lambda: FastAPI(lifespan=started))
    threshold = gc.get_threshold()
    app = serving.served_app()
    try:
        assert gc.get_freeze_count() == 0
        async with app.router.lifespan_context(app):
            assert steps == ["startup"]
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == serving.YOUNG_OBJECTS
        assert steps == ["startup", "shutdown"]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
