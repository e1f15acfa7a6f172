"""Compiled plans: a selection of plain fields completed in one pass, through graphql-core's
public `execution_context_class` (Strawberry's `Schema(execution_context_class=...)`).

graphql-core completes every field of an answer separately (resolve info, resolver, completion,
coercion): about 3 µs a field, and a calendar month is ~1,500 fields. When graphql-core is about
to complete a value (`complete_value`), this looks at the selection below it once per request and,
if every field in it is plain, turns the value into its answer directly: each field read as the
attribute Strawberry's default resolver reads, each leaf coerced by its type's own
`coerce_output_value`, objects and lists walked as graphql-core walks them.

A field is plain only if all of these hold; otherwise the value goes to graphql-core as usual:
- it is a Strawberry field without a resolver, extension or permission class
  (`StrawberryField.is_basic_field`), read with the default resolver (`getattr`), without
  arguments, and carrying no directive but `@include`/`@skip` (which field collection, the
  executor's own, has already applied) and no `@defer`;
- its type is a scalar, an enum, an object type, or a list or non-null of those (no interface
  or union: their runtime type is the executor's business), or it is `__typename`; an object
  type's `is_type_of`, if any, must be the one Strawberry makes for a type that implements an
  interface (an `isinstance` check, which the plan calls too), not one the type defines;
- no resolve middleware is installed (a schema extension's `resolve` hook runs per field).

And if completing a planned value meets anything out of the ordinary — a null for a non-null
field, a value that is awaitable or an exception, a list that is not a list, a coercion that
fails — the plan gives up on that value and graphql-core completes it again from the start, so
the data, errors, paths and nulled parents are graphql-core's own. Reading attributes of typed
objects has no side effects, so doing it twice changes nothing.

`LEKO_GRAPHQL_COMPILED_PLANS=0` turns plans off (graphql-core completes everything).
`tests/test_graphql_plans.py` proves the answers equal, plans on and off.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
)
from graphql.execution import Executor
from graphql.pyutils import is_awaitable
from strawberry.types.field import StrawberryField

ENV = "LEKO_GRAPHQL_COMPILED_PLANS"
ALLOWED_DIRECTIVES = frozenset({"include", "skip"})

Plan = Callable[[Any], Any]
"""A value -> its completed answer; raises `GiveUp` where graphql-core must complete it."""


class GiveUp(Exception):
    """This value is not ordinary: graphql-core completes it."""


_NO_PLAN = object()
SHARED_PLANS = 1024  # plans kept across requests (least recently used dropped)
_SHARED: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()
# Types of values known to be neither awaitable nor exceptions (a plan's values are read as they
# are once their type is here).
_PLAIN: set[type] = {str, int, float, bool}


def _switches(context: Any) -> tuple[tuple[str, str], ...]:
    """The values of the variables that `@include`/`@skip` read in this request's document:
    what, besides the document, decides which fields a selection holds."""
    names: set[str] = set()
    pending = [context.operation.selection_set]
    pending += [f.definition.selection_set for f in context.fragments.values()]
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections if selection_set else ():
            for directive in selection.directives or ():
                if directive.name.value in ALLOWED_DIRECTIVES:
                    for argument in directive.arguments or ():
                        variable = getattr(argument.value, "name", None)
                        if variable is not None:
                            names.add(variable.value)
            pending.append(getattr(selection, "selection_set", None))
    values = context.variable_values.coerced
    return tuple((name, repr(values.get(name))) for name in sorted(names))


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def planned(
    base: type[Executor], fields: Callable[[str, str], Any], own_is_type_of: Callable[[str], bool]
) -> type[Any]:
    """`base` (the schema's execution context class) completing plain selections by plans.
    `fields(type_name, field_name)` is the Strawberry field behind a GraphQL field (or None);
    `own_is_type_of(type_name)`: whether the type defines its own `is_type_of`."""

    class PlannedExecutionContext(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            manager = self.middleware_manager
            self.plans_on = manager is None or not manager.middlewares
            # (type, id(field details)) -> (the details, kept alive; their plan or _NO_PLAN)
            self.plans: dict[tuple[Any, int], tuple[Any, Any]] = {}
            self.schema_lookups = (fields, own_is_type_of)
            self.switches: tuple[tuple[str, str], ...] | None = None

        def complete_value(
            self,
            return_type: GraphQLOutputType,
            field_details_list: Any,
            info: Any,
            path: Any,
            result: Any,
            position_context: Any,
        ) -> Any:
            if self.plans_on and result is not None and result is not Undefined:
                plan = self.plan_of(return_type, field_details_list)
                if plan is not _NO_PLAN:
                    try:
                        return plan(result)
                    except Exception:
                        pass
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )

        def plan_of(self, return_type: GraphQLOutputType, field_details_list: Any) -> Any:
            key = (return_type, id(field_details_list))
            known = self.plans.get(key)
            if known is None:
                known = self.plans[key] = (
                    field_details_list,
                    self.shared_plan(return_type, field_details_list),
                )
            return known[1]

        def shared_plan(self, return_type: GraphQLOutputType, field_details_list: Any) -> Any:
            """The plan of this selection, compiled once for every request that selects it with
            the same `@include`/`@skip` variables (the same document: the parser cache gives
            the same nodes, which the cache keeps alive, so their ids stay theirs)."""
            if any(fd.fragment_variable_values is not None for fd in field_details_list):
                return _compile(self, return_type, field_details_list, self.schema_lookups)
            if self.switches is None:
                self.switches = _switches(self)
            nodes = tuple(fd.node for fd in field_details_list)
            key = (return_type, tuple(map(id, nodes)), self.switches)
            known = _SHARED.get(key)
            if known is not None:
                _SHARED.move_to_end(key)
                return known[1]
            plan = _compile(self, return_type, field_details_list, self.schema_lookups)
            _SHARED[key] = (nodes, plan)
            if len(_SHARED) > SHARED_PLANS:
                _SHARED.popitem(last=False)
            return plan

    return PlannedExecutionContext


Lookups = tuple[Callable[[str, str], Any], Callable[[str], bool]]


def _compile(
    context: Any,
    return_type: GraphQLOutputType,
    field_details_list: Any,
    lookups: Lookups,
) -> Any:
    """The plan of a value of `return_type` selected by `field_details_list`, or _NO_PLAN."""
    if any(
        fd.defer_usage is not None or _directives(fd.node) - ALLOWED_DIRECTIVES
        for fd in field_details_list
    ):
        return _NO_PLAN
    non_null = isinstance(return_type, GraphQLNonNull)
    inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return _leaf(context, inner, non_null)
    if isinstance(inner, GraphQLList):
        item = _compile(context, inner.of_type, field_details_list, lookups)
        return _NO_PLAN if item is _NO_PLAN else _list(item, non_null)
    if isinstance(inner, GraphQLObjectType) and (
        inner.is_type_of is None or not lookups[1](inner.name)
    ):
        return _object(context, inner, field_details_list, lookups, non_null)
    return _NO_PLAN


def _directives(node: Any) -> set[str]:
    return {d.name.value for d in node.directives or ()}


def _leaf(context: Any, leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Plan:
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise GiveUp
        return coerced

    return _guarded(context, complete, non_null)


def _guarded(context: Any, complete: Plan, non_null: bool) -> Plan:
    """`complete` for a value that is there and plain; a null is null (or, for a non-null
    field, given up on). Holds nothing of the request (plans outlive it)."""
    plain = _PLAIN

    def guarded(value: Any) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise GiveUp
            return None
        if type(value) not in plain:
            if isinstance(value, BaseException) or is_awaitable(value):
                raise GiveUp
            plain.add(type(value))
        return complete(value)

    return guarded


def _list(item: Plan, non_null: bool) -> Plan:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise GiveUp
            return None
        if type(value) is not list and type(value) is not tuple:
            raise GiveUp
        return [item(v) for v in value]

    return complete


def _object(
    context: Any,
    object_type: GraphQLObjectType,
    field_details_list: Any,
    lookups: Lookups,
    non_null: bool,
) -> Any:
    grouped_field_set, new_defer_usages, _ = context.collect_subfields(
        object_type, field_details_list
    )
    if new_defer_usages:
        return _NO_PLAN
    steps: list[tuple[str, str | None, Any]] = []  # (response name, attribute, plan or value)
    for response_name, details in grouped_field_set.items():
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            steps.append((response_name, None, object_type.name))
            continue
        field = lookups[0](object_type.name, name)
        graphql_field = object_type.fields.get(name)
        if (
            graphql_field is None
            or graphql_field.args
            or any(d.node.arguments for d in details)
            or not isinstance(field, StrawberryField)
            or not field.is_basic_field
            or type(field).get_result is not StrawberryField.get_result  # a field class's own
            or field.default_resolver is not getattr
        ):
            return _NO_PLAN
        plan = _compile(context, graphql_field.type, details, lookups)
        if plan is _NO_PLAN:
            return _NO_PLAN
        steps.append((response_name, field.python_name, plan))

    is_type_of = object_type.is_type_of  # Strawberry's isinstance check (ignores its info)

    def complete(value: Any) -> Any:
        if is_type_of is not None and is_type_of(value, cast(Any, None)) is not True:
            raise GiveUp
        answer: dict[str, Any] = {}
        for response_name, attribute, step in steps:
            answer[response_name] = step if attribute is None else step(getattr(value, attribute))
        return answer

    return _guarded(context, complete, non_null)
