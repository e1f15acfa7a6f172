"""Logs (issue 15, item 6): `LEKO_LOG_FORMAT=json|text` (json unless stderr is a terminal); a
JSON record is one object on one line with time, level, logger, message and the request's
fields (requestId, method, route template, status, durationMs, the caller's userId, never the
token); one access line per request, written by the service instead of uvicorn's; one line per
notification; a traceback inside one string field."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from leko_bookings import logs
from leko_bookings.auth import mint_token
from leko_bookings.channels import LogChannel, Message
from leko_bookings.logs import JsonFormatter, TextFormatter, default_format, logging_config
from leko_bookings.settings import Settings
from tests.conftest import SECRET
from tests.live_server import live_server

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def records(self) -> list[dict[str, Any]]:
        """Every record written, each one line holding one JSON object."""
        text = self.stream.getvalue()
        return [json.loads(line) for line in text.splitlines()]

    def server(self) -> str:
        """What the service logged (not the test's HTTP client, which logs its requests)."""
        return "\n".join(json.dumps(r) for r in self.records() if r["logger"] != "httpx")

    def access(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["logger"] == "leko_bookings.access"]

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The root logger at INFO writing JSON into a buffer, for one test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# -- the access line ----------------------------------------------------------------------------


async def test_one_access_line_per_request_with_its_fields(client, users, captured):
    headers = users.as_athlete | {"traceparent": TRACEPARENT}
    missing = uuid.uuid4()
    r = await client.get(f"/v1/bookings/{missing}", headers=headers)
    assert r.status_code == 404
    [line] = captured.access()
    assert TIME.match(line.pop("time"))
    assert line.pop("durationMs") >= 0
    assert line == {
        "level": "INFO",
        "logger": "leko_bookings.access",
        "message": line["message"],
        "requestId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "method": "GET",
        "route": "/v1/bookings/{bookingId}",
        "status": 404,
        "userId": str(users.athlete),
    }
    assert line["message"].startswith("GET /v1/bookings/{bookingId} 404 ")
    assert r.headers["x-request-id"] == line["requestId"]
    token = headers["Authorization"].removeprefix("Bearer ")
    assert token not in captured.text
    assert str(missing) not in captured.server()  # the template, never the raw path


async def test_without_a_valid_token_no_user_is_named(client, captured):
    r = await client.get("/v1/bookings", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    [line] = captured.access()
    assert "userId" not in line
    assert (line["route"], line["status"]) == ("/v1/bookings", 401)
    assert "not.a.token" not in captured.text


async def test_graphql_access_line_names_the_operation(client, users, captured):
    query = "query Whoami { viewer { userId } }"
    r = await client.post("/graphql", json={"query": query}, headers=users.as_coach)
    assert r.status_code == 200, r.text
    [line] = captured.access()
    assert line["route"] == "/graphql"
    assert (line["operation"], line["operationType"]) == ("Whoami", "query")
    assert line["userId"] == str(users.coach)


async def test_probes_write_no_access_line(client, captured):
    for probe in ("/healthz", "/readyz"):
        assert (await client.get(probe)).status_code == 200
    assert captured.access() == []


async def test_records_written_while_answering_carry_the_request(app, users, captured, monkeypatch):
    """An unexpected failure: its ERROR record names the request and holds its traceback in one
    string; the access line says 500."""
    from leko_bookings.resolvers import reading

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(reading, "get_booking", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # no contract check
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get(f"/v1/bookings/{uuid.uuid4()}", headers=users.as_athlete)
    assert r.status_code == 500
    [error] = [x for x in captured.records() if x["level"] == "ERROR"]
    assert error["requestId"] == r.headers["x-request-id"]
    assert error["userId"] == str(users.athlete)
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom\nsecond line" in error["exception"]
    [line] = captured.access()
    assert line["status"] == 500
    assert len(captured.text.splitlines()) == len(captured.records())


# -- records ------------------------------------------------------------------------------------


def record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord(
        "leko_bookings.test", logging.WARNING, __file__, 1, message, args, None
    )
    made.__dict__.update(extra)
    return made


def test_a_json_record_is_one_line_whatever_it_holds():
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        failure = record("a message\nover two lines: %s", "x")
        failure.exc_info = sys.exc_info()
    text = JsonFormatter().format(failure)
    assert "\n" not in text
    parsed = json.loads(text)
    assert parsed["message"] == "a message\nover two lines: x"
    assert parsed["level"] == "WARNING"
    assert "ValueError: first\nsecond" in parsed["exception"]


def test_a_text_record_carries_the_request_fields():
    request = logs.RequestLog(request_id="abc", method="GET", route="/v1/bookings")
    token = logs.REQUEST.set(request)
    try:
        text = TextFormatter().format(record("hello", status=200))
    finally:
        logs.REQUEST.reset(token)
    assert text.endswith(
        "WARNING leko_bookings.test: hello requestId=abc method=GET route=/v1/bookings status=200"
    )


async def test_each_notification_is_one_record_of_one_line(captured):
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    messages = [
        Message(
            uuid.uuid4(),
            "reminder1h",
            uuid.uuid4(),
            uuid.uuid4(),
            "Athlete",
            1,
            now,
            uuid.uuid4(),
            now,
            now,
            "Accepted",
        )
        for _ in range(3)
    ]
    assert await LogChannel().deliver(messages) == {}
    lines = [r for r in captured.records() if r["logger"] == "leko_bookings.notifications"]
    assert len(lines) == 3
    for line, message in zip(lines, messages, strict=True):
        assert line["message"].startswith("notification {")
        payload = json.loads(line["message"].removeprefix("notification "))
        assert payload["id"] == str(message.id)


# -- the setting --------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_defaults_to_text_on_a_terminal_and_json_elsewhere():
    assert default_format(Terminal()) == "text"
    assert default_format(io.StringIO()) == "json"
    assert Settings(log_format="text").log_format == "text"
    assert Settings().log_format is None
    with pytest.raises(ValidationError):
        Settings(log_format="xml")
    formatter = logging_config("text")["formatters"]["default"]["()"]
    assert formatter.endswith(".TextFormatter")
    assert logging_config("json")["formatters"]["default"]["()"].endswith(".JsonFormatter")


def test_serve_writes_json_lines_and_not_uvicorns_access_log(tmp_path: Path):
    """A real server whose output is a file: every line is a JSON record; the service's access
    line replaces uvicorn's; the probes are not logged."""
    log = tmp_path / "server.log"
    env = {"LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'logs.sqlite3'}", "LEKO_JWT_SECRET": SECRET}
    user = uuid.uuid4()
    bearer = {
        "Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), user, ['athlete'])}"
    }
    with live_server(env, "--log-level", "info", log=log) as url:
        assert httpx.get(f"{url}/v1/bookings/{uuid.uuid4()}", headers=bearer).status_code == 404
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/readyz").status_code == 200
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "leko_bookings.access"]
    mine = [r for r in access if r.get("userId") == str(user)]
    assert [(r["route"], r["status"]) for r in mine] == [("/v1/bookings/{bookingId}", 404)]
    assert not [r for r in access if r.get("route") in ("/healthz", "/readyz")]
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    assert "HTTP/1.1" not in log.read_text()
    assert any(r["logger"] == "uvicorn.error" for r in records)  # uvicorn's own, as JSON
