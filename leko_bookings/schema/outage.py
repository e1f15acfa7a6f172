"""A database outage during a GraphQL operation is answered as REST answers it: HTTP 503 with
Retry-After, so a client knows to retry, rather than a 200 whose errors say "Unexpected error."

A resolver's failure becomes an `errors` entry of an HTTP 200, masked (execution.py's
`MaskErrors`). When one of an operation's errors is the database being unreachable (the
classification REST uses, `db.database_unavailable`), the operation failed as a whole for a
reason that passes: `DatabaseOutage` answers it with `data` null and one error of the code
`unexpected` with `retryAfter` (and the request id), and, over HTTP, the status 503 and the
headers every error answer carries (`http.error_headers`: Retry-After, x-request-id). The
extension runs inside `MaskErrors` (listed after it), so it sees the errors before masking,
and its own error passes unmasked.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request, Response
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from leko_bookings.db import database_unavailable
from leko_bookings.errors import DATABASE_UNREACHABLE, Unavailable
from leko_bookings.http import error_headers, request_id


def outage_in(errors: list[GraphQLError]) -> bool:
    return any(
        error.original_error is not None and database_unavailable(error.original_error)
        for error in errors
    )


class DatabaseOutage(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not isinstance(result, GraphQLExecutionResult | ExecutionResult):
            return  # a subscription's stream: its events are not answers of this request
        if not result.errors or not outage_in(result.errors):
            return
        error = Unavailable(DATABASE_UNREACHABLE)
        extensions = error.extensions
        context = self.execution_context.context
        request = getattr(context, "request", None)
        if isinstance(request, Request):
            extensions |= {"requestId": request_id(request)}
        result.data = None
        result.errors = [GraphQLError(error.message, extensions=extensions)]
        response = getattr(context, "response", None)
        if isinstance(request, Request) and isinstance(response, Response):
            response.status_code = error.status
            response.headers.update(error_headers(request, error))
