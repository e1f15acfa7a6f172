"""REST routes declare their error responses as the contract does, and the REST renderer shapes
each error body by the matched route's declaration (not by the endpoint's name)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from leko_bookings.app import create_app
from leko_bookings.errors import BookingError, EventRefusal, NotFound, OrderRefused
from leko_bookings.rest_compat.bookings import router
from leko_bookings.rest_compat.openapi import contract
from leko_bookings.rest_compat.responses import (
    ADDED_RESPONSES,
    BOOK_EVENT_ERRORS,
    ERROR,
    ERRORS,
    error_responses,
    schema_ref,
)
from leko_bookings.settings import Settings
from tests.conftest import SECRET

# --- the declarations hold to the contract ----------------------------------------------------


def contract_errors() -> dict[str, dict[int, str | None]]:
    """`METHOD /path` -> {error status: its body's schema ref} as the contract lists them."""
    document = contract()
    shared = document["components"]["responses"]
    operations: dict[str, dict[int, str | None]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors: dict[int, str | None] = {}
            for code, response in operation["responses"].items():
                if int(code) < 400:
                    continue
                if "$ref" in response:  # '#/components/responses/400'
                    response = shared[response["$ref"].rsplit("/", 1)[-1]]
                errors[int(code)] = schema_ref(response)
            operations[f"{method.upper()} {path}"] = errors
    return operations


def route_errors() -> dict[str, dict[int, str | None]]:
    """The same, as the REST routes declare them."""
    declared: dict[str, dict[int, str | None]] = {}
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        errors = {int(code): schema_ref(r) for code, r in route.responses.items()}
        for method in route.methods:
            declared[f"{method} {route.path}"] = errors
    return declared


def test_every_route_declares_the_contract_s_error_responses():
    expected, declared = contract_errors(), route_errors()
    assert set(declared) == set(expected)
    for operation, errors in expected.items():
        listed = {code: declared[operation].get(code, "undeclared") for code in errors}
        assert listed == errors, operation


def test_the_statuses_the_contract_omits_are_declared_as_errors():
    expected = contract_errors()
    for operation, errors in route_errors().items():
        listed = expected[operation]
        added = {code: ref for code, ref in errors.items() if code not in listed}
        assert added == {int(c): ERRORS for c in ADDED_RESPONSES if int(c) not in listed}


def test_a_declaration_overrides_an_added_status():
    responses = error_responses({403: ERRORS, 404: ERROR, 500: None})
    assert schema_ref(responses[404]) == ERROR
    assert schema_ref(responses[401]) == ERRORS
    assert "content" not in responses[500]
    assert set(responses) == {401, 403, 404, 413, 429, 500, 503}


# --- the renderer reads the declaration -------------------------------------------------------


def probe_app() -> FastAPI:
    app = create_app(Settings(jwt_secret=SECRET), manage_database=False)
    refusal = EventRefusal(uuid.UUID(int=7), BookingError.overbooked)

    @app.get("/v1/probe/single", responses=error_responses({404: ERROR}))
    async def single() -> None:
        raise NotFound("No such probe.")

    @app.get("/v1/probe/list")
    async def listed() -> None:
        raise NotFound("No such probe.")

    @app.post("/v1/probe/order", responses=error_responses({400: BOOK_EVENT_ERRORS}))
    async def order() -> None:
        raise OrderRefused("Refused.", refusals=[refusal])

    return app


@pytest.fixture
async def probe() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=probe_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_route_declaring_error_gets_the_single_body(probe):
    r = await probe.get("/v1/probe/single")
    assert r.status_code == 404
    assert r.json() == {
        "code": "notFound",
        "message": "No such probe.",
        "endpoint": "GET /probe/single",
        "requestId": r.headers["x-request-id"],
    }


async def test_a_route_declaring_nothing_gets_errors(probe):
    r = await probe.get("/v1/probe/list")
    assert r.status_code == 404
    [error] = r.json()["errors"]
    assert error["code"] == "notFound"
    assert error["endpoint"] == "GET /probe/list"
    assert "extensions" not in error


async def test_a_route_declaring_book_event_errors_lists_the_refusals(probe):
    r = await probe.post("/v1/probe/order")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation"
    assert body["endpoint"] == "POST /probe/order"
    assert body["errors"] == [
        {"eventId": "00000000-0000-0000-0000-000000000007", "bookingError": "overbooked"}
    ]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nowhere", 404), ("PUT", "/v1/probe/single", 405)],
    ids=["unknown-path", "method-not-allowed"],
)
async def test_without_a_declaration_for_the_status_the_body_is_errors(probe, method, path, status):
    r = await probe.request(method, path)
    assert r.status_code == status
    [error] = r.json()["errors"]
    assert error["code"] in {"notFound", "validation"}
    assert error["requestId"] == r.headers["x-request-id"]
