"""Typed error members of mutation result unions, filled from the one domain error family."""

from __future__ import annotations

from typing import Any

import strawberry

from leko_bookings.errors import (
    BookingError,
    DomainError,
    ErrorCode,
    Forbidden,
    NotFound,
    OrderRefused,
    TooManyRequests,
    ValidationFailed,
)
from leko_bookings.schema import enums  # noqa: F401 - the enums first, with their names


@strawberry.interface(description="An expected failure; `code` is the contract's Error.code.")
class Error:
    code: ErrorCode
    message: str


@strawberry.type
class ValidationError(Error):
    pass


@strawberry.type
class ForbiddenError(Error):
    pass


@strawberry.type
class NotFoundError(Error):
    pass


@strawberry.type
class BookEventError:
    event_id: strawberry.ID
    booking_error: BookingError


@strawberry.type(description="No event was booked: `errors` lists each refused event and why.")
class BookingRefused(Error):
    errors: list[BookEventError]


@strawberry.type(description="A rate limit refused this; retry after `retryAfter` seconds.")
class TooManyRequestsError(Error):
    retry_after: int


def _fields(exc: DomainError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message}


class OrderRefusedHandler(strawberry.ExceptionHandler[OrderRefused, BookingRefused]):
    def handle(self, exception: OrderRefused, *, field: Any, info: Any) -> BookingRefused:
        errors = [
            BookEventError(event_id=strawberry.ID(str(r.event_id)), booking_error=r.booking_error)
            for r in exception.refusals
        ]
        return BookingRefused(errors=errors, **_fields(exception))


class ValidationHandler(strawberry.ExceptionHandler[ValidationFailed, ValidationError]):
    def handle(self, exception: ValidationFailed, *, field: Any, info: Any) -> ValidationError:
        return ValidationError(**_fields(exception))


class ForbiddenHandler(strawberry.ExceptionHandler[Forbidden, ForbiddenError]):
    def handle(self, exception: Forbidden, *, field: Any, info: Any) -> ForbiddenError:
        return ForbiddenError(**_fields(exception))


class NotFoundHandler(strawberry.ExceptionHandler[NotFound, NotFoundError]):
    def handle(self, exception: NotFound, *, field: Any, info: Any) -> NotFoundError:
        return NotFoundError(**_fields(exception))


class TooManyRequestsHandler(strawberry.ExceptionHandler[TooManyRequests, TooManyRequestsError]):
    def handle(self, exception: TooManyRequests, *, field: Any, info: Any) -> TooManyRequestsError:
        info.context.answer_header("Retry-After", str(exception.retry_after))
        return TooManyRequestsError(retry_after=exception.retry_after, **_fields(exception))


HANDLERS: list[strawberry.ExceptionHandler[Any, Any]] = [
    OrderRefusedHandler(),
    ValidationHandler(),
    ForbiddenHandler(),
    NotFoundHandler(),
    TooManyRequestsHandler(),
]

# The union members every schema of the service declares (some appear only in unions).
ERROR_TYPES: tuple[type, ...] = (
    ValidationError,
    ForbiddenError,
    NotFoundError,
    BookingRefused,
    TooManyRequestsError,
)
