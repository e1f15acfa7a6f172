"""What clients are generated from: the GraphQL SDL, the vendored contract, the served OpenAPI.

The served document must carry the contract (shared/openapi.yaml) unchanged, plus only the
documented additions; every REST route must be a contract operation; GraphQL names follow the
contract's spelling.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from fastapi.routing import APIRoute, iter_route_contexts

from leko_bookings.app import create_app
from leko_bookings.rest_compat.openapi import ADDED_RESPONSES, CONTRACT
from leko_bookings.rest_compat.responses import (
    IDEMPOTENCY_KEY_PARAMETER,
    KEYED_OPERATION,
    KEYED_ORDER_RESPONSES,
)
from leko_bookings.schema import SDL_FILE, schema, sdl
from leko_bookings.settings import Settings
from tests.conftest import SECRET
from tests.contract import SHARED_CONTRACT, contract_path

METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
ERRORS_REF = {"$ref": "#/components/schemas/Errors"}
# Contract operations no route serves yet. Later issues implement them: remove each from this
# set in the change that routes it.
NOT_ROUTED_YET: set[str] = set()


def load_contract() -> dict[str, Any]:
    return yaml.safe_load(contract_path().read_text(encoding="utf-8"))


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (one level is all the contract uses for parameters)."""
    if isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return target
    return node


# --- files -----------------------------------------------------------------------------------


def test_schema_graphql_is_current():
    assert SDL_FILE.exists(), "schema.graphql is missing: run `leko-bookings export-schema`"
    assert SDL_FILE.read_text(encoding="utf-8") == sdl(), (
        "schema.graphql is stale: run `leko-bookings export-schema` and commit it"
    )


def test_vendored_contract_is_the_shared_one():
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"{SHARED_CONTRACT} is not beside the repository")
    assert CONTRACT.read_bytes() == SHARED_CONTRACT.read_bytes(), (
        f"copy {SHARED_CONTRACT} to {CONTRACT}"
    )


# --- the served OpenAPI document -------------------------------------------------------------


@pytest.fixture
async def served(client) -> dict[str, Any]:
    response = await client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def without_key_header(op: dict[str, Any]) -> dict[str, Any]:
    """An operation as served, but the Idempotency-Key header the service documents (issue 17)."""
    parameters = [p for p in op.get("parameters", []) if p != IDEMPOTENCY_KEY_PARAMETER]
    return {**op, "parameters": parameters} if "parameters" in op else op


async def test_served_document_carries_every_contract_operation(served):
    contract = load_contract()
    expected, actual = operations(contract), operations(served)
    assert expected, "the contract has no operations?"
    assert set(expected) <= set(actual)
    for key, op in expected.items():
        got = without_key_header(actual[key])
        assert got["operationId"] == op["operationId"]
        params = [
            {f: resolve(contract, p).get(f) for f in ("name", "in", "required", "schema")}
            for p in op.get("parameters", [])
        ]
        served_params = [
            {f: resolve(served, p).get(f) for f in ("name", "in", "required", "schema")}
            for p in got.get("parameters", [])
        ]
        assert served_params == params, key
        # Deep-equal as written (refs included), apart from the responses checked below.
        assert {k: v for k, v in got.items() if k != "responses"} == {
            k: v for k, v in op.items() if k != "responses"
        }, key
        assert got.get("requestBody") == op.get("requestBody"), key
        for code, response in op["responses"].items():
            assert got["responses"].get(code) == response, (key, code)


async def test_served_document_adds_the_error_responses(served):
    contract = load_contract()
    expected = operations(contract)
    assert set(ADDED_RESPONSES) == {"401", "403", "413", "429", "503"}
    keyed = (KEYED_OPERATION[1], KEYED_OPERATION[0])
    for key, op in operations(served).items():
        added = {**ADDED_RESPONSES, **(KEYED_ORDER_RESPONSES if key == keyed else {})}
        codes = set(op["responses"])
        assert codes == set(expected[key]["responses"]) | set(added), key
        for code in set(added) - set(expected[key]["responses"]):
            body = op["responses"][code]["content"]["application/json"]
            assert body["schema"] == ERRORS_REF, (key, code)


async def test_only_the_order_documents_the_idempotency_key(served):
    for key, op in operations(served).items():
        documented = IDEMPOTENCY_KEY_PARAMETER in op.get("parameters", [])
        assert documented == (key == (KEYED_OPERATION[1], KEYED_OPERATION[0])), key


async def test_served_components_are_the_contracts(served):
    contract = load_contract()
    for section, items in contract["components"].items():
        if section == "schemas":
            continue
        assert served["components"][section] == items, section
    schemas, served_schemas = contract["components"]["schemas"], served["components"]["schemas"]
    assert set(served_schemas) == set(schemas)
    for name, schema_ in schemas.items():
        if name != "BookingOrder":
            assert served_schemas[name] == schema_, name


async def test_served_booking_order_defines_its_required_status(served):
    contract_order = load_contract()["components"]["schemas"]["BookingOrder"]
    order = served["components"]["schemas"]["BookingOrder"]
    assert "status" in contract_order["required"]
    assert "status" not in contract_order["properties"], "the contract now defines it: drop ours"
    status = order["properties"]["status"]
    assert status["type"] == "string"
    assert status["enum"] == ["Pending", "Confirmed", "Canceled"]
    without = {
        **order,
        "properties": {k: v for k, v in order["properties"].items() if k != "status"},
    }
    assert without == contract_order


async def test_served_document_names_this_service_first(served):
    assert served["servers"][0]["url"] == "/v1"
    assert served["servers"][1:] == load_contract()["servers"]


async def test_swagger_ui_points_at_the_served_document(client):
    response = await client.get("/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "url: '/v1/openapi.json'" in response.text


# --- routes vs contract ----------------------------------------------------------------------


def test_every_rest_route_is_a_contract_operation():
    settings = Settings(jwt_secret=SECRET, database_url="sqlite://:memory:")
    app = create_app(settings, manage_database=False)
    base = settings.base_path.rstrip("/")
    # FastAPI 0.165 keeps included routers as `_IncludedRouter` entries in app.routes;
    # iter_route_contexts flattens them into the effective (prefixed) routes.
    routed = {
        (method.lower(), route.path.removeprefix(base))
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.path.startswith(base + "/")
        for method in route.methods or ()
    }
    routed -= {("get", "/openapi.json"), ("get", "/docs")}
    assert routed, "no REST route found under the base path"
    contract = operations(load_contract())
    assert sorted(routed - set(contract)) == [], "routes that are not contract operations"
    not_routed = {op["operationId"] for key, op in contract.items() if key not in routed}
    assert not_routed == NOT_ROUTED_YET, (
        "update NOT_ROUTED_YET: it lists the contract operations no route serves yet"
    )


# --- GraphQL naming --------------------------------------------------------------------------

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECT = f"""
query {{
  __schema {{
    types {{
      name kind
      enumValues {{ name }}
      fields {{ name type {{ {TYPE_REF} }} args {{ name type {{ {TYPE_REF} }} }} }}
      inputFields {{ name type {{ {TYPE_REF} }} }}
    }}
  }}
}}
"""
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def _render(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _render(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{_render(ref['ofType'])}]"
    return ref["name"]


@pytest.fixture(scope="module")
def gql_types() -> dict[str, dict[str, Any]]:
    result = schema.execute_sync(INTROSPECT)
    assert result.errors is None, result.errors
    assert result.data is not None
    return {t["name"]: t for t in result.data["__schema"]["types"]}


def enum_values(types: dict[str, dict[str, Any]], name: str) -> list[str]:
    return [v["name"] for v in types[name]["enumValues"]]


def fields(types: dict[str, dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    t = types[name]
    return {f["name"]: f for f in (t["fields"] or t["inputFields"] or [])}


def args(types: dict[str, dict[str, Any]], type_name: str, field: str) -> dict[str, str]:
    return {a["name"]: _render(a["type"]) for a in fields(types, type_name)[field]["args"]}


def test_graphql_enums_are_spelled_as_the_contract(gql_types):
    schemas = load_contract()["components"]["schemas"]
    slot = schemas["TimeSlot"]["properties"]
    expected = {
        "BookingStatus": [
            "Accepted",
            "Rejected",
            "Pending",
            "Canceled",
            "InDispute",
            "DisputeDone",
        ],
        "CancellationReasonCode": ["NotFeelingWell", "NoTime", "Other"],
        "SlotType": ["Online", "Offline"],
        "PaymentType": ["Cash", "Card"],
    }
    for name, values in expected.items():
        assert enum_values(gql_types, name) == values, name
    assert expected["BookingStatus"] == schemas["BookingStatus"]["enum"]
    assert expected["CancellationReasonCode"] == schemas["BookingCancellationReasonCode"]["enum"]
    assert expected["SlotType"] == slot["slotType"]["enum"]
    assert (
        expected["PaymentType"] == schemas["BookEventPaymentMethod"]["properties"]["type"]["enum"]
    )

    error_codes = enum_values(gql_types, "ErrorCode")
    assert {"tooManyRequests", "notFound"} <= set(error_codes)
    assert error_codes == schemas["Error"]["properties"]["code"]["enum"]
    booking_errors = schemas["BookEventError"]["properties"]["bookingError"]["enum"]
    assert set(enum_values(gql_types, "BookingErrorCode")) == set(booking_errors)


def test_graphql_names_are_camel_case(gql_types):
    offenders = []
    for type_name, t in gql_types.items():
        if type_name.startswith("__"):
            continue
        for f in (t["fields"] or []) + (t["inputFields"] or []):
            names = [f["name"], *(a["name"] for a in f.get("args") or [])]
            offenders += [f"{type_name}.{n}" for n in names if not CAMEL.match(n)]
    assert offenders == []


def test_graphql_uses_the_contracts_names(gql_types):
    schemas = load_contract()["components"]["schemas"]
    booking = fields(gql_types, "Booking")
    assert {"bookingId", "eventId", "startAt", "serviceCardinality", "timeslot"} <= set(booking)
    assert set(schemas["Booking"]["properties"]) <= set(booking)
    assert set(schemas["BookingOrder"]["properties"]) <= set(fields(gql_types, "BookingOrder"))
    assert set(schemas["TimeSlot"]["properties"]) <= set(fields(gql_types, "TimeSlot"))
    assert set(schemas["TimeSlot"]["properties"]) == set(fields(gql_types, "TimeSlotInput"))

    assert {"userId", "eventId", "startAt", "endAt"} <= set(args(gql_types, "Query", "bookings"))
    book = args(gql_types, "Mutation", "bookEvents")
    assert set(book) == {"userId", "eventIds", "paymentMethod", "idempotencyKey"}
    assert set(book) - {"idempotencyKey"} == set(schemas["BookEventRequest"]["properties"])
    assert book["idempotencyKey"] == "String"  # issue 17: POST /bookings's header
    assert book["eventIds"] == "[UUID!]!"
    assert args(gql_types, "Mutation", "upsertEvents") == {"events": "[EventInput!]!"}
    assert set(fields(gql_types, "EventInput")) == {
        "eventId",
        "coachId",
        "sportId",
        "startAt",
        "endAt",
        "eventStatus",
        "timeslot",
    }
