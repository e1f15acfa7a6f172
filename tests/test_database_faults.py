"""The database unreachable: a quick 503 `unexpected` in the contract's body, never a 500."""

from __future__ import annotations

import uuid

import httpx

from leko_bookings.auth import mint_token
from leko_bookings.settings import Settings
from tests.conftest import SECRET
from tests.contract import validate
from tests.live_server import free_port, live_server


def test_unreachable_postgres_answers_503_and_graphql_does_not_crash():
    closed = free_port()  # nothing listens there
    env = {
        "LEKO_DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/nowhere",
        "LEKO_JWT_SECRET": SECRET,
    }
    user = uuid.uuid4()
    token = mint_token(Settings(jwt_secret=SECRET), user, ["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    with live_server(env, "--no-migrate") as url:
        r = httpx.get(
            f"{url}/v1/bookings", params={"userId": str(user)}, headers=headers, timeout=30
        )
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        [error] = r.json()["errors"]
        assert error["code"] == "unexpected"
        assert error["endpoint"] == "GET /bookings"
        assert error["requestId"] == r.headers["x-request-id"]
        validate(r)

        query = {"query": f'{{ bookings(userId: "{user}") {{ nodes {{ bookingId }} }} }}'}
        g = httpx.post(f"{url}/graphql", json=query, headers=headers, timeout=30)
        assert g.status_code == 503  # as REST: retry (tests/test_graphql_edges.py)
        assert g.headers["retry-after"] == "1"
        assert g.json()["errors"][0]["extensions"]["code"] == "unexpected"
