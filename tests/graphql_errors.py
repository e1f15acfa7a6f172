"""What every /graphql request error answers: a GraphQL response, its status, its headers."""

from __future__ import annotations

from typing import Any

import httpx


def assert_graphql_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A request error before execution: no `data`, one error whose `extensions.code` is the
    contract's code, with the request id (also in `x-request-id`). Returns the error."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert set(error) == {"message", "extensions"}, error
    assert error["message"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == r.headers["x-request-id"]
    return error
