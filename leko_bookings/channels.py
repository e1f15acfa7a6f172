"""Where notifications go: one small interface, a `log` channel (default) and a `webhook`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import httpx
import orjson

from leko_bookings.settings import Settings

log = logging.getLogger("leko_bookings.notifications")
SIGNATURE_HEADER = "X-Leko-Signature"


class DeliveryFailed(Exception):
    """The channel could not deliver; the run retries later with backoff."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notification as a channel sends it; `id` is stable across retries."""

    id: UUID
    rule: str
    booking_id: UUID
    recipient_id: UUID
    recipient_role: str
    attempt: int
    created_at: datetime
    event_id: UUID
    start_at: datetime
    end_at: datetime
    booking_status: str

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "bookingId": self.booking_id,
            "recipientId": self.recipient_id,
            "recipientRole": self.recipient_role,
            "attempt": self.attempt,
            "createdAt": self.created_at,
            "booking": {
                "eventId": self.event_id,
                "startAt": self.start_at,
                "endAt": self.end_at,
                "bookingStatus": self.booking_status,
            },
        }

    def body(self) -> bytes:
        """The payload as compact JSON; instants in UTC with `Z` (RFC 3339)."""
        # default=str: UUIDs that subclass uuid.UUID (asyncpg's) are written as their text too.
        return orjson.dumps(self.payload(), option=orjson.OPT_UTC_Z, default=str)


Failures = dict[UUID, str]
"""The notifications of a batch that were not delivered, with why."""


class Channel(Protocol):
    async def deliver(self, messages: list[Message]) -> Failures:
        """Deliver a batch; return the ones that failed (the rest were delivered)."""

    async def aclose(self) -> None: ...


class LogChannel:
    """One log record per notification (logger `leko_bookings.notifications`): `notification
    <its JSON payload>`, a single line whatever the log format."""

    async def deliver(self, messages: list[Message]) -> Failures:
        if log.isEnabledFor(logging.INFO):
            for m in messages:
                # `log.info` without looking up its caller in the stack (a run logs 200,000).
                text = "notification " + m.body().decode()
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, text, (), None))
        return {}

    async def aclose(self) -> None:
        return None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` (verify both, reject stale t)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookChannel:
    """A JSON POST per notification, signed; a non-2xx answer or a timeout is a failure."""

    def __init__(self, url: str, secret: str, timeout: float, concurrency: int = 32) -> None:
        self.url = url
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout)
        self.limit = asyncio.Semaphore(concurrency)

    async def deliver(self, messages: list[Message]) -> Failures:
        failures: Failures = {}

        async def one(message: Message) -> None:
            async with self.limit:
                try:
                    await self.post(message)
                except DeliveryFailed as exc:
                    failures[message.id] = str(exc)[:500]

        await asyncio.gather(*(one(m) for m in messages))
        return failures

    async def post(self, message: Message) -> None:
        body = message.body()
        headers = {
            "Content-Type": "application/json",
            "X-Leko-Notification-Id": str(message.id),
            SIGNATURE_HEADER: sign(self.secret, int(time.time()), body),
        }
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()


def channel_from_settings(settings: Settings) -> Channel:
    if settings.notification_channel == "webhook":
        if not settings.webhook_url or not settings.webhook_secret:
            raise ValueError("the webhook channel needs LEKO_WEBHOOK_URL and LEKO_WEBHOOK_SECRET")
        return WebhookChannel(
            settings.webhook_url,
            settings.webhook_secret,
            settings.webhook_timeout_seconds,
            settings.notify_concurrency,
        )
    return LogChannel()
