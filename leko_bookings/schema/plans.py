"""Compiled plans: a selection of plain fields completed in one pass, through graphql-core's
public `execution_context_class` (Strawberry's `Schema(execution_context_class=...)`).

graphql-core completes every field of an answer separately (resolve info, resolver, completion,
coercion): about 3 µs a field, and a calendar month is ~1,500 fields. When graphql-core is about
to complete a value (`complete_value`), this looks at the selection below it and, if every field
in it is plain, turns the value into its answer with a function generated for that selection
(Python source compiled once, kept across requests for the same document): each field read as
the attribute Strawberry's default resolver reads, the spec's String, ID, Boolean and Int values
of their own class written as they are, a Strawberry enum's members by their names (each coerced
once), any other leaf by its type's own `coerce_output_value`, objects completed inline, lists
item by item.

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
from dataclasses import dataclass
from enum import Enum
from keyword import iskeyword
from typing import Any, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
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


_SWITCH_NAMES: OrderedDict[int, tuple[Any, tuple[str, ...]]] = OrderedDict()


def _switches(context: Any) -> tuple[tuple[str, str], ...]:
    """The values of the variables that `@include`/`@skip` read in this request's document:
    what, besides the document, decides which fields a selection holds. Which variables those
    are depends on the document only: found once per operation node (kept in the entry, so its
    id stays its own; least recently used dropped past SHARED_PLANS)."""
    operation = context.operation
    known = _SWITCH_NAMES.get(id(operation))
    if known is not None and known[0] is operation:
        _SWITCH_NAMES.move_to_end(id(operation))
        names = known[1]
    else:
        names = _switch_names(context)
        _SWITCH_NAMES[id(operation)] = (operation, names)
        if len(_SWITCH_NAMES) > SHARED_PLANS:
            _SWITCH_NAMES.popitem(last=False)
    values = context.variable_values.coerced
    return tuple((name, repr(values.get(name))) for name in names)


def _switch_names(context: Any) -> tuple[str, ...]:
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
    return tuple(sorted(names))


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


# -- what a plan does: analysed once per selection --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leaf:
    leaf: GraphQLScalarType | GraphQLEnumType
    non_null: bool


@dataclass(frozen=True, slots=True)
class _ListOf:
    item: Any  # _Leaf | _ListOf | _Object
    non_null: bool


@dataclass(frozen=True, slots=True)
class _Object:
    object_type: GraphQLObjectType
    # (response name, attribute or None for __typename, the field's plan or the type's name)
    fields: tuple[tuple[str, str | None, Any], ...]
    non_null: bool


def _compile(
    context: Any,
    return_type: GraphQLOutputType,
    field_details_list: Any,
    lookups: Lookups,
) -> Any:
    """The plan of a value of `return_type` selected by `field_details_list`, or _NO_PLAN."""
    shape = _analyse(context, return_type, field_details_list, lookups)
    return _NO_PLAN if shape is _NO_PLAN else _function(shape)


def _analyse(
    context: Any,
    return_type: GraphQLOutputType,
    field_details_list: Any,
    lookups: Lookups,
) -> Any:
    """What completing a value of `return_type` selected by `field_details_list` takes, or
    _NO_PLAN where a field is not plain."""
    if any(
        fd.defer_usage is not None or _directives(fd.node) - ALLOWED_DIRECTIVES
        for fd in field_details_list
    ):
        return _NO_PLAN
    non_null = isinstance(return_type, GraphQLNonNull)
    inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return _Leaf(inner, non_null)
    if isinstance(inner, GraphQLList):
        item = _analyse(context, inner.of_type, field_details_list, lookups)
        return _NO_PLAN if item is _NO_PLAN else _ListOf(item, non_null)
    if isinstance(inner, GraphQLObjectType) and (
        inner.is_type_of is None or not lookups[1](inner.name)
    ):
        return _analyse_object(context, inner, field_details_list, lookups, non_null)
    return _NO_PLAN


def _directives(node: Any) -> set[str]:
    return {d.name.value for d in node.directives or ()}


def _analyse_object(
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
    fields: list[tuple[str, str | None, Any]] = []
    for response_name, details in grouped_field_set.items():
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            fields.append((response_name, None, object_type.name))
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
        shape = _analyse(context, graphql_field.type, details, lookups)
        if shape is _NO_PLAN:
            return _NO_PLAN
        fields.append((response_name, field.python_name, shape))
    return _Object(object_type, tuple(fields), non_null)


# -- a plan as Python code: generated once per selection ---------------------------------------
#
# A plan is one function per selection, generated as Python source and compiled once (as
# `dataclasses` generates `__init__`): each field read as an attribute, each leaf coerced
# inline, objects completed in the same function, a list's items by a function of their own.
# The source only holds names it makes; every value it uses (response names, coercions, types)
# is passed in its namespace, never written into the text. Whatever is not the common case goes
# to the checks of the general path (`_slow_leaf`, `_checked`), and any exception to graphql-core.

# graphql-core's built-in scalars whose coercion gives back a value of this exact class as it is
# (the GraphQL spec's String, ID, Boolean; Int within 32 bits): the plan writes them unchanged.
_AS_IS: dict[Any, str] = {
    GraphQLString: "{v}.__class__ is str",
    GraphQLID: "{v}.__class__ is str",
    GraphQLBoolean: "{v}.__class__ is bool",
    GraphQLInt: "{v}.__class__ is int and -2147483648 <= {v} <= 2147483647",
}


def _checked(value: Any) -> None:
    """A value of a class not seen yet: given up on if awaitable or an exception (graphql-core
    awaits it or reports it), else its class is known to be plain from now on."""
    if isinstance(value, BaseException) or is_awaitable(value):
        raise GiveUp
    _PLAIN.add(type(value))


def _slow_leaf(leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Plan:
    """A leaf's completion in every case (null, a class not seen yet, a failed coercion)."""
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise GiveUp
            return None
        if type(value) not in _PLAIN:
            _checked(value)
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise GiveUp
        return coerced

    return complete


class _Source:
    """The lines of one generated function and the namespace they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "GiveUp": GiveUp,
            "PLAIN": _PLAIN,
            "checked": _checked,
            "Undefined": Undefined,
        }
        self.count = 0

    def value(self, value: Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def variable(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def _function(shape: Any) -> Plan:
    source = _Source()
    source.line(0, "def plan(value):")
    result = _emit(source, shape, "value", 1)
    source.line(1, f"return {result}")
    code = compile("\n".join(source.lines), f"<plan {_describe(shape)}>", "exec")
    exec(code, source.namespace)  # the source: made above, from names it chose
    return cast(Plan, source.namespace["plan"])


def _describe(shape: Any) -> str:
    if isinstance(shape, _ListOf):
        return f"[{_describe(shape.item)}]"
    inner = shape.object_type.name if isinstance(shape, _Object) else shape.leaf.name
    return inner + ("!" if shape.non_null else "")


def _emit(source: _Source, shape: Any, value: str, depth: int) -> str:
    """Lines at `depth` that complete the variable `value` by `shape`; the variable that holds
    the answer."""
    out = source.variable()
    source.line(depth, f"if {value} is None:")
    source.line(depth + 1, "raise GiveUp" if shape.non_null else f"{out} = None")
    if isinstance(shape, _Leaf):
        _emit_leaf(source, shape, value, out, depth)
    elif isinstance(shape, _ListOf):
        item = source.value(_function(shape.item))
        source.line(depth, f"elif {value}.__class__ is list or {value}.__class__ is tuple:")
        source.line(depth + 1, f"{out} = [{item}(x) for x in {value}]")
        source.line(depth, "else:")
        source.line(depth + 1, "raise GiveUp")
    else:
        _emit_object(source, shape, value, out, depth)
    return out


def _emit_leaf(source: _Source, shape: _Leaf, value: str, out: str, depth: int) -> None:
    leaf = shape.leaf
    as_is = _AS_IS.get(leaf)
    if as_is is not None:
        source.line(depth, f"elif {as_is.format(v=value)}:")
        source.line(depth + 1, f"{out} = {value}")
    elif (members := _enum_names(leaf)) is not None:
        # A Strawberry enum's members: their names, coerced once each.
        names, kind = source.value(members[1]), source.value(members[0])
        source.line(depth, f"elif {value}.__class__ is {kind}:")
        source.line(depth + 1, f"{out} = {names}[{value}]")
    else:
        coerce = source.value(leaf.coerce_output_value)
        source.line(depth, f"elif {value}.__class__ in PLAIN:")
        source.line(depth + 1, f"{out} = {coerce}({value})")
        source.line(depth + 1, f"if {out} is None or {out} is Undefined:")
        source.line(depth + 2, "raise GiveUp")
    source.line(depth, "else:")
    slow = source.value(_slow_leaf(leaf, shape.non_null))
    source.line(depth + 1, f"{out} = {slow}({value})")


def _enum_names(leaf: GraphQLScalarType | GraphQLEnumType) -> tuple[type, dict[Any, Any]] | None:
    """A Strawberry enum's Python class and each member's coerced name (None: not such an enum,
    or a member its coercion refuses)."""
    kind = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or not isinstance(kind, type):
        return None
    if not issubclass(kind, Enum):
        return None
    try:
        return kind, {m: leaf.coerce_output_value(m) for m in kind}
    except Exception:  # the general path reports what the coercion says
        return None


def _emit_object(source: _Source, shape: _Object, value: str, out: str, depth: int) -> None:
    source.line(depth, "else:")
    depth += 1
    is_type_of = shape.object_type.is_type_of  # Strawberry's isinstance check (ignores info)
    if is_type_of is not None:
        check = source.value(is_type_of)
        source.line(depth, f"if {check}({value}, None) is not True:")
        source.line(depth + 1, "raise GiveUp")
    else:
        source.line(depth, f"if {value}.__class__ not in PLAIN:")
        source.line(depth + 1, f"checked({value})")
    entries = []
    for response_name, attribute, field in shape.fields:
        key = source.value(response_name)
        if attribute is None:  # __typename
            entries.append(f"{key}: {source.value(field)}")
            continue
        read = source.variable()
        if attribute.isidentifier() and not iskeyword(attribute):
            source.line(depth, f"{read} = {value}.{attribute}")
        else:
            source.line(depth, f"{read} = getattr({value}, {source.value(attribute)})")
        entries.append(f"{key}: {_emit(source, field, read, depth)}")
    source.line(depth, f"{out} = {{{', '.join(entries)}}}")
