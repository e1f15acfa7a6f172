"""Compiled plans (`schema/plans.py`) answer exactly what graphql-core answers: every document
here is sent twice through the app, plans on and plans off, and the two HTTP bodies must be the
same bytes (data, errors, paths, nulled parents, key order).

Documents come from a hypothesis strategy over the calendar's types (aliases, inline and named
fragments, `@include`/`@skip` with literals and variables, `__typename`, repeated fields merged),
and from hand-written cases for what must make a plan give up: nulls in non-null fields,
values a type refuses, awaitable values."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.scenarios import CALENDAR_QUERY
from leko_bookings.schema import schema, sdl, types
from tests.conftest import NOW
from tests.factories import book, coached_events, gql

DAY = NOW.replace(hour=6) + timedelta(days=1)
WINDOW = {"startAt": "2026-06-01T00:00:00Z", "endAt": "2026-08-01T00:00:00Z"}
DOCUMENTS = int(os.environ.get("LEKO_PLAN_DOCUMENTS", "120"))  # per database
STORED_ID = re.compile(rb'"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')
CANCEL = (
    "mutation C($id: UUID!) { cancelBooking(bookingId: $id, reasonCode: Other,"
    ' reasonText: "rain") { __typename } }'
)


async def calendar_data(client: Any, users: Any, settings: Any) -> None:
    """Public and private slots of two coaches, one booking canceled with a reason."""
    events = await coached_events(
        settings, users, 6, hours=5, public=lambda i: [True, False, None][i % 3]
    )
    r = await book(client, users.as_athlete, users.athlete, *events)
    assert r.status_code == 201, r.text
    first = r.json()["bookings"][0]["bookingId"]
    done = await gql(client, users.as_athlete, CANCEL, id=first)
    assert done["data"]["cancelBooking"]["__typename"] == "Booking"


async def both(client: Any, users: Any, query: str, monkeypatch: Any) -> tuple[bytes, bytes]:
    """The body with plans, then without (Strawberry's own class, which plans extend)."""
    variables: dict[str, Any] = {"userId": str(users.athlete), **WINDOW}
    if "$yes" in query:
        variables["yes"] = True
    body = {"query": query, "variables": variables}
    answers = []
    for plans in (True, False):
        if not plans:
            base = schema.execution_context_class.__bases__[0]
            monkeypatch.setattr(schema, "execution_context_class", base)
        r = await client.post("/graphql", json=body, headers=users.as_athlete)
        assert r.status_code == 200, r.text
        answers.append(r.content)
    monkeypatch.undo()
    return answers[0], answers[1]


# -- documents over the schema ------------------------------------------------------------------

ROOT = (
    "query Q($userId: UUID!, $startAt: DateTime!, $endAt: DateTime!, $yes: Boolean!) {{"
    " bookings(userId: $userId, startAt: $startAt, endAt: $endAt) {} }}{}"
)
DIRECTIVES = ["", "", "", " @include(if: $yes)", " @skip(if: $yes)", " @include(if: false)"]


@st.composite
def selections(draw: Any, object_type: GraphQLObjectType, depth: int, fragments: list[str]) -> str:
    """A selection set of `object_type`: some of its fields (aliased or not, with or without a
    directive, repeated), some in inline or named fragments, maybe `__typename`."""
    names = [n for n, f in object_type.fields.items() if not f.args]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=8))
    parts = []
    for name in chosen:
        field = object_type.fields[name]
        inner = field.type
        while isinstance(inner, (GraphQLNonNull, GraphQLList)):
            inner = inner.of_type
        alias = draw(st.sampled_from(["", "", f"a{len(parts)}_{name}: "]))
        directive = draw(st.sampled_from(DIRECTIVES))
        if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
            text = f"{alias}{name}{directive}"
        elif depth <= 0:
            continue
        else:
            assert isinstance(inner, GraphQLObjectType)
            text = f"{alias}{name}{directive} {draw(selections(inner, depth - 1, fragments))}"
        wrap = draw(st.sampled_from(["plain", "plain", "inline", "named"]))
        if wrap == "inline":
            text = f"... on {object_type.name}{draw(st.sampled_from(DIRECTIVES))} {{ {text} }}"
        elif wrap == "named":
            fragment = f"F{len(fragments)}"
            fragments.append(f" fragment {fragment} on {object_type.name} {{ {text} }}")
            text = f"...{fragment}"
        parts.append(text)
    if draw(st.booleans()) or not parts:
        parts.append("__typename")
    return "{ " + " ".join(parts) + " }"


def generated(count: int) -> list[str]:
    """`count` documents, the same on every run (derandomized)."""
    connection = build_schema(sdl()).get_type("BookingConnection")
    assert isinstance(connection, GraphQLObjectType)
    documents: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.data())
    def collect(data: Any) -> None:
        fragments: list[str] = []
        selection = data.draw(selections(connection, 4, fragments))
        documents.append(ROOT.format(selection, "".join(fragments)))

    collect()
    return documents


async def test_generated_documents_answer_the_same_with_and_without_plans(
    client, users, settings, monkeypatch
):
    await calendar_data(client, users, settings)
    documents = generated(DOCUMENTS)
    assert len(documents) == DOCUMENTS
    answered_with_data = 0
    for query in documents:
        planned, plain = await both(client, users, query, monkeypatch)
        assert planned == plain, query
        answered_with_data += STORED_ID.search(planned) is not None
    # The documents reach the data: their answers hold stored ids (of bookings, events, users,
    # under whatever alias), not only connection metadata.
    assert answered_with_data > DOCUMENTS // 6


async def test_the_calendar_answers_the_same_by_a_plan(client, users, settings, monkeypatch):
    await calendar_data(client, users, settings)
    base = schema.execution_context_class.__bases__[0]
    completed = []
    complete_value = base.complete_value

    def counted(self: Any, *args: Any) -> Any:
        completed.append(args[0])
        return complete_value(self, *args)

    monkeypatch.setattr(base, "complete_value", counted)
    await gql(client, users.as_athlete, CALENDAR_QUERY, userId=str(users.athlete), **WINDOW)
    assert len(completed) == 0  # the whole page by the plan: graphql-core completed nothing
    monkeypatch.undo()
    planned, plain = await both(client, users, CALENDAR_QUERY, monkeypatch)
    assert planned == plain
    assert planned.count(b'"bookingId"') == 6


# -- values a plan must give up on --------------------------------------------------------------


class Later:
    """An awaitable attribute value (graphql-core awaits it; a plan must not read it)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return asyncio.sleep(0, self.value).__await__()


BAD_VALUES = {
    "null in a non-null leaf": ("timeslot", "number_of_participants", None),
    "a string for an Int": ("timeslot", "number_of_participants", "five"),
    "an Int out of range": (None, "service_cardinality", 2**40),
    "an awaitable": (None, "service_cardinality", Later(7)),
    "an awaitable object": (None, "event", "later-event"),
    "null in a non-null object": (None, "timeslot", None),
    "a list of the wrong kind": (None, "event_status", ["Scheduled"]),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
async def test_out_of_the_ordinary_values_get_graphql_core_s_answer(
    client, users, settings, monkeypatch, case
):
    await calendar_data(client, users, settings)
    where, attribute, bad = BAD_VALUES[case]
    of = types.Booking.of

    def broken(view: Any) -> Any:
        booking = of(view)
        if booking.timeslot.price == 1002:  # one booking of the page
            target = booking if where is None else getattr(booking, where)
            value = Later(booking.event) if bad == "later-event" else bad
            object.__setattr__(target, attribute, value)
        return booking

    monkeypatch.setattr(types.Booking, "of", broken)
    query = CALENDAR_QUERY.replace("serviceCardinality", "serviceCardinality __typename")
    planned, plain = await both(client, users, query, monkeypatch)
    assert planned == plain
    assert b'"errors"' in planned or b"7" in planned


async def test_a_plan_follows_each_request_s_include_and_skip_variables(
    client, users, settings, monkeypatch
):
    """Plans are kept across requests for a document; `@include`/`@skip` variables are part of
    what picks one, so the same text with other values answers with other fields."""
    await calendar_data(client, users, settings)
    query = (
        "query Q($userId: UUID!, $yes: Boolean!) { bookings(userId: $userId) {"
        " nodes { bookingId @include(if: $yes) startAt @skip(if: $yes) } } }"
    )
    answers = {}
    for yes in (True, False, True, False):
        data = await gql(client, users.as_athlete, query, userId=str(users.athlete), yes=yes)
        [first, *_] = data["data"]["bookings"]["nodes"]
        assert set(first) == ({"bookingId"} if yes else {"startAt"})
        answers.setdefault(yes, data)
        assert answers[yes] == data
