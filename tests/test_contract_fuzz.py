"""Contract fuzzing: schemathesis 4 against a real server (uvicorn on loopback, PostgreSQL).

REST: the contract itself (../shared/openapi.yaml; the vendored copy, proven byte-identical by
test_published_documents, when shared/ is not beside the repository), every check, the examples,
coverage, fuzzing and stateful phases, a fixed seed, at least 1,000 generated cases, zero
failures. The exceptions are per operation, each with its reason, in tests/schemathesis.toml.
GraphQL: the same server's /graphql, fuzzed from schema.graphql: zero server errors.

Every request is authenticated as one user with the roles admin and scheduler. The database is
seeded first with the ids the configuration names, so that generated requests reach the
service's rules instead of 404s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from leko_bookings.auth import mint_token
from leko_bookings.settings import Settings
from tests.conftest import SECRET, create_pg_database, drop_pg_database, pg_url
from tests.contract import contract_path
from tests.factories import event_json
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parents[1]
REST_CONFIG = ROOT / "tests" / "schemathesis.toml"
GRAPHQL_CONFIG = ROOT / "tests" / "schemathesis-graphql.toml"
SEED = 20261125
REST_MAX_EXAMPLES = 100  # per operation and phase: about 1,400 cases in all (~1 min)
GRAPHQL_MAX_EXAMPLES = 30  # per query or mutation field
MIN_REST_CASES = 1000

# The contract's example user id (`UserId.example`): the athlete holding the seeded bookings.
ATHLETE = uuid.UUID("00000000-0000-1000-9000-55f01dda9dd0")
COACH = uuid.UUID("7d1f0c3a-5b2e-4e8f-8a6d-2c9b1e0f4a37")

UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename ... on Error { message } }
}
"""
CANCEL = """
mutation Cancel($id: UUID!) {
  cancelBooking(bookingId: $id, reasonCode: NoTime) { __typename ... on Error { message } }
}
"""


@dataclass(frozen=True)
class Ids:
    """The ids tests/schemathesis.toml names (its dictionaries), read from it."""

    caller: uuid.UUID
    events: list[uuid.UUID]
    erasable_athlete: uuid.UUID
    erasable_coach: uuid.UUID

    @classmethod
    def from_config(cls) -> Ids:
        dictionaries = tomllib.loads(REST_CONFIG.read_text(encoding="utf-8"))["dictionaries"]

        def ids(name: str) -> list[uuid.UUID]:
            return [uuid.UUID(value) for value in dictionaries[name]["values"]]

        [caller] = ids("caller")
        athlete, coach = ids("erasable")
        return cls(caller, ids("events"), athlete, coach)


IDS = Ids.from_config()


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    log: Path


def _event(event_id: uuid.UUID, start: datetime, **kwargs: Any) -> dict[str, Any]:
    return event_json(coach=kwargs.pop("coach", COACH), start=start, event_id=event_id, **kwargs)


def seed(url: str, token: str) -> None:
    """Events (the configured ids), bookings in every state the contract's operations act on."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ahead = now.replace(minute=0) + timedelta(days=2)
    example, *public, private, one_seat, soon, ended = IDS.events
    ended_too, to_cancel, pending_too, erasable_coachs = (uuid.uuid4() for _ in range(4))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:

        def upsert(*events: dict[str, Any]) -> None:
            r = client.post("/graphql", json={"query": UPSERT, "variables": {"events": events}})
            assert r.json()["data"]["upsertEvents"]["__typename"] == "UpsertEventsSuccess", r.text

        def book(user: uuid.UUID, *events: uuid.UUID) -> dict[str, str]:
            body = {
                "userId": str(user),
                "eventIds": [str(e) for e in events],
                "paymentMethod": {"type": "Cash"},
            }
            r = client.post("/v1/bookings", json=body)
            assert r.status_code == 201, r.text
            return {b["eventId"]: b["bookingId"] for b in r.json()["bookings"]}

        # The two "ended" events are ahead while they are booked, then moved to yesterday.
        upsert(
            _event(example, ahead.replace(hour=8), capacity=1000),
            *(
                _event(event, ahead + timedelta(days=1 + n, hours=8), capacity=1000)
                for n, event in enumerate(public)
            ),
            _event(private, ahead.replace(hour=10), capacity=1000, public=False),
            _event(one_seat, ahead.replace(hour=12), capacity=1),
            _event(soon, now + timedelta(minutes=20), capacity=1000),
            _event(ended, ahead.replace(hour=14)),
            _event(ended_too, ahead.replace(hour=16)),
            _event(to_cancel, ahead.replace(hour=18)),
            _event(pending_too, ahead.replace(hour=20), public=False),
            _event(erasable_coachs, ahead.replace(hour=22), coach=IDS.erasable_coach),
        )
        booked = book(ATHLETE, ended, ended_too, to_cancel, pending_too, erasable_coachs)
        book(IDS.erasable_athlete, one_seat)
        r = client.post(
            "/graphql", json={"query": CANCEL, "variables": {"id": booked[str(to_cancel)]}}
        )
        assert r.json()["data"]["cancelBooking"]["__typename"] == "Booking", r.text
        yesterday = now.replace(minute=0) - timedelta(days=1)
        upsert(
            _event(ended, yesterday.replace(hour=8)),
            _event(ended_too, yesterday.replace(hour=10)),
        )


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    name = f"leko_fuzz_{uuid.uuid4().hex[:8]}"
    await create_pg_database(name)
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    env = {
        "LEKO_DATABASE_URL": pg_url(name).replace("maxsize=60", "maxsize=10"),
        "LEKO_JWT_SECRET": SECRET,
    }
    settings = Settings(jwt_secret=SECRET)
    token = mint_token(settings, IDS.caller, ["admin", "scheduler"], ttl=timedelta(hours=1))
    try:
        with live_server(env, log=log) as url:
            seed(url, token)
            yield Server(url, token, log)
    finally:
        await drop_pg_database(name)


def run_schemathesis(
    server: Server, config: Path, location: str, url: str, report: Path, *args: str
) -> tuple[dict[str, Any], str]:
    """`st run` in a process of its own; its JSON report and its output."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        location,
        "--url",
        url,
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *args,
    ]
    env = {**os.environ, "LEKO_FUZZ_TOKEN": server.token, "NO_COLOR": "1"}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout + done.stderr
    assert report.exists(), output
    return json.loads(report.read_text(encoding="utf-8")), output


def _server_log_tail(server: Server) -> str:
    lines = server.log.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[-200:] if "notification {" not in line)


def test_config_configures_checks_only_per_operation() -> None:
    """No check is turned off anywhere; an exception only widens, for one operation, the statuses
    `positive_data_acceptance` accepts by the contract's own 400 (its reason is beside it)."""
    config = tomllib.loads(REST_CONFIG.read_text(encoding="utf-8"))
    assert set(config) == {"headers", "hooks", "cache", "generation", "dictionaries", "operations"}
    defaults = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
    for operation in config["operations"]:
        assert set(operation) <= {"include-operation-id", "parameters", "checks"}, operation
        checks = operation.get("checks", {})
        assert set(checks) <= {"positive_data_acceptance"}, operation
        if checks:
            statuses = checks["positive_data_acceptance"]["expected-statuses"]
            assert sorted(statuses) == sorted([*defaults, "400"]), operation
    graphql = tomllib.loads(GRAPHQL_CONFIG.read_text(encoding="utf-8"))
    assert set(graphql) <= {"headers", "hooks", "cache", "generation", "dictionaries", "parameters"}


def test_rest_contract_fuzzing(server: Server, tmp_path: Path) -> None:
    result, output = run_schemathesis(
        server,
        REST_CONFIG,
        str(contract_path()),
        f"{server.url}/v1",
        tmp_path / "rest.json",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(REST_MAX_EXAMPLES),
    )
    print(f"\nREST: {result['test_cases']} in {result['running_time']:.0f} s")
    failed = f"{output}\n--- server log ---\n{_server_log_tail(server)}"
    assert result["exit_code"] == 0, failed
    assert result["failures"] == [], failed
    assert result["errors"] == [], failed
    assert all(p["status"] == "success" for p in result["phases"].values()), result["phases"]
    assert result["operations"]["tested"] == result["operations"]["total"] == 9
    assert result["test_cases"]["generated"] >= MIN_REST_CASES, result["test_cases"]
    assert result["filtered"] == 0, "no REST failure is dropped by a hook"


def test_graphql_fuzzing(server: Server, tmp_path: Path) -> None:
    result, output = run_schemathesis(
        server,
        GRAPHQL_CONFIG,
        str(ROOT / "schema.graphql"),
        f"{server.url}/graphql",
        tmp_path / "graphql.json",
        "--max-examples",
        str(GRAPHQL_MAX_EXAMPLES),
    )
    print(
        f"\nGraphQL: {result['test_cases']} in {result['running_time']:.0f} s, "
        f"{result['filtered']} refusals (extensions.code) dropped"
    )
    failed = f"{output}\n--- server log ---\n{_server_log_tail(server)}"
    assert result["exit_code"] == 0, failed
    assert result["failures"] == [], failed
    assert result["errors"] == [], failed
    assert result["phases"]["fuzzing"]["status"] == "success", result["phases"]
    assert result["operations"]["tested"] == result["operations"]["total"]
    assert result["test_cases"]["generated"] >= 300, result["test_cases"]


def test_server_logged_no_unexpected_error(server: Server) -> None:
    """After both runs: nothing reached the unexpected-error handler (a 500 `internal`)."""
    assert "unexpected error on" not in server.log.read_text(encoding="utf-8")
