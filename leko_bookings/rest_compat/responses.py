"""The error responses each REST operation declares: for each status, the body the contract gives.

Routes pass `error_responses({...})` as their `responses=`, naming for each status the contract
lists the schema of its body (`ERRORS`, the single `ERROR`, or `BOOK_EVENT_ERRORS`); the statuses
the contract omits and the service answers (`ADDED_RESPONSES`) are declared as `Errors`. The
error renderer reads the matched route's declaration (`declared_body`) to shape the body, and a
test holds every declaration to the contract document.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.routing import APIRoute

SCHEMAS = "#/components/schemas/"
ERROR = SCHEMAS + "Error"
ERRORS = SCHEMAS + "Errors"
BOOK_EVENT_ERRORS = SCHEMAS + "BookEventErrorResponse"

# What every operation may answer beyond what the contract lists (the served document adds them).
ADDED_RESPONSES: dict[str, str] = {
    "401": "Missing, malformed, expired or otherwise invalid bearer token.",
    "403": "The caller may not do this.",
    "413": "The request body is larger than the service accepts.",
    "429": "Too many requests; retry after the time given in Retry-After.",
    "503": "The database (or the token keys) cannot be reached right now; retry.",
}

# POST /bookings's Idempotency-Key (issue 17, resolvers/idempotency.py): the header, and the
# answers it adds to that operation (each an `Errors`), as the served document shows them.
KEYED_OPERATION = ("/bookings", "post")
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the order safe to retry (draft-ietf-httpapi-idempotency-key-header): 1 to 255 "
        "printable ASCII characters, unique per order, scoped to the token's subject. The first "
        "answer (201, or 400 with bookingErrors) is kept for LEKO_IDEMPOTENCY_TTL_HOURS (24) with "
        "a fingerprint of the body; the same key with the same body answers it again, byte for "
        "byte, with the header `Idempotent-Replayed: true`, and books nothing. Other answers are "
        "not kept. Without the header nothing changes."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?$",
    },
}
KEYED_ORDER_RESPONSES: dict[str, str] = {
    "409": (
        "Idempotency-Key: a request with this key is still being processed; retry after the "
        "seconds in Retry-After to get its answer."
    ),
    "422": "Idempotency-Key: the key was used for an order with a different body.",
}

Responses = dict[int | str, dict[str, Any]]


def _response(description: str, schema: str | None) -> dict[str, Any]:
    if schema is None:  # the contract gives this status no body
        return {"description": description}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": schema}}},
    }


def error_responses(declared: Mapping[int, str | None]) -> Responses:
    """A route's `responses=`: each status the contract lists for the operation with its body's
    schema (None: no body given), over the service's added statuses (each an `Errors`)."""
    responses: Responses = {
        int(status): _response(description, ERRORS)
        for status, description in ADDED_RESPONSES.items()
    }
    for status, schema in declared.items():
        responses[status] = _response(HTTPStatus(status).phrase, schema)
    return responses


def schema_ref(response: Mapping[str, Any]) -> str | None:
    """The `$ref` of a declared response's JSON body, or None."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    return ref if isinstance(ref, str) else None


def declared_body(route: object, status: int) -> str | None:
    """The body schema `route` declares for `status`; None when there is no matched route (an
    unknown path) or it declares no body for the status."""
    if not isinstance(route, APIRoute):
        return None
    response = route.responses.get(status) or route.responses.get(str(status))
    return schema_ref(response) if response is not None else None
