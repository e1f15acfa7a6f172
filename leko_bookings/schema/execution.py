"""How the schema executes: documents parsed and validated once, query-shape limits, error logs.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` build a new validation rule class each
time they are constructed (per request as factories), which makes every validation unique; their
rules are built once here instead and added by one cheap extension, and `DocumentCache` keeps the
documents that passed validation (by query text), so a query the calendar sends again is neither
parsed nor validated again. `MaxTokensLimiter` still bounds the parse of any new text.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from types import GeneratorType
from typing import Any, NamedTuple

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    parse,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

from leko_bookings.errors import DomainError, ErrorCode

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


class _Documents:
    """Query text -> its parsed document, for texts that passed validation (bounded, LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.valid: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, query: str) -> DocumentNode | None:
        document = self.valid.get(query)
        if document is not None:
            self.valid.move_to_end(query)
        return document

    def put(self, query: str, document: DocumentNode) -> None:
        self.valid[query] = document
        if len(self.valid) > self.size:
            self.valid.popitem(last=False)


_DOCUMENTS = _Documents(CACHED_DOCUMENTS)


class DocumentCache(SchemaExtension):
    """Parse and validate a query text once; later requests with the same text reuse the
    validated document. Documents that fail validation are not kept (judged again each time).

    The validation rules are the same for every request (the schema's and `SHAPE_RULES`), so the
    text alone is the key."""

    def __init__(self) -> None:
        self.hit = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            document = _DOCUMENTS.get(query)
            if document is not None:
                self.hit = True
            else:
                document = parse(query, **context.parse_options)
            context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.hit:
            context.pre_execution_errors = []
        elif context.graphql_document is not None and context.pre_execution_errors is None:
            errors = validate_document(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
            context.pre_execution_errors = errors
            if not errors and context.query is not None:
                _DOCUMENTS.put(context.query, context.graphql_document)
        yield


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
    """Client errors at INFO (one line: code, message, path); anything else at ERROR with its
    traceback (what Strawberry does for every error)."""
    for error in errors:
        if is_client_error(error):
            original = error.original_error
            code = original.code if isinstance(original, DomainError) else "graphql"
            if log.isEnabledFor(logging.INFO):
                log.info("GraphQL client error [%s] at %s: %s", code, error.path, error.message)
        else:
            log.error(error, exc_info=error.original_error)


# -- execution ----------------------------------------------------------------------------------

_MISSING = object()


class _Leaf(NamedTuple):
    attribute: str
    coerce: Callable[[Any], Any]
    non_null: bool


def _leaf_of(field_def: GraphQLField) -> _Leaf | None:
    """The plan of a field read as a plain attribute and coerced as a scalar or enum: a
    Strawberry field without a resolver (nor extensions, nor exception handlers), no
    arguments, a leaf type."""
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field_def.args:
        return None
    strawberry_field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(strawberry_field, StrawberryField):
        return None
    if strawberry_field.default_resolver is not getattr:
        return None
    kind = field_def.type
    non_null = isinstance(kind, GraphQLNonNull)
    leaf = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
        return None
    return _Leaf(strawberry_field.python_name, leaf.coerce_output_value, non_null)


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with a short path for the common field: a plain attribute of a
    scalar or enum type (most of a calendar's ~1,500 fields). Such a field costs what
    graphql-core would do for it (read the attribute, coerce it with the type's own
    `coerce_output_value`) without the path, resolve info, resolver and completion calls around
    it.

    Anything else goes the usual way (`execute_field`): other fields, a schema with resolve
    middleware, and any value the short path does not finish cleanly (null for a non-null
    field, a value that is awaitable or an exception, a coercion that fails) - graphql-core then
    resolves the field again and reports what it reports. `execute_fields` below is
    graphql-core's (3.3), with that short path added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares
        # id(grouped field set) -> (the set, kept alive; its fields with their leaf plans)
        self._plans: dict[int, tuple[object, list[tuple[str, Any, _Leaf | None]]]] = {}

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[str, Any, _Leaf | None]]:
        # graphql-core collects an object's fields once per list (memoized), so the items of a
        # list share one grouped field set, and one plan.
        entry = self._plans.get(id(grouped_field_set))
        if entry is None:
            plan = [
                (name, details, _leaf_plan(parent_type, details[0].node))
                for name, details in grouped_field_set.items()
            ]
            entry = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return entry[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if not self._short:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, leaf in self._plan(
                parent_type, grouped_field_set
            ):
                if leaf is not None:
                    value = getattr(source_value, leaf.attribute, _MISSING)
                    if value is None:
                        if not leaf.non_null:
                            results[response_name] = None
                            continue
                    elif type(value) in _PLAIN or _is_plain(value):
                        try:
                            coerced = leaf.coerce(value)
                        except Exception:
                            coerced = None  # graphql-core reports it, below
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited_results = await gather_with_cancel(
                    *(results[field] for field in awaitable_fields)
                )
                results.update(zip(awaitable_fields, awaited_results, strict=True))
            return results

        return get_results()


# (object type, field name) -> its leaf plan, or None: the usual path.
_PLANS: dict[tuple[str, str], _Leaf | None] = {}
# Types of values known not to be awaitable nor exceptions.
_PLAIN: set[type] = {str, int, float, bool}


def _leaf_plan(parent_type: GraphQLObjectType, node: FieldNode) -> _Leaf | None:
    key = (parent_type.name, node.name.value)
    try:
        return _PLANS[key]
    except KeyError:
        field_def = parent_type.fields.get(node.name.value)
        leaf = None if field_def is None or node.arguments else _leaf_of(field_def)
        _PLANS[key] = leaf
        return leaf


def _is_plain(value: Any) -> bool:
    if value is _MISSING or isinstance(value, (BaseException, GeneratorType)):
        return False
    if optimized_is_awaitable(value):
        return False
    _PLAIN.add(type(value))
    return True
