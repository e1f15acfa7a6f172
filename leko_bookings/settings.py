"""Settings from the environment (prefix ``LEKO_``)."""

from __future__ import annotations

import json
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("leko_bookings")

DEFAULT_SQLITE_FILE = "leko_bookings.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEKO_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite://{DEFAULT_SQLITE_FILE}",
        description="postgres://user@host:5432/db?maxsize=20 or sqlite://path",
    )
    jwt_secret: str | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwks_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    base_path: str = "/v1"
    notification_rules_file: Path | None = None
    notification_channel: Literal["log", "webhook"] = "log"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout_seconds: float = 5.0
    notification_max_attempts: int = Field(default=5, ge=1)
    notification_backoff_seconds: int = Field(default=60, ge=1)
    notify_batch_size: int = Field(default=2500, ge=1, le=10_000)
    notify_concurrency: int = Field(default=32, ge=1, le=1000)
    notify_parallel_batches: int = Field(default=2, ge=1, le=16)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    database_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    max_events_per_order: int = 20
    min_lead_time_minutes: int = 30
    # Per-user token buckets (resolvers/rate_limits.py); a rate of 0 disables the limit.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    order_rate_limit_per_minute: int = Field(default=10, ge=0)
    order_rate_limit_burst: int = Field(default=5, ge=1)
    # Seats one user may hold in events not started yet (OWASP API6); 0 disables the cap.
    max_upcoming_seats_per_user: int = Field(default=30, ge=0)
    # How long an order's Idempotency-Key answers with its first answer (resolvers/idempotency.py);
    # the notify run deletes expired keys.
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 365)
    # Waitlists (issue 17): athletes waiting in one event, and waitlists one athlete waits in.
    max_waitlist_per_event: int = Field(default=50, ge=1, le=10_000)
    max_waitlists_per_user: int = Field(default=10, ge=1, le=1000)

    # -- live subscriptions (GraphQL over WebSocket, issue 14) ----------------------------------
    # A direct PostgreSQL connection for LISTEN when LEKO_DATABASE_URL goes through a transaction
    # pooler (which cannot LISTEN); default: LEKO_DATABASE_URL's server.
    listen_database_url: str | None = None
    # -- migrations (issue 15: db.migrate) --------------------------------------------------------
    # Where `migrate` (and `serve` before it serves) applies migrations, when not LEKO_DATABASE_URL:
    # e.g. a direct PostgreSQL connection while LEKO_DATABASE_URL goes through a pooler.
    migration_database_url: str | None = None
    # How long `migrate` waits for the migration lock (another process migrating) before it fails.
    migration_lock_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    subscriptions_per_socket: int = Field(default=20, ge=1, le=1000)
    sockets_per_user: int = Field(default=10, ge=1, le=1000)  # per server process
    # Pages on other origins that may open the WebSocket (a calendar UI served elsewhere), comma
    # separated, e.g. `https://app.example.com`; the service's own origin and non-browser clients
    # always may. The token travels in the protocol, not in a cookie.
    websocket_origins: str = ""

    # --- Calendar feeds (issue 14: resolvers/calendar_feeds.py, feeds/) -----------------------
    # Where feed URLs start (`https://bookings.example.com`); unset: the base URL of the GraphQL
    # request that creates the feed.
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # The right-hand side of every feed entry's UID (`<booking or event id>@<domain>`); calendar
    # apps match entries by UID, so it never changes once feeds are out.
    calendar_uid_domain: str = Field(default="leko-bookings", pattern=r"^[^\s@]+$")
    # Reads of one feed (token bucket per feed, resolvers/rate_limits.py); 0 a minute: no limit.
    calendar_feed_rate_limit_per_minute: int = Field(default=10, ge=0)
    calendar_feed_rate_limit_burst: int = Field(default=10, ge=1)
    # --- end of calendar feeds --------------------------------------------------------------

    # --- observability (issue 15: health.py, metrics.py, logs.py) ----------------------------
    # `json` (one object per line) or `text`; unset: text when stderr is a terminal, else json.
    log_format: Literal["json", "text"] | None = None
    # The bearer token of GET /metrics; unset: /metrics is not served on the service's port.
    metrics_token: SecretStr | None = None
    # GET /readyz: longest wait for the database (connecting, the migrations query) before 503.
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # --- end of observability ----------------------------------------------------------------

    # --- server limits (issue 15: server_limits.py; each a `serve` option too) -----------------
    # The request line and headers of one request, in bytes; larger: 431, the connection closed.
    max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    # On SIGTERM, how long requests in flight may finish before they are cancelled.
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    # An idle connection is closed after this: above a load balancer's idle timeout (often 60 s),
    # so the balancer, never the service, closes a connection it may be about to reuse.
    keep_alive_seconds: float = Field(default=75.0, gt=0, le=3600)
    # Connections one worker serves at once (WebSockets included); past it: 503 + Retry-After.
    max_connections_per_worker: int = Field(default=1000, ge=1, le=1_000_000)
    # --- end of server limits -------------------------------------------------------------------

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _algorithms(cls, value: object) -> object:
        """`RS256`, `RS256,ES256` or a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [a.strip() for a in text.split(",") if a.strip()]
        return value

    @property
    def dialect(self) -> str:
        return dialect_of(self.database_url)

    @property
    def sqlite_path(self) -> Path | None:
        return sqlite_file(self.database_url)

    def signing_secret(self) -> str:
        """The HS256 secret: configured, or a generated dev secret kept beside the SQLite file."""
        if self.jwt_secret:
            return self.jwt_secret
        return _dev_secret(self.sqlite_path)


def sqlite_url(url: str) -> str:
    """A sqlite:// URL as Tortoise reads it: `sqlite:////abs/path` (SQLAlchemy's spelling of an
    absolute path) is `sqlite:///abs/path` (Tortoise's; SQLite cannot open `//abs/path`)."""
    head, sep, rest = url.partition("sqlite:////")
    return f"sqlite:///{rest.lstrip('/')}" if sep and not head else url


def dialect_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in {"postgres", "postgresql", "asyncpg", "psycopg"}:
        return "postgres"
    if scheme == "sqlite":
        return "sqlite"
    raise ValueError(f"unsupported database URL scheme {scheme!r} (postgres:// or sqlite://)")


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:// URL; None for PostgreSQL or an in-memory database."""
    if dialect_of(url) != "sqlite":
        return None
    raw = sqlite_url(url).removeprefix("sqlite://").split("?", 1)[0]
    return None if raw in {"", ":memory:"} else Path(raw)


@lru_cache(maxsize=8)
def _dev_secret(sqlite_path: Path | None) -> str:
    secret_file = sqlite_path.with_name(sqlite_path.name + ".jwt-secret") if sqlite_path else None
    if secret_file and secret_file.exists():
        secret = secret_file.read_text().strip()
    else:
        secret = secrets.token_urlsafe(48)
        if secret_file:
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secret)
            secret_file.chmod(0o600)
    log.warning(
        "LEKO_JWT_SECRET is not set: using a generated development secret%s. "
        "Never run like this in production.",
        f" stored in {secret_file}" if secret_file else "",
    )
    return secret


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
