"""Every error /graphql answers before execution is a GraphQL response, rendered by the GraphQL
side (schema/endpoint.py): `errors[0].extensions.code` is the contract's code, the HTTP status
and the headers are the same as REST's for the same failure."""

from __future__ import annotations

import logging

import pytest

from leko_bookings.resolvers import rate_limits
from tests.conftest import Users
from tests.graphql_errors import assert_graphql_error

LIMIT = 1_048_576  # Settings.max_body_bytes default
QUERY = {"query": "{ __typename }"}


async def test_401_without_a_token(client):
    r = await client.post("/graphql", json=QUERY)
    assert_graphql_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_401_with_a_bad_token(client):
    r = await client.post("/graphql", json=QUERY, headers={"Authorization": "Bearer nonsense"})
    assert_graphql_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_413_declared(client, users: Users):
    body = {**QUERY, "variables": {"pad": "z" * (LIMIT + 1)}}
    r = await client.post("/graphql", json=body, headers=users.as_athlete)
    error = assert_graphql_error(r, 413, "validation")
    assert str(LIMIT) in error["message"]


async def test_413_streamed_without_length(client, users: Users):
    async def stream():
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(20):
            yield b"y" * 65_536
        yield b'"}'

    headers = {**users.as_athlete, "content-type": "application/json"}
    r = await client.post("/graphql", content=stream(), headers=headers)
    assert_graphql_error(r, 413, "validation")


async def test_503_when_the_database_is_unreachable_before_execution(
    client, users: Users, monkeypatch, caplog
):
    async def refused(*args: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(rate_limits, "take_request", refused)
    r = await client.post("/graphql", json=QUERY, headers=users.as_athlete)
    assert_graphql_error(r, 503, "unexpected")
    assert r.headers["retry-after"] == "1"
    assert any("database unavailable" in rec.getMessage() for rec in caplog.records)


async def test_500_for_any_other_failure_before_execution(
    client, users: Users, monkeypatch, caplog
):
    async def broken(*args: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(rate_limits, "take_request", broken)
    r = await client.post("/graphql", json=QUERY, headers=users.as_athlete)
    error = assert_graphql_error(r, 500, "internal")
    assert "disk" not in error["message"]
    [record] = [rec for rec in caplog.records if rec.levelno == logging.ERROR]
    assert record.exc_info is not None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b'{"variables": {}}', "query"), (b'{"query": ', "json")],
    ids=["no-query", "unreadable-json"],
)
async def test_400_for_a_request_strawberry_cannot_read(client, users: Users, body, fragment):
    headers = {**users.as_athlete, "content-type": "application/json"}
    r = await client.post("/graphql", content=body, headers=headers)
    error = assert_graphql_error(r, 400, "validation")
    assert fragment in error["message"].lower()


async def test_400_for_a_mutation_over_get(client, users: Users):
    params = {"query": "mutation { __typename }"}
    r = await client.get("/graphql", params=params, headers=users.as_athlete)
    error = assert_graphql_error(r, 400, "validation")
    assert "mutations are not allowed" in error["message"].lower()


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_good_request_is_unchanged(client, users: Users, method):
    if method == "GET":
        r = await client.get("/graphql", params=QUERY, headers=users.as_athlete)
    else:
        r = await client.post("/graphql", json=QUERY, headers=users.as_athlete)
    assert r.status_code == 200, r.text
    assert r.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_on_graphql_are_a_graphql_shaped_405(client, users, method):
    r = await client.request(method, "/graphql", headers=users.as_athlete)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "validation"
    assert method in error["message"]
