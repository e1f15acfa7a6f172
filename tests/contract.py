"""Every REST response the tests see is validated against the contract (shared/openapi.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import yaml
from jsonschema import Draft7Validator
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from leko_bookings.rest_compat.openapi import CONTRACT, served_document

SHARED_CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "openapi.yaml"
BASE_URL = "http://test"
BASE_PATH = "/v1"


def contract_path() -> Path:
    """The shared contract when it sits beside the repo (CI, dev), else the vendored copy."""
    return SHARED_CONTRACT if SHARED_CONTRACT.exists() else CONTRACT


@cache
def _openapi() -> OpenAPI:
    contract = yaml.safe_load(contract_path().read_text(encoding="utf-8"))
    # The contract's schemas as written, plus the error responses it omits (401/403/429/503,
    # all typed `Errors`) so those answers are validated too rather than skipped.
    doc = served_document(BASE_PATH, source=contract)
    doc["servers"] = [{"url": BASE_URL + BASE_PATH}]
    # openapi-schema-validator's OAS 3.0 `time` checker refuses offsets, even the contract's own
    # example (12:09:53+00:00); RFC 3339 full-time, which the contract cites, allows them.
    config = Config(extra_format_validators={"time": _rfc3339_time})
    return OpenAPI.from_dict(doc, config=config)


def _rfc3339_time(value: Any) -> bool:
    return not isinstance(value, str) or Draft7Validator.FORMAT_CHECKER.conforms(value, "time")


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        self._r = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    host_url = BASE_URL

    @property
    def path(self) -> str:
        return self._r.url.path

    @property
    def method(self) -> str:
        return self._r.method.lower()

    @property
    def body(self) -> bytes | None:
        try:
            return self._r.content or None
        except httpx.RequestNotRead:  # a streamed upload: nothing to validate on this side
            return None

    @property
    def content_type(self) -> str:
        return self._r.headers.get("content-type", "application/json")


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self._r = response

    @property
    def status_code(self) -> int:
        return self._r.status_code

    @property
    def content_type(self) -> str:
        return self._r.headers.get("content-type", "")

    @property
    def headers(self) -> Any:
        return Headers(dict(self._r.headers))

    @property
    def data(self) -> bytes | None:
        return self._r.content or None


def validate(response: httpx.Response) -> None:
    """Raise when a REST response is not one the contract describes."""
    _openapi().validate_response(_Request(response.request), _Response(response))


async def validate_hook(response: httpx.Response) -> None:
    path = response.request.url.path
    if not path.startswith(BASE_PATH + "/") or path.endswith(("/openapi.json", "/docs")):
        return
    await response.aread()
    if response.status_code == 404 and not _is_contract_path(path):
        return  # unknown paths are not the contract's to describe
    validate(response)


def _is_contract_path(path: str) -> bool:
    parts = path[len(BASE_PATH) :].strip("/").split("/")
    if parts[:1] == ["users"]:
        return len(parts) == 1
    return parts[:1] == ["bookings"] and len(parts) <= 3
