"""Resource limits: oversized bodies, GraphQL query shape, page sizes."""

from __future__ import annotations

import json

import pytest

from leko_bookings.models import Booking
from tests.factories import gql, order_body
from tests.graphql_errors import assert_graphql_error

LIMIT = 1_048_576  # Settings.max_body_bytes default


def assert_too_large(r, endpoint: str) -> None:
    assert r.status_code == 413, r.text
    [error] = r.json()["errors"]
    assert error["code"] == "validation"
    assert str(LIMIT) in error["message"]
    assert error["endpoint"] == endpoint
    assert error["requestId"] == r.headers["x-request-id"]


async def test_an_oversized_order_body_is_413_and_books_nothing(client, users):
    body = order_body(users.athlete) | {"padding": "x" * (LIMIT + 10)}
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert_too_large(r, "POST /bookings")
    assert await Booking.all().count() == 0


async def test_a_streamed_body_without_length_is_cut_at_the_limit(client, users):
    chunk = json.dumps(order_body(users.athlete)).encode()[:-1] + b', "pad": "'

    async def stream():
        yield chunk
        for _ in range(20):
            yield b"y" * 65_536
        yield b'"}'

    headers = {**users.as_athlete, "content-type": "application/json"}
    r = await client.post("/v1/bookings", content=stream(), headers=headers)
    assert_too_large(r, "POST /bookings")


async def test_a_body_just_under_the_limit_is_read(client, users):
    body = order_body(users.athlete, payment={"type": "Bitcoin"})
    body["padding"] = "x" * (LIMIT - len(json.dumps(body)) - 20)
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert r.status_code == 400  # read and judged: the payment type is refused
    assert "paymentMethod.type" in r.json()["message"]


async def test_graphql_bodies_are_limited_too(client, users):
    query = f'{{ bookings(userId: "{users.athlete}") {{ nodes {{ bookingId }} }} }}'
    r = await client.post(
        "/graphql",
        json={"query": query, "variables": {"pad": "z" * (LIMIT + 1)}},
        headers=users.as_athlete,
    )
    error = assert_graphql_error(r, 413, "validation")
    assert str(LIMIT) in error["message"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        (
            "{ "
            + " ".join(
                f'a{i}: bookingOrders(userId: "%s") {{ nodes {{ orderId }} }}' for i in range(31)
            )
            + " }",
            "aliases",
        ),
        (
            '{ bookingOrders(userId: "%s") '
            "{ nodes { bookings { event { timeslot { price } } } } } }",
            None,
        ),
    ],
    ids=["too-many-aliases", "reasonable-depth"],
)
async def test_graphql_query_shape_limits(client, users, query, fragment):
    data = await gql(client, users.as_athlete, query.replace("%s", str(users.athlete)))
    if fragment is None:
        assert "errors" not in data, data
    else:
        assert fragment in data["errors"][0]["message"].lower()
