"""The GraphQL schema (primary API of the calendar UI): thin types over the resolvers."""

from __future__ import annotations

from pathlib import Path

from strawberry.tools import merge_types

from leko_bookings.schema.calendar_feeds import CalendarFeedMutation
from leko_bookings.schema.events import EventQuery
from leko_bookings.schema.execution import make_schema
from leko_bookings.schema.lifecycle import LifecycleMutation
from leko_bookings.schema.lookup import LookupQuery
from leko_bookings.schema.mutations import Mutation as OrderingMutation
from leko_bookings.schema.notifications import NotificationMutation, NotificationQuery
from leko_bookings.schema.queries import Query as BookingQuery
from leko_bookings.schema.reschedule import RescheduleMutation
from leko_bookings.schema.subscriptions import Subscription
from leko_bookings.schema.waitlists import WaitlistMutation, WaitlistQuery

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"

Query = merge_types(
    "Query", (BookingQuery, NotificationQuery, LookupQuery, EventQuery, WaitlistQuery)
)
Mutation = merge_types(
    "Mutation",
    (
        OrderingMutation,
        LifecycleMutation,
        RescheduleMutation,
        NotificationMutation,
        CalendarFeedMutation,
        WaitlistMutation,
    ),
)

schema = make_schema(Query, Mutation, subscription=Subscription)


def sdl() -> str:
    return schema.as_str() + "\n"
