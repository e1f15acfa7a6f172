"""The one domain error type. Resolvers raise it; each transport renders it once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID


class ErrorCode(StrEnum):
    """The contract's `Error.code` values."""

    validation = "validation"
    internal = "internal"
    oops = "oops"
    unexpected = "unexpected"
    tooManyRequests = "tooManyRequests"
    notFound = "notFound"
    unauthorized = "unauthorized"
    forbidden = "forbidden"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.validation: 400,
    ErrorCode.unauthorized: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.notFound: 404,
    ErrorCode.tooManyRequests: 429,
    ErrorCode.internal: 500,
    ErrorCode.oops: 500,
    ErrorCode.unexpected: 503,
}


class BookingError(StrEnum):
    """Why one event of an order cannot be booked (contract `BookEventError.bookingError`)."""

    pastEventBookAttempt = "pastEventBookAttempt"
    tooCloseToEventStart = "tooCloseToEventStart"
    selfBookAttempt = "selfBookAttempt"
    conflictingUserSchedules = "conflictingUserSchedules"
    overbooked = "overbooked"


@dataclass(frozen=True, slots=True)
class EventRefusal:
    event_id: UUID
    booking_error: BookingError


class DomainError(Exception):
    """An expected failure: a stable code, a message for humans, optional per-event refusals."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        refusals: list[EventRefusal] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.refusals = refusals or []

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def extensions(self) -> dict[str, Any]:
        """Read by graphql-core when this error surfaces as a GraphQL error."""
        return {"code": self.code.value}

    def __repr__(self) -> str:
        return f"DomainError({self.code.value!r}, {self.message!r})"


class ValidationFailed(DomainError):
    def __init__(self, message: str, *, refusals: list[EventRefusal] | None = None) -> None:
        super().__init__(ErrorCode.validation, message, refusals=refusals)


class OrderRefused(ValidationFailed):
    """An order of which at least one event cannot be booked; `refusals` says which and why."""


class Forbidden(DomainError):
    def __init__(self, message: str = "You are not allowed to perform this action.") -> None:
        super().__init__(ErrorCode.forbidden, message)


class NotFound(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.notFound, message)


class Unauthorized(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.unauthorized, message)


class TooManyRequests(DomainError):
    """A rate limit refused the request; a token is back in `retry_after` whole seconds (>= 1)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(ErrorCode.tooManyRequests, message)
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        return super().extensions | {"retryAfter": self.retry_after}


RETRY_AFTER_SECONDS = 1  # after a dependency (database, token keys) could not be reached
DATABASE_UNREACHABLE = "The database cannot be reached right now; retry shortly."


class Unavailable(DomainError):
    """A dependency (the database, the token keys) cannot be reached: 503, retry after
    `retry_after` seconds (the Retry-After header; `retryAfter` in a GraphQL error)."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(ErrorCode.unexpected, message)
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        return super().extensions | {"retryAfter": self.retry_after}


validation = ValidationFailed
forbidden = Forbidden
unauthorized = Unauthorized
