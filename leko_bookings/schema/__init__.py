"""The GraphQL schema (primary API of the calendar UI): thin types over the resolvers."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from leko_bookings.errors import DomainError
from leko_bookings.schema.errors import (
    HANDLERS,
    BookingRefused,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from leko_bookings.schema.execution import (
    MAX_TOKENS,
    DocumentCache,
    LeafFastExecutionContext,
    log_errors,
    shape_limits,
)
from leko_bookings.schema.lifecycle import LifecycleMutation
from leko_bookings.schema.mutations import Mutation as OrderingMutation
from leko_bookings.schema.notifications import NotificationMutation, NotificationQuery
from leko_bookings.schema.queries import Query as BookingQuery

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def _mask(error: GraphQLError) -> bool:
    """Hide unexpected failures; keep GraphQL's own errors and domain errors readable."""
    original = error.original_error
    # A GraphQLError original is GraphQL's own (e.g. a variable that cannot be coerced).
    return original is not None and not isinstance(original, (DomainError, GraphQLError))


Query = merge_types("Query", (BookingQuery, NotificationQuery))
Mutation = merge_types("Mutation", (OrderingMutation, LifecycleMutation, NotificationMutation))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected client errors at INFO without a traceback; the rest at ERROR with one."""
        log_errors(errors, execution_context)


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[ValidationError, ForbiddenError, NotFoundError, BookingRefused, TooManyRequestsError],
    exception_handlers=HANDLERS,
    execution_context_class=LeafFastExecutionContext,
    extensions=[
        lambda: MaskErrors(should_mask_error=_mask, error_message="Unexpected error."),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        shape_limits,  # depth and aliases, their rules made once
        DocumentCache,
    ],
)


def sdl() -> str:
    return schema.as_str() + "\n"
