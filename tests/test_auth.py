"""Bearer JWT authentication: every bad token is 401 `unauthorized`; key and claim configurations.

Token times are real-clock times: pyjwt checks `exp`/`nbf` against the system clock, not the
service's injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from leko_bookings.app import create_app
from leko_bookings.auth import Authenticator
from leko_bookings.settings import Settings
from tests.conftest import SECRET, client_for
from tests.graphql_errors import assert_graphql_error

WRONG_SECRET = "another-secret-" + "y" * 40
ISSUER = "https://id.le-ko.test/"
AUDIENCE = "leko-bookings"
ME_QUERY = "query Me($userId: UUID!) { bookings(userId: $userId) { nodes { bookingId } } }"


def claims(subject: uuid.UUID | str, /, **changes: Any) -> dict[str, Any]:
    """Valid claims (real clock); a change of None drops that claim."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": str(subject),
        "roles": ["athlete"],
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(subject: uuid.UUID | str, secret: str = SECRET, /, **changes: Any) -> str:
    return jwt.encode(claims(subject, **changes), secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token built by hand, as an attacker would: pyjwt refuses to make these."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def plain_claims(subject: uuid.UUID, /, **changes: Any) -> dict[str, Any]:
    """JSON-ready claims (numeric dates) for hand-made tokens."""
    return {
        k: int(v.timestamp()) if isinstance(v, datetime) else v
        for k, v in claims(subject, **changes).items()
    }


async def list_own(client: httpx.AsyncClient, user: uuid.UUID, headers: dict[str, str]):
    return await client.get("/v1/bookings", params={"userId": str(user)}, headers=headers)


def assert_unauthorized(response: httpx.Response, endpoint: str = "GET /bookings") -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    [error] = body["errors"]
    assert error["code"] == "unauthorized"
    assert error["endpoint"] == endpoint
    assert error["requestId"] == response.headers["x-request-id"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    return error["message"]


def assert_graphql_unauthorized(response: httpx.Response) -> str:
    """401 on /graphql: a GraphQL error (`extensions.code`), with the bearer challenge."""
    error = assert_graphql_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    return error["message"]


def rsa_key() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, public_pem(key)


def ec_key() -> tuple[Any, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, public_pem(key)


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# --- Every bad credential is 401 ------------------------------------------------------------


def bad_authorizations(user: uuid.UUID) -> dict[str, str | None]:
    hour = timedelta(hours=1)
    now = datetime.now(UTC)
    return {
        "no-header": None,
        "basic-scheme": "Basic " + base64.b64encode(b"athlete:password").decode(),
        "bearer-without-token": "Bearer",
        "bearer-blank-token": "Bearer    ",
        "token-without-scheme": hs256(user),
        "malformed-token": "Bearer not.a.jwt",
        "garbage-token": "Bearer abc",
        "alg-none": "Bearer " + forged({"alg": "none", "typ": "JWT"}, plain_claims(user), None),
        "alg-none-signed": "Bearer "
        + forged({"alg": "none", "typ": "JWT"}, plain_claims(user), SECRET.encode()),
        "wrong-secret": "Bearer " + hs256(user, WRONG_SECRET),
        "tampered-payload": "Bearer " + _tamper(hs256(user), sub=str(uuid.uuid4())),
        "expired": "Bearer " + hs256(user, iat=now - 2 * hour, exp=now - hour),
        "nbf-in-future": "Bearer " + hs256(user, nbf=now + hour),
        "iat-in-future": "Bearer " + hs256(user, iat=now + hour),
        "missing-sub": "Bearer " + hs256(user, sub=None),
        "missing-exp": "Bearer " + hs256(user, exp=None),
        "sub-not-a-uuid": "Bearer " + hs256("alice"),
        "sub-a-number": "Bearer " + hs256(user, sub=42),
        "roles-a-string": "Bearer " + hs256(user, roles="admin"),
        "roles-an-object": "Bearer " + hs256(user, roles={"admin": True}),
    }


def _tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return f"{header}.{_b64(json.dumps(data).encode())}.{signature}"


BAD_CASES = list(bad_authorizations(uuid.uuid4()))


@pytest.mark.parametrize("case", BAD_CASES)
async def test_bad_credentials_are_401_on_rest(client, users, case):
    authorization = bad_authorizations(users.athlete)[case]
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await list_own(client, users.athlete, headers)
    assert_unauthorized(r)
    if authorization is None:
        assert r.headers["www-authenticate"] == "Bearer"
    else:
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_the_same_user_with_a_good_token_is_200(client, users):
    """The control for the 401 cases: the same request with a valid token succeeds."""
    r = await list_own(client, users.athlete, bearer(hs256(users.athlete)))
    assert r.status_code == 200, r.text
    assert r.json() == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("missing-exp", "exp"),
        ("missing-sub", "sub"),
        ("sub-not-a-uuid", "UUID"),
        ("roles-a-string", "roles"),
        ("nbf-in-future", "not yet valid"),
    ],
)
async def test_401_message_says_why(client, users, case, reason):
    authorization = bad_authorizations(users.athlete)[case]
    assert authorization is not None
    r = await list_own(client, users.athlete, {"Authorization": authorization})
    assert reason in assert_unauthorized(r)


async def test_401_on_post_bookings_before_anything_is_booked(client, users):
    body = {"userId": str(users.athlete), "eventIds": [str(uuid.uuid4())]}
    body["paymentMethod"] = {"type": "Cash"}
    r = await client.post(
        "/v1/bookings", json=body, headers=bearer(hs256(users.athlete, WRONG_SECRET))
    )
    assert_unauthorized(r, "POST /bookings")


@pytest.mark.parametrize(
    "case", ["no-header", "basic-scheme", "alg-none", "wrong-secret", "expired", "missing-exp"]
)
async def test_bad_credentials_are_401_on_graphql(client, users, case):
    authorization = bad_authorizations(users.athlete)[case]
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await client.post(
        "/graphql",
        json={"query": ME_QUERY, "variables": {"userId": str(users.athlete)}},
        headers=headers,
    )
    assert_graphql_unauthorized(r)


async def test_graphql_with_a_good_token_is_200(client, users):
    r = await client.post(
        "/graphql",
        json={"query": ME_QUERY, "variables": {"userId": str(users.athlete)}},
        headers=bearer(hs256(users.athlete)),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"data": {"bookings": {"nodes": []}}}


# --- Roles ----------------------------------------------------------------------------------


async def test_unknown_roles_are_ignored(client, users):
    token = hs256(users.athlete, roles=["superuser", "root", "athlete"])
    assert (await list_own(client, users.athlete, bearer(token))).status_code == 200
    r = await list_own(client, users.other_athlete, bearer(token))
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["code"] == "forbidden"


async def test_only_unknown_roles_reads_own_but_is_not_admin(client, users):
    token = hs256(users.athlete, roles=["superuser"])
    assert (await list_own(client, users.athlete, bearer(token))).status_code == 200
    assert (await list_own(client, users.other_athlete, bearer(token))).status_code == 403
    # The control: the admin role does open another user's listing.
    admin = hs256(users.admin, roles=["admin"])
    assert (await list_own(client, users.other_athlete, bearer(admin))).status_code == 200


async def test_token_without_roles_claim_is_a_plain_user(client, users):
    token = hs256(users.athlete, roles=None)
    assert (await list_own(client, users.athlete, bearer(token))).status_code == 200
    assert (await list_own(client, users.other_athlete, bearer(token))).status_code == 403


# --- GraphiQL and GraphQL over GET ----------------------------------------------------------


async def test_graphiql_page_is_served_without_a_token(client):
    r = await client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "graphiql" in r.text.lower()


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
async def test_graphql_query_over_get_without_token_is_401(client, accept):
    r = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": accept})
    assert_graphql_unauthorized(r)


async def test_graphql_query_over_get_with_token_is_200(client, users):
    r = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers=bearer(hs256(users.athlete))
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"data": {"__typename": "Query"}}


# --- Asymmetric keys ------------------------------------------------------------------------


@pytest.fixture
def rsa_pair() -> tuple[Any, str]:
    return rsa_key()


def asymmetric_app(database: str, clock: Any, pem: str, algorithms: list[str]) -> FastAPI:
    settings = Settings(database_url=database, jwt_public_key=pem, jwt_algorithms=algorithms)
    return create_app(settings, clock=clock, manage_database=False)


@pytest.mark.parametrize(
    ("algorithm", "make_key"), [("RS256", rsa_key), ("ES256", ec_key)], ids=["RS256", "ES256"]
)
async def test_asymmetric_token_is_accepted(db, clock, algorithm, make_key):
    private, pem = make_key()
    app = asymmetric_app(db, clock, pem, [algorithm])
    user = uuid.uuid4()
    token = jwt.encode(claims(user), private, algorithm=algorithm)
    async with client_for(app) as c:
        r = await list_own(c, user, bearer(token))
        assert r.status_code == 200, r.text
        # The control: a token of another key pair is refused.
        other, _ = make_key()
        stranger = jwt.encode(claims(user), other, algorithm=algorithm)
        assert_unauthorized(await list_own(c, user, bearer(stranger)))


@pytest.mark.parametrize("algorithms", [["RS256"], ["RS256", "HS256"], ["HS256", "RS256"]])
async def test_public_key_as_hmac_secret_is_refused(db, clock, rsa_pair, algorithms):
    """Algorithm confusion: an HS256 token "signed" with the public PEM must not pass."""
    _, pem = rsa_pair
    app = asymmetric_app(db, clock, pem, algorithms)
    assert app.state.authenticator.algorithms == ["RS256"]
    user = uuid.uuid4()
    token = forged(
        {"alg": "HS256", "typ": "JWT"}, plain_claims(user, roles=["admin"]), pem.encode()
    )
    async with client_for(app) as c:
        assert_unauthorized(await list_own(c, user, bearer(token)))
        # Not even through an admin's eyes: another user's listing stays closed.
        assert_unauthorized(await list_own(c, uuid.uuid4(), bearer(token)))


async def test_hs256_token_of_the_default_secret_is_refused_when_keyed(db, clock, rsa_pair):
    _, pem = rsa_pair
    app = asymmetric_app(db, clock, pem, ["RS256"])
    user = uuid.uuid4()
    async with client_for(app) as c:
        assert_unauthorized(await list_own(c, user, bearer(hs256(user))))


def test_public_key_with_only_hmac_algorithms_refuses_to_start(monkeypatch, tmp_path, rsa_pair):
    _, pem = rsa_pair
    monkeypatch.setenv("LEKO_DATABASE_URL", f"sqlite://{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("LEKO_JWT_PUBLIC_KEY", pem)
    monkeypatch.setenv("LEKO_JWT_ALGORITHMS", '["HS256"]')
    settings = Settings()
    assert settings.jwt_algorithms == ["HS256"]
    with pytest.raises(ValueError, match="asymmetric LEKO_JWT_ALGORITHMS"):
        create_app(settings, manage_database=False)
    with pytest.raises(ValueError, match="asymmetric LEKO_JWT_ALGORITHMS"):
        Authenticator(settings)


def test_jwks_url_with_only_hmac_algorithms_refuses_to_start():
    settings = Settings(
        database_url="sqlite://:memory:",
        jwks_url="https://id.le-ko.test/.well-known/jwks.json",
        jwt_algorithms=["HS256", "HS512"],
    )
    with pytest.raises(ValueError, match="asymmetric"):
        Authenticator(settings)


def test_mixed_algorithms_with_a_public_key_keep_only_asymmetric(rsa_pair):
    _, pem = rsa_pair
    settings = Settings(
        database_url="sqlite://:memory:", jwt_public_key=pem, jwt_algorithms=["HS256", "RS256"]
    )
    assert Authenticator(settings).algorithms == ["RS256"]


# --- Issuer and audience --------------------------------------------------------------------


@pytest.fixture
async def iss_aud_client(db, clock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=db, jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    async with client_for(create_app(settings, clock=clock, manage_database=False)) as c:
        yield c


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iss": "https://evil.example/"}, id="wrong-iss"),
        pytest.param({"aud": "another-service"}, id="wrong-aud"),
        pytest.param({"aud": ["another-service", "billing"]}, id="wrong-aud-list"),
        pytest.param({"iss": None}, id="missing-iss"),
        pytest.param({"aud": None}, id="missing-aud"),
    ],
)
async def test_issuer_and_audience_are_checked(iss_aud_client, changes):
    user = uuid.uuid4()
    token = hs256(user, **({"iss": ISSUER, "aud": AUDIENCE} | changes))
    assert_unauthorized(await list_own(iss_aud_client, user, bearer(token)))


@pytest.mark.parametrize(
    "aud", [pytest.param(AUDIENCE, id="aud"), pytest.param(["billing", AUDIENCE], id="aud-list")]
)
async def test_right_issuer_and_audience_are_accepted(iss_aud_client, aud):
    user = uuid.uuid4()
    token = hs256(user, iss=ISSUER, aud=aud)
    r = await list_own(iss_aud_client, user, bearer(token))
    assert r.status_code == 200, r.text


async def test_unconfigured_audience_is_not_checked(client, users):
    """Without LEKO_JWT_AUDIENCE a token's `aud` is not held against it."""
    token = hs256(users.athlete, aud="whatever", iss="anyone")
    assert (await list_own(client, users.athlete, bearer(token))).status_code == 200


# --- The token CLI --------------------------------------------------------------------------


def run_token_cli(env: dict[str, str], sub: uuid.UUID, *args: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEKO_")}
    done = subprocess.run(
        [sys.executable, "-m", "leko_bookings.cli", "token", "--sub", str(sub), *args],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert len(lines) == 1, done.stdout
    return lines[0]


def test_cli_token_with_configured_secret(tmp_path):
    sub = uuid.uuid4()
    env = {"LEKO_JWT_SECRET": SECRET, "LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
    token = run_token_cli(env, sub, "--role", "coach", "--ttl", "60")
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert decoded["sub"] == str(sub)
    assert decoded["roles"] == ["coach"]
    assert decoded["exp"] - decoded["iat"] == 60
    assert not (tmp_path / "x.sqlite3.jwt-secret").exists()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, WRONG_SECRET, algorithms=["HS256"])


def test_cli_token_repeatable_roles(tmp_path):
    sub = uuid.uuid4()
    env = {"LEKO_JWT_SECRET": SECRET, "LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
    token = run_token_cli(env, sub, "--role", "coach", "--role", "admin")
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert decoded["roles"] == ["coach", "admin"]
    assert decoded["exp"] - decoded["iat"] == 12 * 3600


def test_cli_token_with_development_secret(tmp_path):
    sub = uuid.uuid4()
    env = {"LEKO_DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
    first = run_token_cli(env, sub, "--role", "coach", "--ttl", "60")
    secret_file = tmp_path / "x.sqlite3.jwt-secret"
    assert secret_file.exists()
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    decoded = jwt.decode(first, secret, algorithms=["HS256"])
    assert decoded["sub"] == str(sub)
    assert decoded["roles"] == ["coach"]

    second = run_token_cli(env, sub, "--role", "athlete")
    assert secret_file.read_text().strip() == secret
    assert jwt.decode(second, secret, algorithms=["HS256"])["roles"] == ["athlete"]


async def test_cli_development_token_is_accepted_by_the_service(tmp_path, db, clock):
    """A token minted by the CLI with the dev secret opens the service using the same file."""
    sqlite_url = f"sqlite://{tmp_path / 'x.sqlite3'}"
    sub = uuid.uuid4()
    token = run_token_cli({"LEKO_DATABASE_URL": sqlite_url}, sub, "--role", "athlete")
    # Same secret source (the file beside the SQLite path), the test's database for the data.
    dev = Settings(database_url=sqlite_url)
    settings = Settings(database_url=db, jwt_secret=dev.signing_secret())
    async with client_for(create_app(settings, clock=clock, manage_database=False)) as c:
        assert (await list_own(c, sub, bearer(token))).status_code == 200


async def test_the_caller_is_checked_before_the_trace_header(client, users):
    """No token and a malformed traceparent: 401 (who you are comes first), not 400."""
    r = await client.get(
        "/v1/bookings", params={"userId": str(users.athlete)}, headers={"traceparent": "0"}
    )
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "unauthorized"
    r = await client.get(
        "/v1/bookings",
        params={"userId": str(users.athlete)},
        headers={**users.as_athlete, "traceparent": "0"},
    )
    assert r.status_code == 400
    assert "traceparent" in r.json()["errors"][0]["message"]


async def test_a_verified_token_is_not_verified_again_until_it_is_due(monkeypatch):
    """The calendar sends one token with every request: verified once per VERIFIED_SECONDS (a
    fake verification counts), and never used past its `exp`."""
    authenticator = Authenticator(Settings(jwt_secret=SECRET))
    verified = []
    real = authenticator._verify

    async def counted(token: str) -> Any:
        verified.append(token)
        return await real(token)

    monkeypatch.setattr(authenticator, "_verify", counted)
    user = uuid.uuid4()
    token = hs256(user)
    for _ in range(3):
        assert (await authenticator.authenticate(f"Bearer {token}")).user_id == user
    assert verified == [token]
    # Remembered as if verified before it expired: past its `exp`, it is verified again, and
    # refused.
    expired = hs256(user, exp=datetime.now(UTC) - timedelta(seconds=1))
    principal = await authenticator.authenticate(f"Bearer {token}")
    authenticator.verified[expired] = (principal, 0.0, 0.0)
    with pytest.raises(Exception, match="expired"):
        await authenticator.authenticate(f"Bearer {expired}")
    assert expired not in authenticator.verified
