"""Bearer JWT: verifying tokens into a Principal, and minting them for the CLI and tests."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any
from uuid import UUID

import anyio.to_thread
import jwt

from leko_bookings.errors import Unavailable, unauthorized
from leko_bookings.settings import Settings

ASYMMETRIC_PREFIXES = ("RS", "ES", "PS", "Ed")
JWKS_CACHE_SECONDS = 300
# Verified tokens remembered per process (a calendar sends the same token with every request):
# a token seen again within VERIFIED_SECONDS of its verification, and before its `exp`, is
# not verified again. Its `iat`/`nbf` were in the past when it was verified and stay there; a
# signing key withdrawn from the JWKS stops accepting its tokens within VERIFIED_SECONDS.
VERIFIED_TOKENS = 4096
VERIFIED_SECONDS = 60
# After a failed fetch of the JWKS, fail at once for this long: the requests queued behind a
# fetch that timed out must not each wait a timeout of their own.
JWKS_FAIL_FAST_SECONDS = 1.0


class KeysUnavailable(Exception):
    """The JWKS endpoint gave no usable key set: down, slow, an error status, or garbage."""


class _JWKSClient(jwt.PyJWKClient):
    """PyJWKClient telling an outage (no usable key set, 503) from an unknown `kid` (401).

    PyJWKClient reports both as PyJWKClientError, a body that is not JSON as a bare ValueError
    and a reset mid-body as an OSError; here every failure to get a key set is KeysUnavailable,
    so the only PyJWTError left is a `kid` missing from a good set.
    """

    _failed_at: float | None = None

    def fetch_data(self) -> Any:
        failed_at = self._failed_at
        if failed_at is not None and time.monotonic() - failed_at < JWKS_FAIL_FAST_SECONDS:
            raise KeysUnavailable("the last fetch of the JWKS failed a moment ago")
        try:
            data = super().fetch_data()
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            self._failed_at = time.monotonic()
            raise KeysUnavailable(str(exc)) from exc
        self._failed_at = None
        return data

    def get_signing_keys(self, refresh: bool = False) -> list[jwt.PyJWK]:
        try:
            return super().get_signing_keys(refresh)
        except jwt.PyJWTError as exc:  # a key set without any signing key
            raise KeysUnavailable(str(exc)) from exc


class Role(StrEnum):
    athlete = "athlete"
    coach = "coach"
    admin = "admin"
    scheduler = "scheduler"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's `sub` and its known roles."""

    user_id: UUID
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles


class Authenticator:
    """Verifies bearer tokens as configured: HS256 secret, a public key, or a JWKS URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.algorithms = list(settings.jwt_algorithms)
        asymmetric = bool(settings.jwt_public_key or settings.jwks_url)
        if asymmetric and any(not a.startswith(ASYMMETRIC_PREFIXES) for a in self.algorithms):
            # A public key must never be usable as an HMAC secret (algorithm confusion).
            self.algorithms = [a for a in self.algorithms if a.startswith(ASYMMETRIC_PREFIXES)]
            if not self.algorithms:
                raise ValueError(
                    "LEKO_JWT_PUBLIC_KEY/LEKO_JWKS_URL need asymmetric LEKO_JWT_ALGORITHMS"
                )

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        if not self.settings.jwks_url:
            return None
        return _JWKSClient(
            self.settings.jwks_url,
            cache_jwk_set=True,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=self.settings.jwks_timeout_seconds,
        )

    async def _key(self, token: str) -> Any:
        if self._jwks is not None:
            client = self._jwks
            try:
                signing_key = await anyio.to_thread.run_sync(client.get_signing_key_from_jwt, token)
            except KeysUnavailable as exc:
                raise Unavailable("The token keys (JWKS) are unavailable; try again.") from exc
            return signing_key.key
        if self.settings.jwt_public_key:
            return self.settings.jwt_public_key
        return self.settings.signing_secret()

    @cached_property
    def verified(self) -> OrderedDict[str, tuple[Principal, float, float]]:
        """token -> (its principal, its `exp`, until when it holds without a new verification)."""
        return OrderedDict()

    async def authenticate(self, authorization: str | None) -> Principal:
        return (await self.authenticate_until(authorization))[0]

    async def authenticate_until(self, authorization: str | None) -> tuple[Principal, float]:
        """The caller and when their token expires (Unix seconds), or 401."""
        if not authorization:
            raise unauthorized("Missing bearer token (Authorization: Bearer <JWT>).")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("The Authorization header must be 'Bearer <JWT>'.")
        token = token.strip()
        now = time.time()
        known = self.verified.get(token)
        if known is not None:
            if now < known[2]:
                self.verified.move_to_end(token)
                return known[0], known[1]
            del self.verified[token]  # verified again below: expired, or time to look again
        principal, expires = await self._verify(token)
        self.verified[token] = (principal, expires, min(expires, now + VERIFIED_SECONDS))
        if len(self.verified) > VERIFIED_TOKENS:
            self.verified.popitem(last=False)
        return principal, expires

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The token's principal and its `exp`, or 401 (PyJWT's verification)."""
        try:
            claims = jwt.decode(
                token,
                await self._key(token),
                algorithms=self.algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.settings.jwt_audience is not None,
                },
            )
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Invalid bearer token: {exc}.") from exc
        return principal_from_claims(claims), float(int(claims["exp"]))


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        user_id = UUID(str(claims["sub"]))
    except ValueError as exc:
        raise unauthorized("Invalid bearer token: 'sub' must be a UUID.") from exc
    raw_roles = claims.get("roles") or []
    if not isinstance(raw_roles, list):
        raise unauthorized("Invalid bearer token: 'roles' must be a list.")
    known = {r.value for r in Role}
    return Principal(user_id, frozenset(Role(r) for r in raw_roles if r in known))


def mint_token(
    settings: Settings,
    sub: UUID,
    roles: list[str],
    *,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An HS256 token signed with the configured (or development) secret."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(sub),
        "roles": roles,
        "iat": issued,
        "exp": issued + ttl,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    claims.update(extra or {})
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")
