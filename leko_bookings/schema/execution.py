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
from typing import Any, NamedTuple, TypeVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    parse,
)
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.scalars import serialize_boolean, serialize_int, serialize_string
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
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


class _Object(NamedTuple):
    """A non-null object (`many`: a non-null list of non-null objects) held as an attribute."""

    attribute: str
    type: GraphQLObjectType
    many: bool


def _plan_of(field_def: GraphQLField) -> _Leaf | _Object | None:
    """The plan of a field read as a plain attribute: a Strawberry field without a resolver
    (nor extensions, nor exception handlers) and without arguments, of a scalar or enum type
    (coerced as the type does), or of a non-null object type, or a non-null list of them,
    whose objects say nothing about their type (`is_type_of`)."""
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field_def.args:
        return None
    strawberry_field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(strawberry_field, StrawberryField):
        return None
    if strawberry_field.default_resolver is not getattr:
        return None
    name = strawberry_field.python_name
    kind = field_def.type
    non_null = isinstance(kind, GraphQLNonNull)
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return _Leaf(name, _coercer(inner), non_null)
    many = isinstance(inner, GraphQLList) and isinstance(inner.of_type, GraphQLNonNull)
    item = inner.of_type.of_type if isinstance(inner, GraphQLList) and many else inner
    if non_null and isinstance(item, GraphQLObjectType) and item.is_type_of is None:
        return _Object(name, item, many)
    return None


_INT_RANGE = range(-(2**31), 2**31)


def _coercer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's `coerce_output_value`, answered at once for the values it returns as they
    are (an int in Int's 32 bits, a str for String, a bool for Boolean) or by a dict lookup
    for Strawberry's enums (which compare the value with each of theirs in turn); any other
    value goes to the type's own coercion."""
    coerce = leaf.coerce_output_value
    if coerce is serialize_int:
        return lambda v: v if type(v) is int and v in _INT_RANGE else coerce(v)
    if coerce is serialize_string:
        return lambda v: v if type(v) is str else coerce(v)
    if coerce is serialize_boolean:
        return lambda v: v if type(v) is bool else coerce(v)
    if isinstance(leaf, CustomGraphQLEnumType):
        wrapped = leaf.wrapped_cls
        names = {value.value: name for name, value in reversed(leaf.values.items())}

        def enum_name(v: Any) -> Any:
            if isinstance(v, wrapped):
                name = names.get(v.value)
                if name is not None:
                    return name
            return coerce(v)

        return enum_name
    return coerce


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with a short path for the common field: a plain attribute of a
    scalar or enum type (most of a calendar's ~1,500 fields). Such a field costs what
    graphql-core would do for it (read the attribute, coerce it with the type's own
    `coerce_output_value`) without the path, resolve info, resolver and completion calls around
    it.

    Likewise a non-null object held as a plain attribute (a booking's event and time slot),
    or a non-null list of them (a page's nodes): their fields are executed at once, without
    the resolve and completion calls around each object. An error below such a field goes up
    through it, as graphql-core does for a non-null field.

    Anything else goes the usual way (`execute_field`): other fields, a schema with resolve
    middleware, @defer below an object, and any value the short path does not finish cleanly
    (null for a non-null field, a value that is awaitable or an exception, a coercion that
    fails) - graphql-core then resolves the field again and reports what it reports.
    `execute_fields` below is graphql-core's (3.3), with those short paths added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares
        # id(grouped field set) -> (the set, kept alive; its fields with their leaf plans)
        self._plans: dict[int, tuple[object, list[tuple[str, Any, _Leaf | _Object | None]]]] = {}

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[str, Any, _Leaf | _Object | None]]:
        # graphql-core collects an object's fields once per list (memoized), so the items of a
        # list share one grouped field set, and one plan.
        entry = self._plans.get(id(grouped_field_set))
        if entry is None:
            plan = [
                (name, details, _field_plan(parent_type, details[0].node))
                for name, details in grouped_field_set.items()
            ]
            entry = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return entry[1]

    def _objects(
        self, plan: _Object, source_value: Any, field_details_list: Any, path: Path
    ) -> Any:
        """The value of an `_Object` field, or _MISSING: the usual path (a value that is not a
        plain object, or a list that is not a plain list of them; @defer below it)."""
        value: Any = getattr(source_value, plan.attribute, _MISSING)
        if plan.many:
            if type(value) is not list or not all(
                item is not None and (type(item) in _PLAIN or _is_plain(item)) for item in value
            ):
                return _MISSING
        elif value is None or not (type(value) in _PLAIN or _is_plain(value)):
            return _MISSING
        grouped_field_set, defer_usages, _ = self.collect_subfields(plan.type, field_details_list)
        if defer_usages:
            return _MISSING
        if not plan.many:
            return self.execute_fields(plan.type, value, path, grouped_field_set, None)
        items: list[Any] = []
        pending: list[int] = []
        try:
            for index, item in enumerate(value):
                result = self.execute_fields(
                    plan.type, item, Path(path, index, None), grouped_field_set, None
                )
                if self.is_awaitable(result):
                    pending.append(index)
                items.append(result)
        except Exception:
            if pending:
                self.settle_in_background([items[i] for i in pending])
            raise
        if not pending:
            return items

        return _settled(items, pending)

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
            for response_name, field_details_list, plan in self._plan(
                parent_type, grouped_field_set
            ):
                if isinstance(plan, _Leaf):
                    value = getattr(source_value, plan.attribute, _MISSING)
                    if value is None:
                        if not plan.non_null:
                            results[response_name] = None
                            continue
                    elif type(value) in _PLAIN or _is_plain(value):
                        try:
                            coerced = plan.coerce(value)
                        except Exception:
                            coerced = None  # graphql-core reports it, below
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                elif plan is not None:
                    done = self._objects(
                        plan,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                    )
                    if done is not _MISSING:
                        results[response_name] = done
                        if is_awaitable(done):
                            awaitable_fields.append(response_name)
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

        return _settled(results, awaitable_fields)


C = TypeVar("C", list[Any], dict[str, Any])


async def _settled(container: C, keys: list[Any]) -> C:
    """`container` once its values at `keys` (awaitables) are awaited, as graphql-core does."""
    if len(keys) == 1:
        container[keys[0]] = await container[keys[0]]
    else:
        done = await gather_with_cancel(*(container[key] for key in keys))
        for key, result in zip(keys, done, strict=True):
            container[key] = result
    return container


# (object type, field name) -> its leaf plan, or None: the usual path.
_PLANS: dict[tuple[str, str], _Leaf | _Object | None] = {}
# Types of values known not to be awaitable nor exceptions.
_PLAIN: set[type] = {str, int, float, bool}


def _field_plan(parent_type: GraphQLObjectType, node: FieldNode) -> _Leaf | _Object | None:
    key = (parent_type.name, node.name.value)
    try:
        return _PLANS[key]
    except KeyError:
        field_def = parent_type.fields.get(node.name.value)
        plan = None if field_def is None or node.arguments else _plan_of(field_def)
        _PLANS[key] = plan
        return plan


def _is_plain(value: Any) -> bool:
    if value is _MISSING or isinstance(value, (BaseException, GeneratorType)):
        return False
    if optimized_is_awaitable(value):
        return False
    _PLAIN.add(type(value))
    return True
