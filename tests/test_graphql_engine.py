"""The schema runs on Strawberry's own engine: its permission classes, field extensions and
caches work under the service's configuration (`make_schema`: the Schema subclass, the exception
handlers, the extensions)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import pytest
import strawberry
from graphql import DocumentNode, Undefined
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

from leko_bookings.errors import NotFound
from leko_bookings.schema import schema as service_schema
from leko_bookings.schema.errors import NotFoundError
from leko_bookings.schema.execution import (
    EXTENSIONS,
    MAX_DEPTH,
    MAX_TOKENS,
    SHAPE_RULES,
    Schema,
    make_schema,
    shape_limits,
)


class DenyAll(BasePermission):
    message = "Nobody may read this."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Shout(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Node:
    name: str
    child: Node | None = None


@strawberry.type
class Profile:
    """Fields without resolvers (attributes) guarded by a permission class or an extension: the
    case a plan must leave to Strawberry (the old forked executor answered `secret`)."""

    name: str
    secret: str | None = strawberry.field(permission_classes=[DenyAll])
    motto: str = strawberry.field(extensions=[Shout()])


@strawberry.type
class Query:
    @strawberry.field
    def profile(self) -> Profile:
        return Profile(name="Ada", secret="the treasure", motto="onwards")

    @strawberry.field(permission_classes=[DenyAll])
    def secret(self) -> str | None:
        return "the treasure"

    @strawberry.field(extensions=[Shout()])
    def greeting(self) -> str:
        return "hello"

    @strawberry.field
    def missing(self) -> Annotated[Node | NotFoundError, strawberry.union("NodeResult")]:
        raise NotFound("No such thing.")

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError("the disk is on fire")

    @strawberry.field
    def tree(self) -> Node:
        node = Node(name="leaf")
        for depth in range(MAX_DEPTH + 2):
            node = Node(name=f"level {depth}", child=node)
        return node


schema = make_schema(Query)


def test_the_service_schema_is_built_by_the_factory_on_strawberry_s_own_execution():
    assert isinstance(service_schema, Schema)
    assert type(service_schema) is type(schema)
    assert len(service_schema.extensions) == len(schema.extensions) == len(EXTENSIONS)
    assert service_schema.exception_handlers == schema.exception_handlers
    # Strawberry's own execution context class; with compiled plans, that class extended by
    # `schema/plans.py` (one public method, `complete_value`, overridden).
    default = Schema(query=Query).execution_context_class
    assert make_schema(Query, compiled_plans=False).execution_context_class is default
    for planned in (schema, service_schema):
        assert issubclass(planned.execution_context_class, default)
        cls = planned.execution_context_class
        overridden = {n for n in vars(cls) if hasattr(default, n) and not n.startswith("__")}
        assert overridden == {"complete_value"}


@pytest.mark.parametrize("plans", [True, False], ids=["plans", "no-plans"])
async def test_attribute_fields_with_a_permission_class_or_an_extension(plans: bool):
    planned = make_schema(Query, compiled_plans=plans)
    result = await planned.execute("{ profile { name secret motto __typename } }")
    assert result.data == {
        "profile": {"name": "Ada", "secret": None, "motto": "ONWARDS", "__typename": "Profile"}
    }
    [error] = result.errors or []
    assert error.message == "Nobody may read this."
    assert error.path == ["profile", "secret"]


async def test_a_permission_class_denies_the_field():
    result = await schema.execute("{ secret greeting }")
    assert result.data == {"secret": None, "greeting": "HELLO"}
    [error] = result.errors or []
    assert error.message == "Nobody may read this."
    assert error.path == ["secret"]


async def test_a_field_extension_runs():
    result = await schema.execute("{ greeting }")
    assert result.errors is None
    assert result.data == {"greeting": "HELLO"}


async def test_a_domain_error_becomes_its_union_member_through_the_service_handlers():
    result = await schema.execute("{ missing { __typename ... on Error { code message } } }")
    assert result.errors is None
    assert result.data == {
        "missing": {"__typename": "NotFoundError", "code": "notFound", "message": "No such thing."}
    }


async def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture):
    result = await schema.execute("{ broken }")
    [error] = result.errors or []
    assert error.message == "Unexpected error."
    [record] = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_the_shape_limits_hold():
    deep = "{ tree " + "{ child " * (MAX_DEPTH + 1) + "{ name }" + " }" * (MAX_DEPTH + 1) + " }"
    result = await schema.execute(deep)
    assert result.errors
    assert "exceeds maximum operation depth" in result.errors[0].message
    aliases = "{ " + " ".join(f"a{i}: greeting" for i in range(31)) + " }"
    result = await schema.execute(aliases)
    assert result.errors
    assert "aliases" in result.errors[0].message.lower()


def test_the_shape_rules_are_the_same_objects_on_every_request():
    first, second = shape_limits(), shape_limits()
    assert first is not second  # an extension per request ...
    assert tuple(first.validation_rules) == tuple(second.validation_rules) == SHAPE_RULES


class SeenDocuments(SchemaExtension):
    """Records the document each request executes (or is refused with)."""

    seen: ClassVar[list[DocumentNode | None]] = []

    def on_validate(self) -> Iterator[None]:
        yield
        self.seen.append(self.execution_context.graphql_document)


observed = make_schema(Query)
observed.extensions = (*observed.extensions, SeenDocuments)


@pytest.mark.parametrize("query", ["{ greeting }", "{ nope }"], ids=["valid", "invalid"])
async def test_a_repeated_query_is_parsed_and_validated_once(query, monkeypatch):
    """ParserCache answers the same document; ValidatedDocuments does not validate it again (the
    shape rules, instantiated by each validation, are not)."""
    validations = 0
    rule = SHAPE_RULES[0]
    init = rule.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal validations
        validations += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(rule, "__init__", counting)
    SeenDocuments.seen.clear()
    query += f" # {uuid.uuid4()}"  # a text no other test sent
    results = [await observed.execute(query) for _ in range(3)]
    assert [bool(r.errors) for r in results] == [query.startswith("{ nope")] * 3
    first, *again = SeenDocuments.seen
    assert first is not None
    assert all(document is first for document in again)
    assert validations == 1


async def test_documents_over_the_token_limit_are_refused():
    result = await schema.execute("{ " + "greeting " * MAX_TOKENS + "}")
    assert result.errors
    assert "token" in result.errors[0].message.lower()


class Loud(StrawberryField):
    """A field class of its own (as libraries such as strawberry-django make): its result is not
    the attribute, so a plan must leave it to Strawberry."""

    def get_result(self, source: Any, info: Any, args: Any, kwargs: Any) -> Any:
        return super().get_result(source, info, args, kwargs).upper()


@strawberry.type
class Thing:
    name: str
    loud: str = Loud()
    maybe: str | None = None


@strawberry.type
class ThingQuery:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(name="ada", loud="hello", maybe=Undefined)  # type: ignore[arg-type]


@pytest.mark.parametrize("plans", [True, False], ids=["plans", "no-plans"])
async def test_a_field_class_of_its_own_and_undefined_answer_as_strawberry_does(plans: bool):
    result = await make_schema(ThingQuery, compiled_plans=plans).execute(
        "{ thing { name loud maybe } }"
    )
    assert result.errors is None
    assert result.data == {"thing": {"name": "ada", "loud": "HELLO", "maybe": None}}
