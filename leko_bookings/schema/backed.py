"""Objects of a Strawberry type that read their fields from one read model, when asked.

Copying a read model into a Strawberry object (its dataclass `__init__` with every field, the
global id, an event's availability placeholders) cost about as much CPU as completing the
object into the answer: a calendar page copied 47 bookings and their events per request, most
of whose fields it never selects. `backed(Type, computed)` makes, once, a subclass of a
Strawberry type whose objects hold only the read model (`view`); each of the type's plain fields
is a property of the subclass:

- a field named as an attribute of the read model reads it (`operator.attrgetter("view.<name>")`:
  C code, no Python frame);
- any other field is computed from the object when the query selects it (`computed`: the
  global id, a booking's event, an event's availability).

The objects are instances of the Strawberry type, so its `is_type_of` (Strawberry's isinstance
check, for a type implementing `Node`) holds, `Query.node` and interfaces resolve them as before,
and graphql-core's default resolver and compiled plans (`plans.py`) read the fields as
attributes, exactly as they read a dataclass's. A field with a resolver (`Booking.history`) keeps
it; it reads the object's attributes, which are these properties. Nothing here reads a private
name: the fields come from `strawberry.types.get_object_definition`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar, cast

from strawberry.types import get_object_definition

T = TypeVar("T")


def _hold(self: Any, view: Any) -> None:
    self.view = view


def backed(
    strawberry_type: type[T],
    view_type: type,
    computed: Mapping[str, Callable[[Any], Any]],
    slots: tuple[str, ...] = (),
) -> Callable[[Any], T]:
    """A subclass of `strawberry_type` whose objects are made from one `view_type` read model
    (`Sub(view)`; more state in `slots`, set by the caller). Raises TypeError at import when a
    plain field is neither an attribute of `view_type` nor in `computed`, or `computed` names no
    plain field: every field is read from somewhere, once."""
    definition = get_object_definition(strawberry_type, strict=True)
    plain = {f.python_name for f in definition.fields if f.base_resolver is None}
    unknown = set(computed) - plain
    if unknown:
        raise TypeError(f"{strawberry_type.__name__}: no plain field {sorted(unknown)}")
    namespace: dict[str, Any] = {"__slots__": ("view", *slots), "__init__": _hold}
    for name in sorted(plain):
        read = computed.get(name)
        if read is None:
            if name not in _attributes(view_type):
                raise TypeError(
                    f"{strawberry_type.__name__}.{name}: not an attribute of "
                    f"{view_type.__name__} and not computed"
                )
            read = attrgetter(f"view.{name}")
        namespace[name] = property(read)
    made = type(f"{strawberry_type.__name__}Backed", (strawberry_type,), namespace)
    made.__module__ = strawberry_type.__module__
    return cast(Callable[[Any], T], made)


def _attributes(view_type: type) -> set[str]:
    """A read model's fields (a dataclass's) and its class attributes (properties)."""
    return {f.name for f in fields(view_type)} | {n for k in view_type.__mro__ for n in vars(k)}
