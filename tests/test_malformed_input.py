"""Malformed requests answer 400 `validation` in the contract's shape, never FastAPI's 422 or a 500.

Also: request ids from `traceparent`, unknown paths and methods, and GraphQL's malformed input.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft7Validator

from tests.conftest import NOW
from tests.contract import contract_path
from tests.factories import create_event, gql, order_body

IN_A_DAY = NOW + timedelta(days=1)
FRESH_ID = re.compile(r"^[0-9a-f]{32}$")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def contract_schema(name: str) -> Draft7Validator:
    """A schema of the contract's components, resolvable on its own (for non-contract answers)."""
    doc = yaml.safe_load(contract_path().read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    text = yaml.safe_dump(schemas[name]).replace("#/components/schemas/", "#/definitions/")
    schema = yaml.safe_load(text)
    schema["definitions"] = yaml.safe_load(
        yaml.safe_dump(schemas).replace("#/components/schemas/", "#/definitions/")
    )
    return Draft7Validator(schema)


def the_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The single `Error` of an `Errors` body, after checking the parts every error shares."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errors"], body
    [error] = body["errors"]
    assert error["requestId"] == response.headers["x-request-id"]
    return error


def assert_validation(
    response: httpx.Response, endpoint: str, *mentions: str, book_event: bool = False
) -> dict[str, Any]:
    """400 `validation` at `endpoint`, its message naming each of `mentions`."""
    if book_event:
        # POST /bookings answers BookEventErrorResponse: the Error fields plus `errors`.
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["errors"] == []
        assert error["requestId"] == response.headers["x-request-id"]
    else:
        error = the_error(response)
    assert error["code"] == "validation"
    assert error["endpoint"] == endpoint
    for word in mentions:
        assert word in error["message"], error["message"]
    assert "Traceback" not in error["message"]
    return error


def assert_book_event_400(response: httpx.Response, *mentions: str) -> dict[str, Any]:
    return assert_validation(response, "POST /bookings", *mentions, book_event=True)


# --- POST /bookings -------------------------------------------------------------------------


async def test_malformed_json_is_400(client, users):
    r = await client.post(
        "/v1/bookings",
        content=b'{"userId": "abc", "eventIds": [',
        headers={**users.as_athlete, "content-type": "application/json"},
    )
    assert_book_event_400(r, "JSON")


async def test_empty_body_is_400(client, users):
    r = await client.post(
        "/v1/bookings",
        content=b"",
        headers={**users.as_athlete, "content-type": "application/json"},
    )
    assert_book_event_400(r, "body")


async def test_json_array_body_is_400(client, users):
    r = await client.post(
        "/v1/bookings", json=[order_body(users.athlete)], headers=users.as_athlete
    )
    assert_book_event_400(r, "body")


@pytest.mark.parametrize("field", ["userId", "eventIds", "paymentMethod"])
async def test_missing_field_is_400_naming_it(client, users, field):
    body = order_body(users.athlete, uuid.uuid4())
    del body[field]
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert_book_event_400(r, field, "required")


@pytest.mark.parametrize(
    ("patch", "mentions"),
    [
        pytest.param({"eventIds": "not-a-list"}, ("eventIds", "list"), id="eventIds-not-a-list"),
        pytest.param({"eventIds": {"a": 1}}, ("eventIds", "list"), id="eventIds-an-object"),
        pytest.param({"eventIds": ["nope"]}, ("eventIds.0", "UUID"), id="eventIds-non-uuid"),
        pytest.param({"userId": 12345}, ("userId", "UUID"), id="userId-a-number"),
        pytest.param({"userId": "alice"}, ("userId", "UUID"), id="userId-not-a-uuid"),
        pytest.param(
            {"paymentMethod": {"type": "Bitcoin"}},
            ("paymentMethod.type", "Cash", "Card"),
            id="paymentMethod-unknown-type",
        ),
        pytest.param(
            {"paymentMethod": "Cash"}, ("paymentMethod",), id="paymentMethod-not-an-object"
        ),
        pytest.param(
            {"paymentMethod": {"type": "Card", "methodId": "x"}},
            ("paymentMethod.methodId", "UUID"),
            id="methodId-not-a-uuid",
        ),
    ],
)
async def test_wrongly_typed_field_is_400_naming_it(client, users, patch, mentions):
    body = order_body(users.athlete, uuid.uuid4()) | patch
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert_book_event_400(r, *mentions)


async def test_every_problem_of_a_body_is_named(client, users):
    body = {"userId": 12345, "eventIds": ["nope"], "paymentMethod": {"type": "Bitcoin"}}
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert_book_event_400(r, "userId", "eventIds.0", "paymentMethod.type")


async def test_unknown_fields_are_ignored(client, users, settings):
    """Legacy clients may send more than the contract names: extra fields do not fail an order."""
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    body = order_body(users.athlete, event) | {"coupon": "SUMMER", "bookingStatus": "Rejected"}
    body["paymentMethod"] = {"type": "Cash", "note": "exact change"}
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert r.status_code == 201, r.text
    order = r.json()
    assert "coupon" not in order
    [booking] = order["bookings"]
    assert booking["eventId"] == str(event)
    assert booking["bookingStatus"] == "Accepted"  # the client cannot choose it


async def test_refused_body_books_nothing(client, users, settings):
    """A refused body books nothing, even when the events are real."""
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    body = order_body(users.athlete, event) | {"paymentMethod": {"type": "Bitcoin"}}
    r = await client.post("/v1/bookings", json=body, headers=users.as_athlete)
    assert_book_event_400(r, "paymentMethod.type")
    listed = await client.get(
        "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert listed.json() == []


# --- GET paths and query parameters ---------------------------------------------------------


async def test_booking_id_not_a_uuid_is_400(client, users):
    r = await client.get("/v1/bookings/not-a-uuid", headers=users.as_athlete)
    assert_validation(r, "GET /bookings/{bookingId}", "bookingId", "UUID")


async def test_user_id_query_not_a_uuid_is_400(client, users):
    r = await client.get("/v1/bookings", params={"userId": "not-a-uuid"}, headers=users.as_athlete)
    assert_validation(r, "GET /bookings", "userId", "UUID")


async def test_event_id_query_not_a_uuid_is_400(client, users):
    r = await client.get("/v1/bookings", params={"eventId": "42"}, headers=users.as_coach)
    assert_validation(r, "GET /bookings", "eventId", "UUID")


@pytest.mark.parametrize("path", ["/v1/bookings", "/v1/bookings/orders"])
@pytest.mark.parametrize("param", ["startAt", "endAt"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("2026-13-01T00:00:00Z", id="month-13"),
        pytest.param("2026-06-01T25:00:00Z", id="hour-25"),
        pytest.param("2026-06-01T10:00:00", id="no-offset"),
        pytest.param("2026-06-01", id="date-only"),
    ],
)
async def test_bad_instant_is_400(client, users, path, param, value):
    r = await client.get(
        path, params={"userId": str(users.athlete), param: value}, headers=users.as_athlete
    )
    assert_validation(r, f"GET {path.removeprefix('/v1')}", param)


async def test_instant_without_offset_message_says_offset(client, users):
    r = await client.get(
        "/v1/bookings",
        params={"userId": str(users.athlete), "startAt": "2026-06-01T10:00:00"},
        headers=users.as_athlete,
    )
    assert_validation(r, "GET /bookings", "startAt", "offset")


async def test_instants_with_offsets_are_accepted(client, users):
    """The control for the cases above: the same query with proper RFC 3339 instants is fine."""
    r = await client.get(
        "/v1/bookings",
        params={
            "userId": str(users.athlete),
            "startAt": "2026-06-01T10:00:00+03:00",
            "endAt": "2026-06-02T10:00:00Z",
        },
        headers=users.as_athlete,
    )
    assert r.status_code == 200, r.text
    assert r.json() == []


async def test_orders_without_user_id_is_400(client, users):
    r = await client.get("/v1/bookings/orders", headers=users.as_athlete)
    assert_validation(r, "GET /bookings/orders", "userId", "required")


async def test_orders_user_id_not_a_uuid_is_400(client, users):
    r = await client.get("/v1/bookings/orders", params={"userId": "me"}, headers=users.as_athlete)
    assert_validation(r, "GET /bookings/orders", "userId", "UUID")


# --- Tracing --------------------------------------------------------------------------------


async def test_traceparent_trace_id_becomes_request_id(client, users):
    r = await client.get(
        "/v1/bookings",
        params={"userId": str(users.athlete)},
        headers={**users.as_athlete, "traceparent": TRACEPARENT},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == TRACE_ID


async def test_traceparent_trace_id_is_the_error_request_id(client, users):
    r = await client.get(
        "/v1/bookings/not-a-uuid", headers={**users.as_athlete, "traceparent": TRACEPARENT}
    )
    error = assert_validation(r, "GET /bookings/{bookingId}")
    assert error["requestId"] == TRACE_ID
    assert r.headers["x-request-id"] == TRACE_ID


async def test_traceparent_trace_id_in_book_event_error(client, users):
    r = await client.post(
        "/v1/bookings", json=[], headers={**users.as_athlete, "traceparent": TRACEPARENT}
    )
    assert assert_book_event_400(r)["requestId"] == TRACE_ID


async def test_without_traceparent_each_request_gets_a_fresh_id(client, users):
    ids = []
    for _ in range(3):
        r = await client.get("/v1/bookings/not-a-uuid", headers=users.as_athlete)
        error = assert_validation(r, "GET /bookings/{bookingId}")
        assert FRESH_ID.match(error["requestId"]), error["requestId"]
        ids.append(error["requestId"])
    assert len(set(ids)) == 3


async def test_successful_response_carries_a_fresh_request_id(client, users):
    r = await client.get(
        "/v1/bookings", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.status_code == 200
    assert FRESH_ID.match(r.headers["x-request-id"])


@pytest.mark.parametrize(
    "traceparent",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param(TRACEPARENT.upper(), id="uppercase-hex"),
        pytest.param(f"00-{TRACE_ID}-00f067aa0ba902b7", id="no-flags"),
        pytest.param(f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", id="short-trace-id"),
        pytest.param(f" {TRACEPARENT}", id="leading-space"),
    ],
)
async def test_traceparent_off_the_contract_pattern_is_400(client, users, traceparent):
    r = await client.get(
        "/v1/bookings",
        params={"userId": str(users.athlete)},
        headers={**users.as_athlete, "traceparent": traceparent},
    )
    error = assert_validation(r, "GET /bookings", "traceparent")
    assert FRESH_ID.match(error["requestId"])


async def test_bad_traceparent_on_post_bookings_is_book_event_400(client, users, settings):
    event = await create_event(settings, NOW, coach=users.coach, start=IN_A_DAY)
    r = await client.post(
        "/v1/bookings",
        json=order_body(users.athlete, event),
        headers={**users.as_athlete, "traceparent": "garbage"},
    )
    assert_book_event_400(r, "traceparent")


@pytest.mark.parametrize(
    "traceparent",
    [
        pytest.param(f"00-{'0' * 32}-00f067aa0ba902b7-01", id="zero-trace-id"),
        pytest.param(f"00-{TRACE_ID}-{'0' * 16}-01", id="zero-parent-id"),
        pytest.param(f"ff-{TRACE_ID}-00f067aa0ba902b7-01", id="version-ff"),
    ],
)
async def test_w3c_invalid_but_pattern_valid_traceparent_gets_fresh_id(client, users, traceparent):
    r = await client.get(
        "/v1/bookings",
        params={"userId": str(users.athlete)},
        headers={**users.as_athlete, "traceparent": traceparent},
    )
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]
    assert FRESH_ID.match(request_id)
    assert request_id not in traceparent


# --- Unknown paths and methods --------------------------------------------------------------


async def test_unknown_path_under_base_is_404_errors(client, users):
    r = await client.get("/v1/nothing-here", headers=users.as_athlete)
    error = the_error(r, 404)
    contract_schema("Errors").validate(r.json())
    assert error["code"] == "notFound"
    assert "/v1/nothing-here" in error["message"]


async def test_unknown_subpath_of_bookings_is_404_errors(client, users):
    r = await client.get(f"/v1/bookings/{uuid.uuid4()}/a/b", headers=users.as_athlete)
    error = the_error(r, 404)
    contract_schema("Errors").validate(r.json())
    assert error["code"] == "notFound"


async def test_wrong_method_is_405_errors(app, users):
    # The contract has no PUT /bookings to validate against: check the Errors schema directly.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
    ) as plain:
        r = await plain.put(
            "/v1/bookings", json=order_body(users.athlete), headers=users.as_athlete
        )
    error = the_error(r, 405)
    contract_schema("Errors").validate(r.json())
    assert error["code"] == "validation"
    assert error["endpoint"] == "PUT /bookings"
    assert "PUT" in error["message"]
    assert "Traceback" not in r.text
    # Starlette names the methods of the first route matching the path (POST here), never PUT.
    allowed = set(r.headers["allow"].replace(" ", "").split(","))
    assert "POST" in allowed
    assert "PUT" not in allowed


# --- GraphQL --------------------------------------------------------------------------------


async def test_graphql_syntax_error_is_a_graphql_error(client, users):
    r = await client.post(
        "/graphql", json={"query": "query { bookings(userId: "}, headers=users.as_athlete
    )
    # Strawberry answers GraphQL request errors with 200 and no data.
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 26}]


async def test_graphql_unknown_field_is_a_graphql_error(client, users):
    r = await client.post("/graphql", json={"query": "{ nope }"}, headers=users.as_athlete)
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    assert "nope" in error["message"]


async def test_graphql_missing_query_is_not_a_500(client, users):
    r = await client.post("/graphql", json={"variables": {}}, headers=users.as_athlete)
    assert r.status_code == 400, r.text
    assert "query" in r.text.lower()


async def test_graphql_malformed_json_is_not_a_500(client, users):
    r = await client.post(
        "/graphql",
        content=b'{"query": ',
        headers={**users.as_athlete, "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text


BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash}) { __typename }
}
"""


async def test_graphql_variable_of_wrong_type_is_an_error(client, users):
    body = await gql(client, users.as_athlete, BOOK, userId=str(users.athlete), eventIds=["nope"])
    assert body["data"] is None
    [error] = body["errors"]
    assert "eventIds" in error["message"]
    assert "nope" in error["message"]


async def test_graphql_unknown_enum_value_is_an_error(client, users):
    query = """
    mutation Book($userId: UUID!, $eventIds: [UUID!]!) {
      bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Bitcoin}) {
        __typename
      }
    }
    """
    body = await gql(
        client, users.as_athlete, query, userId=str(users.athlete), eventIds=[str(uuid.uuid4())]
    )
    assert body.get("data") is None
    assert "Bitcoin" in body["errors"][0]["message"]


BOOKINGS = """
query List($userId: UUID!, $startAt: DateTime) {
  bookings(userId: $userId, startAt: $startAt) { nodes { bookingId } }
}
"""


async def test_graphql_instant_without_offset_is_validation(client, users):
    body = await gql(
        client, users.as_athlete, BOOKINGS, userId=str(users.athlete), startAt="2026-06-01T10:00:00"
    )
    assert body["data"] == {"bookings": None}  # the field fails alone (partial answers)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "validation"
    assert "offset" in error["message"]


async def test_graphql_instant_with_offset_is_accepted(client, users):
    body = await gql(
        client,
        users.as_athlete,
        BOOKINGS,
        userId=str(users.athlete),
        startAt="2026-06-01T10:00:00Z",
    )
    assert "errors" not in body
    assert body["data"]["bookings"]["nodes"] == []


async def test_graphql_nonsense_instant_is_an_error(client, users):
    body = await gql(client, users.as_athlete, BOOKINGS, userId=str(users.athlete), startAt="soon")
    assert body["data"] is None
    assert "startAt" in body["errors"][0]["message"]
