"""How the schema executes: Strawberry's own engine, with the service's extensions and error logs.

`make_schema` is the one place the configuration lives (the `Schema` subclass, the exception
handlers, the extensions), so a test can build a schema around its own types that runs exactly
as the service's does.

Parsing and validation are cached: Strawberry's `ParserCache` gives the second request with the
same text the same parsed document, and `ValidatedDocuments` (below) its validation result. The
validation result is keyed by the document's identity and the rules, so the rules must be the
very same classes on every request: Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter`
build new rule classes each time they are constructed, so their rules are built once here
(`SHAPE_RULES`) and added per request by `shape_limits`. `MaxTokensLimiter` bounds the parse of
any new text.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types import ExecutionContext

from leko_bookings import tracing
from leko_bookings.errors import DomainError, ErrorCode
from leko_bookings.http import utc_instant
from leko_bookings.schema import plans
from leko_bookings.schema.errors import ERROR_TYPES, HANDLERS
from leko_bookings.schema.outage import DatabaseOutage, outage_in
from leko_bookings.schema.telemetry import OperationTelemetry

MAX_DEPTH = 12
MAX_TOKENS = 4000
MAX_ALIASES = 30
CACHED_DOCUMENTS = 256

# The limiters' rule classes, made once (each construction makes new classes).
SHAPE_RULES: tuple[type[ASTValidationRule], ...] = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


def shape_limits() -> AddValidationRules:
    return AddValidationRules(list(SHAPE_RULES))


_VALIDATED: OrderedDict[tuple[int, tuple[Any, ...]], tuple[Any, list[GraphQLError]]] = OrderedDict()


class ValidatedDocuments(SchemaExtension):
    """Strawberry's `ValidationCache`, keyed by the parsed document's identity instead of its
    hash. `ValidationCache` hashes the document on every request to look it up (graphql-core's
    AST nodes are frozen dataclasses: the hash walks the whole tree, ~2% of a calendar request);
    the `ParserCache` before it already gives a known text the very same document object, so
    its id finds it. The document is kept in the entry, so its id cannot be reused while the
    entry lives (least recently used dropped past `CACHED_DOCUMENTS`). On a hit the known errors
    are set before Strawberry's validation step, which then skips validating (Strawberry
    validates only while `pre_execution_errors` is None); on a miss Strawberry validates, and
    its result is kept."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, rules = context.graphql_document, tuple(context.validation_rules)
        key = (id(document), rules)
        known = _VALIDATED.get(key)
        if known is not None and known[0] is document:
            _VALIDATED.move_to_end(key)
            context.pre_execution_errors = list(known[1])
            yield
            return
        yield
        if document is not None and context.pre_execution_errors is not None:
            _VALIDATED[key] = (document, list(context.pre_execution_errors))
            if len(_VALIDATED) > CACHED_DOCUMENTS:
                _VALIDATED.popitem(last=False)


def _mask(error: GraphQLError) -> bool:
    """Hide unexpected failures; keep GraphQL's own errors and domain errors readable."""
    original = error.original_error
    # A GraphQLError original is GraphQL's own (e.g. a variable that cannot be coerced).
    return original is not None and not isinstance(original, (DomainError, GraphQLError))


# Factories: Strawberry makes each extension anew for every request.
EXTENSIONS: tuple[Callable[[], SchemaExtension], ...] = (
    lambda: MaskErrors(should_mask_error=_mask, error_message="Unexpected error."),
    DatabaseOutage,  # inside MaskErrors: the database unreachable is a 503 (schema/outage.py)
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    shape_limits,  # depth and aliases, their rules made once
    lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
    ValidatedDocuments,
    OperationTelemetry,  # metrics and log fields per operation (schema/telemetry.py)
    tracing.graphql_extension,  # a span per operation when traces are on (tracing.py)
)


# DateTime as the contract's instants: output in UTC with `Z` (the REST strings), input as
# Strawberry reads it (ISO 8601; the resolvers refuse an instant without an offset).
DATE_TIME = strawberry.scalar(
    name="DateTime",
    description="An instant, ISO 8601 (RFC 3339); answers are in UTC: 2026-06-01T09:00:00Z.",
    serialize=utc_instant,
    parse_value=DateTimeDefinition.parse_value,
)


# -- error logs ---------------------------------------------------------------------------------

log = logging.getLogger("strawberry.execution")

# What a client caused (its request, its rights, its rate): logged at INFO, without a traceback.
CLIENT_CODES = frozenset(
    {
        ErrorCode.validation,
        ErrorCode.unauthorized,
        ErrorCode.forbidden,
        ErrorCode.notFound,
        ErrorCode.tooManyRequests,
    }
)


def is_client_error(error: GraphQLError) -> bool:
    """A domain error with a client code, or GraphQL's own judgement of the request (syntax,
    validation, variables: no original error, or a GraphQLError one)."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return isinstance(original, DomainError) and original.code in CLIENT_CODES


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Client errors at INFO (one line: code, message, path); the database unreachable at
    WARNING (one line: an outage, answered 503, not a defect); anything else at ERROR with its
    traceback (what Strawberry does for every error)."""
    for error in errors:
        if is_client_error(error):
            original = error.original_error
            code = original.code if isinstance(original, DomainError) else "graphql"
            if log.isEnabledFor(logging.INFO):
                log.info("GraphQL client error [%s] at %s: %s", code, error.path, error.message)
        elif outage_in([error]):
            log.warning("database unavailable at %s: %r", error.path, error.original_error)
        else:
            log.error(error, exc_info=error.original_error)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected client errors at INFO without a traceback; the rest at ERROR with one."""
        log_errors(errors, execution_context)


def make_schema(
    query: type,
    mutation: type | None = None,
    types: Iterable[type] = (),
    *,
    subscription: type | None = None,
    compiled_plans: bool | None = None,
) -> Schema:
    """A schema of these root types executed as the service's: Strawberry's execution (with
    compiled plans for plain selections unless `compiled_plans` is False or, by default,
    `LEKO_GRAPHQL_COMPILED_PLANS=0`), the domain errors' union members and handlers, the
    extensions above, the error logs."""
    extra: list[Any] = [*ERROR_TYPES, *types]
    schema = Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=extra,
        exception_handlers=HANDLERS,
        extensions=list(EXTENSIONS),
        config=StrawberryConfig(scalar_map={datetime: DATE_TIME}),
    )
    on = plans.enabled() if compiled_plans is None else compiled_plans
    if on and schema.config.default_resolver is getattr:

        @cache
        def field(type_name: str, field_name: str) -> Any:
            return schema.get_field_for_type(field_name=field_name, type_name=type_name)

        @cache
        def own_is_type_of(type_name: str) -> bool:
            definition = schema.get_type_by_name(type_name)
            return getattr(definition, "is_type_of", None) is not None

        # The schema's own class (Strawberry's), read from its public attribute, with plans.
        schema.execution_context_class = plans.planned(
            schema.execution_context_class, field, own_is_type_of
        )
    return schema
