"""GraphQL operations in the metrics (count by name, type and outcome; duration of queries and
mutations) and in the request's log fields (`operation`, `operationType`): one Strawberry
extension, hooked once per operation (never per field)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from leko_bookings import metrics
from leko_bookings.logs import note_operation

UNKNOWN = "unknown"  # the document could not be read (syntax, no such operation)


def operation_type(context: ExecutionContext) -> str:
    if context.graphql_document is None:
        return UNKNOWN
    try:
        return context.operation_type.value
    except RuntimeError:  # no operation of that name
        return UNKNOWN


class OperationTelemetry(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:  # a document that does not parse ends the operation with an exception
            self.record(time.perf_counter() - start)

    def record(self, seconds: float) -> None:
        context = self.execution_context
        kind = operation_type(context)
        name = metrics.operation_label(context.operation_name if kind != UNKNOWN else None)
        result = context.result
        ok = result is not None and not result.errors
        metrics.observe_operation(name, kind, ok, None if kind == "subscription" else seconds)
        note_operation(name, kind)
