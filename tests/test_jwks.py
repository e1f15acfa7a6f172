"""Token keys from a JWKS URL: an unknown `kid` is a bad token (401); a JWKS endpoint that is
down, hangs or answers garbage is an outage (503 `unexpected` with Retry-After), within the
configured timeout, never a 500 or a 401.

The JWKS endpoint is a real HTTP server on loopback whose behaviour each test sets.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from leko_bookings.app import create_app
from leko_bookings.settings import Settings
from tests.conftest import client_for
from tests.graphql_errors import assert_graphql_error
from tests.live_server import free_port
from tests.test_auth import assert_unauthorized, bearer, claims, list_own

TIMEOUT = 1.0  # LEKO_JWKS_TIMEOUT_SECONDS of these tests
BOUND = TIMEOUT + 2.0  # the longest a request may take while the JWKS endpoint is away
KID = "key-1"


def rsa_private() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private: Any, kid: str, use: str = "sig") -> dict[str, Any]:
    key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return key | {"kid": kid, "use": use, "alg": "RS256"}


def token(private: Any, user: uuid.UUID, kid: str | None = KID) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims(user), private, algorithm="RS256", headers=headers)


@dataclass
class JWKSEndpoint:
    """What the endpoint answers: `keys` (a good set), or a failure mode."""

    url: str
    keys: dict[str, Any]
    mode: str = "keys"
    fetches: int = 0
    release: threading.Event = field(default_factory=threading.Event)


BODIES: dict[str, tuple[int, bytes]] = {
    "error-status": (503, b'{"error": "maintenance"}'),
    "not-json": (200, b"<html>Bad gateway</html>"),
    "not-an-object": (200, b"[1, 2, 3]"),
    "no-keys": (200, b'{"keys": []}'),
    "no-signing-keys": (200, b""),  # filled per endpoint: an encryption key only
}


@pytest.fixture
def signer() -> Any:
    return rsa_private()


@pytest.fixture
def endpoint(signer: Any) -> Iterator[JWKSEndpoint]:
    state = JWKSEndpoint("", {"keys": [jwk(signer, KID)]})
    encryption_only = json.dumps({"keys": [jwk(rsa_private(), "enc-1", use="enc")]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            if state.mode == "hang":
                state.release.wait(timeout=30)  # never answers within the client's timeout
                return
            if state.mode == "keys":
                status, body = 200, json.dumps(state.keys).encode()
            elif state.mode == "no-signing-keys":
                status, body = 200, encryption_only
            else:
                status, body = BODIES[state.mode]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def keyed_client(db: str, clock: Any, url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=db, jwks_url=url, jwt_algorithms=["RS256"], jwks_timeout_seconds=TIMEOUT
    )
    async with client_for(create_app(settings, clock=clock, manage_database=False)) as c:
        yield c


def assert_keys_unavailable(response: httpx.Response, endpoint: str = "GET /bookings") -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["code"] == "unexpected"
    assert error["endpoint"] == endpoint
    assert error["requestId"] == response.headers["x-request-id"]
    assert "JWKS" in error["message"]


async def timed_list(c: httpx.AsyncClient, user: uuid.UUID, t: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = await list_own(c, user, bearer(t))
    return r, time.monotonic() - started


# --- Keys found, keys not found --------------------------------------------------------------


async def test_token_of_a_jwks_key_is_accepted_and_keys_are_cached(db, clock, endpoint, signer):
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        for _ in range(3):
            r = await list_own(c, user, bearer(token(signer, user)))
            assert r.status_code == 200, r.text
    assert endpoint.fetches == 1


@pytest.mark.parametrize("kid", ["unknown-kid", None], ids=["unknown-kid", "no-kid"])
async def test_unknown_kid_is_401(db, clock, endpoint, signer, kid):
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        assert (await list_own(c, user, bearer(token(signer, user)))).status_code == 200
        message = assert_unauthorized(await list_own(c, user, bearer(token(signer, user, kid))))
        assert "signing key" in message


async def test_a_known_kid_on_a_token_of_another_key_is_401(db, clock, endpoint):
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        assert_unauthorized(await list_own(c, user, bearer(token(rsa_private(), user))))


async def test_cached_keys_keep_serving_while_the_endpoint_is_down(db, clock, endpoint, signer):
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        assert (await list_own(c, user, bearer(token(signer, user)))).status_code == 200
        endpoint.mode = "error-status"
        assert (await list_own(c, user, bearer(token(signer, user)))).status_code == 200


# --- The endpoint away: 503, fast ------------------------------------------------------------


@pytest.mark.parametrize("mode", [*BODIES, "hang"])
async def test_jwks_failure_is_503_within_the_timeout(db, clock, endpoint, signer, mode):
    endpoint.mode = mode
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        r, elapsed = await timed_list(c, user, token(signer, user))
        assert_keys_unavailable(r)
        assert elapsed <= BOUND, f"{elapsed:.2f} s"
        if mode == "hang":
            assert elapsed >= TIMEOUT * 0.9  # it did wait: the configured timeout, not 30 s


async def test_jwks_refusing_connections_is_503(db, clock, signer):
    user = uuid.uuid4()
    nowhere = f"http://127.0.0.1:{free_port()}/jwks.json"
    async with keyed_client(db, clock, nowhere) as c:
        r, elapsed = await timed_list(c, user, token(signer, user))
        assert_keys_unavailable(r)
        assert elapsed <= BOUND
        # GraphQL authenticates the same way and answers the same way.
        g = await c.post(
            "/graphql", json={"query": "{ __typename }"}, headers=bearer(token(signer, user))
        )
        assert g.headers["retry-after"] == "1"
        error = assert_graphql_error(g, 503, "unexpected")
        assert "JWKS" in error["message"]


async def test_concurrent_requests_during_a_hang_all_answer_within_one_timeout(
    db, clock, endpoint, signer
):
    """Fetches are serialised (one lock in the key client): without failing fast after a failed
    fetch, the 10th request would wait 10 timeouts."""
    endpoint.mode = "hang"
    users = [uuid.uuid4() for _ in range(10)]
    async with keyed_client(db, clock, endpoint.url) as c:
        results = await asyncio.gather(*(timed_list(c, u, token(signer, u)) for u in users))
    for r, elapsed in results:
        assert_keys_unavailable(r)
        assert elapsed <= BOUND, f"{elapsed:.2f} s"
    assert endpoint.fetches == 1


async def test_service_recovers_when_the_jwks_endpoint_returns(db, clock, endpoint, signer):
    endpoint.mode = "not-json"
    user = uuid.uuid4()
    async with keyed_client(db, clock, endpoint.url) as c:
        assert_keys_unavailable(await list_own(c, user, bearer(token(signer, user))))
        endpoint.mode = "keys"
        deadline = time.monotonic() + 10
        while (r := await list_own(c, user, bearer(token(signer, user)))).status_code != 200:
            assert_keys_unavailable(r)  # failing fast for a moment after the failed fetch
            assert time.monotonic() < deadline, "never recovered"
            await asyncio.sleep(0.05)
