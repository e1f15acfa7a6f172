"""The served OpenAPI document: the contract itself, plus what it omits and the service does.

Serving the contract (vendored as contract.yaml, kept identical to shared/openapi.yaml by a
test) rather than a document generated from the routes guarantees legacy clients see the very
paths, parameters and schemas they were generated from.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from leko_bookings.rest_compat.responses import (
    ADDED_RESPONSES,
    ERRORS,
    IDEMPOTENCY_KEY_PARAMETER,
    KEYED_OPERATION,
    KEYED_ORDER_RESPONSES,
)

CONTRACT = Path(__file__).with_name("contract.yaml")
ERRORS_REF = {"$ref": ERRORS}
ORDER_STATUS = {
    "type": "string",
    "description": (
        "Derived from the bookings: Canceled when none stands, Pending while any awaits the coach."
    ),
    "enum": ["Pending", "Confirmed", "Canceled"],
}


@cache
def contract() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))


def _errors(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERRORS_REF}}}


def served_document(base_path: str, source: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(source if source is not None else contract())
    doc["servers"] = [
        {"url": base_path or "/", "description": "This service"},
        *doc.get("servers", []),
    ]
    for item in doc["paths"].values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ADDED_RESPONSES.items():
                responses.setdefault(code, _errors(description))
    path, method = KEYED_OPERATION
    keyed = doc["paths"][path][method]
    keyed.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER))
    for code, description in KEYED_ORDER_RESPONSES.items():
        keyed["responses"].setdefault(code, _errors(description))
    retry = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
    keyed["responses"]["409"]["headers"] = {"Retry-After": retry}
    doc["components"]["schemas"]["BookingOrder"]["properties"]["status"] = ORDER_STATUS
    return doc
