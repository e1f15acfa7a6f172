"""Regressions found by the contract fuzzing (tests/test_contract_fuzz.py), as plain tests.

- `Allow` on a 405 named only the methods of the first route matching the path
  (OPTIONS /v1/bookings said `Allow: POST`, though GET /v1/bookings is served too).
- GET /v1/bookings/notify was read as GET /bookings/{bookingId} with the id "notify" and
  answered 400; /bookings/notify is a resource of its own (POST only): 405.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.test_malformed_input import contract_schema, the_error

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
async def plain(app) -> AsyncIterator[httpx.AsyncClient]:
    """No contract validation: a 405 is not an answer the contract describes."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
    ) as client:
        yield client


def allowed(response: httpx.Response) -> set[str]:
    return set(response.headers["allow"].replace(" ", "").split(","))


def assert_405(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    error = the_error(response, 405)
    contract_schema("Errors").validate(response.json())
    assert error["code"] == "validation"
    assert error["endpoint"] == endpoint
    return error


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH", "DELETE"])
async def test_allow_names_every_method_served_at_the_path(plain, users, method):
    r = await plain.request(method, "/v1/bookings", headers=users.as_admin)
    assert_405(r, f"{method} /bookings")
    assert allowed(r) == {"GET", "POST"}


@pytest.mark.parametrize("headers", [{}, {"traceparent": "0"}, {"traceparent": TRACEPARENT}])
async def test_get_on_notify_is_405_not_a_booking_id(plain, users, headers):
    r = await plain.get("/v1/bookings/notify", headers={**users.as_scheduler, **headers})
    error = assert_405(r, "GET /bookings/notify")
    assert "GET" in error["message"]
    assert allowed(r) == {"POST"}


async def test_notify_still_serves_post(plain, users):
    r = await plain.post("/v1/bookings/notify", headers=users.as_scheduler)
    assert r.status_code == 204, r.text


async def test_other_methods_on_notify_are_405_naming_post(plain, users):
    r = await plain.delete("/v1/bookings/notify", headers=users.as_scheduler)
    assert_405(r, "DELETE /bookings/notify")
    assert allowed(r) == {"POST"}


async def test_orders_is_a_resource_of_its_own(plain, users):
    r = await plain.patch("/v1/bookings/orders", headers=users.as_admin)
    assert_405(r, "PATCH /bookings/orders")
    assert allowed(r) == {"GET"}


async def test_a_booking_path_names_its_own_methods(plain, users):
    r = await plain.delete(
        "/v1/bookings/4b72d209-debd-45e1-93cc-7640bf7d39bf", headers=users.as_admin
    )
    assert_405(r, "DELETE /bookings/{bookingId}")
    assert allowed(r) == {"GET"}


async def test_graphql_allow_names_get_and_post(plain, users):
    r = await plain.delete("/graphql", headers=users.as_admin)
    assert r.status_code == 405
    assert allowed(r) == {"GET", "POST"}
