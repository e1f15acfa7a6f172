"""/graphql at its edges answers as REST does, in GraphQL's shape: JSON that is malformed, not
an object or nested too deeply is a 400 GraphQL error (once a 500 with two tracebacks); a batch
is a 400 saying batching is off; the database unreachable during any operation, query or
mutation, is HTTP 503 with Retry-After, `data` null and one error `unexpected` with
`retryAfter` (once a 200 whose error said "Unexpected error.", so a client did not retry).

In process on SQLite and PostgreSQL (the failure raised where the store would raise it), and
for real on PostgreSQL: a served process reaching it through the loopback proxy of
tests/test_database_outage.py, which refuses (`cut`) or swallows (`blackhole`) its traffic.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from leko_bookings.resolvers import ordering, reading
from leko_bookings.schema.endpoint import MAX_JSON_DEPTH
from tests.conftest import (
    Users,
)
from tests.factories import event_json
from tests.graphql_errors import assert_graphql_error
from tests.test_database_outage import Service, bearer, served_through_proxy

QUERY = "{ __typename }"
BOOKINGS = '{ bookings(userId: "%s") { nodes { bookingId } } }'
BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash}) { __typename }
}
"""
UPSERT = """
mutation Upsert($events: [EventInput!]!) {
  upsertEvents(events: $events) { __typename }
}
"""
JSON = {"content-type": "application/json"}


def nested(depth: int) -> str:
    """A JSON array `depth` levels deep: `[[[...]]]`."""
    return "[" * depth + "]" * depth


def with_variables(variables: str) -> bytes:
    """A request body (level 1) whose `variables` (level 2) hold `x`: the raw JSON given."""
    return f'{{"query": "{QUERY}", "variables": {{"x": {variables}}}}}'.encode()


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# --- Malformed JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"query": ', b'{"query": "{ __typename }"} trailing', b"\xff\xfe{}", b""],
    ids=["truncated", "trailing-garbage", "not-utf8", "empty"],
)
async def test_malformed_json_is_400(client, users: Users, body, caplog):
    r = await client.post("/graphql", content=body, headers=users.as_athlete | JSON)
    error = assert_graphql_error(r, 400, "validation")
    assert "json" in error["message"].lower()
    no_error_logged(caplog)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'"{ __typename }"', "a string"),
        (b"42", "a number"),
        (b"true", "a boolean"),
        (b"null", "null"),
    ],
)
async def test_json_that_is_not_an_object_is_400(client, users: Users, body, kind, caplog):
    r = await client.post("/graphql", content=body, headers=users.as_athlete | JSON)
    error = assert_graphql_error(r, 400, "validation")
    assert error["message"] == f"The request's JSON must be an object, not {kind}."
    no_error_logged(caplog)


# --- Nesting ------------------------------------------------------------------------------------


async def test_json_nested_to_the_limit_is_read(client, users: Users):
    body = with_variables(nested(MAX_JSON_DEPTH - 2))  # the body and `variables`: 2 levels
    r = await client.post("/graphql", content=body, headers=users.as_athlete | JSON)
    assert r.status_code == 200, r.text
    assert r.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "depth", [MAX_JSON_DEPTH - 1, 1_000, 100_000], ids=["one-over", "1000", "100000"]
)
async def test_json_nested_deeper_is_400(client, users: Users, depth, caplog):
    body = with_variables(nested(depth))
    r = await client.post("/graphql", content=body, headers=users.as_athlete | JSON)
    error = assert_graphql_error(r, 400, "validation")
    assert error["message"] == f"The request's JSON is nested deeper than {MAX_JSON_DEPTH} levels."
    no_error_logged(caplog)


async def test_the_nesting_rest_refuses_graphql_refuses_too(client, users: Users):
    """The found case: 100,000 levels. REST: 400 (its parser gives up); GraphQL: 400 too."""
    deep = nested(100_000)
    rest = await client.post(
        "/v1/bookings", content=f'{{"userId": {deep}}}', headers=users.as_athlete | JSON
    )
    assert rest.status_code == 400
    graphql = await client.post(
        "/graphql", content=with_variables(deep), headers=users.as_athlete | JSON
    )
    assert_graphql_error(graphql, 400, "validation")


@pytest.mark.parametrize("parameter", ["variables", "extensions"])
async def test_deep_json_in_get_parameters_is_400(client, users: Users, parameter):
    params = {"query": QUERY, parameter: f'{{"x": {nested(MAX_JSON_DEPTH)}}}'}
    r = await client.get("/graphql", params=params, headers=users.as_athlete)
    assert_graphql_error(r, 400, "validation")


# --- Batches ------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [[{"query": QUERY}, {"query": QUERY}], [{"query": QUERY}], []])
async def test_a_batch_is_400_saying_batching_is_off(client, users: Users, batch, caplog):
    r = await client.post("/graphql", content=orjson.dumps(batch), headers=users.as_athlete | JSON)
    error = assert_graphql_error(r, 400, "validation")
    assert "batching is not enabled" in error["message"].lower()
    no_error_logged(caplog)


# --- The database unreachable, in process -------------------------------------------------------


def assert_unavailable(r: httpx.Response) -> dict[str, Any]:
    """HTTP 503 with Retry-After; `data` null; one error `unexpected` with `retryAfter` and the
    request id. Returns the error."""
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "unexpected",
        "retryAfter": 1,
        "requestId": r.headers["x-request-id"],
    }
    assert "retry" in error["message"]
    return error


def unreachable(exc: BaseException) -> Any:
    async def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.fixture(
    params=[
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    ],
    ids=["refused", "timeout", "connection-lost"],
)
def outage(request: pytest.FixtureRequest) -> BaseException:
    return request.param


async def test_the_database_unreachable_during_a_query_is_503(
    client, users: Users, monkeypatch, outage, caplog
):
    monkeypatch.setattr(reading, "list_bookings", unreachable(outage))
    r = await client.post(
        "/graphql", json={"query": BOOKINGS % users.athlete}, headers=users.as_athlete
    )
    assert_unavailable(r)
    # One warning line (an outage), no traceback (not a defect).
    no_error_logged(caplog)
    assert any("database unavailable" in rec.getMessage() for rec in caplog.records)


async def test_the_database_unreachable_during_a_mutation_is_503(
    client, users: Users, monkeypatch, outage, caplog
):
    monkeypatch.setattr(ordering, "book_events", unreachable(outage))
    variables = {"userId": str(users.athlete), "eventIds": [str(uuid.uuid4())]}
    r = await client.post(
        "/graphql", json={"query": BOOK, "variables": variables}, headers=users.as_athlete
    )
    assert_unavailable(r)
    no_error_logged(caplog)


async def test_other_failures_stay_masked_with_http_200(client, users: Users, monkeypatch):
    """The classification is REST's (`db.database_unavailable`): a failure that is not the
    database being unreachable is no reason to retry."""
    monkeypatch.setattr(reading, "list_bookings", unreachable(RuntimeError("the disk is on fire")))
    r = await client.post(
        "/graphql", json={"query": BOOKINGS % users.athlete}, headers=users.as_athlete
    )
    assert r.status_code == 200
    assert "retry-after" not in r.headers
    assert r.json()["errors"][0]["message"] == "Unexpected error."


# --- The database unreachable, for real ---------------------------------------------------------

TIMEOUT = 1.0  # LEKO_DATABASE_TIMEOUT_SECONDS of the served process


@pytest.fixture(scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """A served process on a fresh PostgreSQL database, reached through a `PgProxy`."""
    async with served_through_proxy(tmp_path_factory.mktemp("edges"), TIMEOUT) as served:
        yield served


async def a_query_and_a_mutation(client: httpx.AsyncClient) -> list[httpx.Response]:
    """At once: an athlete's bookings, and a scheduler publishing an event."""
    athlete = uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    events = [event_json(coach=uuid.uuid4(), start=start)]
    return list(
        await asyncio.gather(
            client.post(
                "/graphql",
                json={"query": BOOKINGS % athlete},
                headers=bearer(athlete, "athlete"),
            ),
            client.post(
                "/graphql",
                json={"query": UPSERT, "variables": {"events": events}},
                headers=bearer(uuid.uuid4(), "scheduler"),
            ),
        )
    )


def assert_served(answers: list[httpx.Response]) -> None:
    for r in answers:
        assert r.status_code == 200, r.text
        assert "errors" not in r.json(), r.text


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("failure", "bound"),
    # Refused: at once. Swallowed: the statement's timeout, then its cancel request's.
    [("cut", TIMEOUT), ("blackhole", 2 * TIMEOUT + 2)],
    ids=["cut", "blackhole"],
)
async def test_a_real_outage_is_503_for_queries_and_mutations_until_postgres_is_back(
    service: Service, failure: str, bound: float
):
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        assert_served(await a_query_and_a_mutation(client))
        getattr(service.proxy, failure)()
        try:
            started = time.monotonic()
            answers = await a_query_and_a_mutation(client)
            elapsed = time.monotonic() - started
        finally:
            service.proxy.restore()
        for r in answers:
            assert_unavailable(r)
        assert elapsed <= bound, f"{elapsed:.2f} s"
        # PostgreSQL is back: the same process serves again (polled, with a deadline).
        deadline = time.monotonic() + 30
        while True:
            answers = await a_query_and_a_mutation(client)
            if all(r.status_code == 200 for r in answers):
                break
            for r in answers:
                if r.status_code != 200:
                    assert_unavailable(r)
            assert time.monotonic() < deadline, "not served again"
            await asyncio.sleep(0.05)  # polling for the pool to reconnect
        assert_served(answers)
    assert "Traceback" not in service.log.read_text()  # warnings only: an outage, not a defect
