"""Events with availability (issue 12): `events(from, to, ...)`, `event(eventId)` and the
availability fields of `Event` (seatsTaken, seatsLeft, bookable, viewerBooking), also on a
booking's event, at a constant number of SQL statements."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from bench.sqlcount import counting_statements
from leko_bookings.settings import Settings
from tests.conftest import NO_RATE_LIMITS, NOW, SECRET, Users
from tests.factories import book, create_event, gql

DAY = NOW.replace(hour=6) + timedelta(days=1)  # 2026-06-02T06:00:00Z
FIELDS = "eventId startAt seatsTaken seatsLeft bookable viewerBooking { bookingId }"
EVENTS = f"""
query($from: DateTime!, $to: DateTime!, $coachId: UUID, $sportId: UUID,
      $includeCanceled: Boolean, $first: Int, $after: String, $last: Int, $before: String) {{
  events(from: $from, to: $to, coachId: $coachId, sportId: $sportId,
         includeCanceled: $includeCanceled, first: $first, after: $after, last: $last,
         before: $before) {{
    nodes {{ {FIELDS} eventStatus timeslot {{ numberOfParticipants }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}"""
ONE = f"query($id: UUID!) {{ event(eventId: $id) {{ {FIELDS} }} }}"
CANCEL = """mutation($id: UUID!) { cancelBooking(bookingId: $id, reasonCode: NoTime)
  { __typename ... on Booking { bookingStatus } } }"""


@pytest.fixture
def settings(database: str) -> Settings:
    # Up to 50 upcoming bookings for one athlete: no seat cap here.
    return Settings(
        database_url=database, jwt_secret=SECRET, max_upcoming_seats_per_user=0, **NO_RATE_LIMITS
    )


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def listed(
    client: Any, headers: dict[str, str], start: datetime, end: datetime, **args: Any
) -> dict[str, Any]:
    data = await gql(client, headers, EVENTS, **{"from": z(start), "to": z(end)}, **args)
    assert "errors" not in data, data
    return data["data"]["events"]


async def nodes(client: Any, headers: dict[str, str], **args: Any) -> list[dict[str, Any]]:
    start, end = args.pop("window", (DAY, DAY + timedelta(days=7)))
    return (await listed(client, headers, start, end, **args))["nodes"]


async def one(client: Any, headers: dict[str, str], event_id: uuid.UUID) -> dict[str, Any]:
    data = await gql(client, headers, ONE, id=str(event_id))
    assert "errors" not in data, data
    return data["data"]["event"]


def seats(node: dict[str, Any]) -> tuple[int, int, bool]:
    return node["seatsTaken"], node["seatsLeft"], node["bookable"]


class TestAvailability:
    async def test_seats_follow_bookings_cancellations_and_capacity(
        self, client, users: Users, settings
    ):
        event = await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=2)
        [node] = await nodes(client, users.as_athlete)
        assert seats(node) == (0, 2, True)
        assert node["viewerBooking"] is None

        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.status_code == 201, r.text
        booking = r.json()["bookings"][0]["bookingId"]
        [node] = await nodes(client, users.as_athlete)
        assert seats(node) == (1, 1, True)
        assert node["viewerBooking"] == {"bookingId": booking}
        [node] = await nodes(client, users.as_other_athlete)
        assert seats(node) == (1, 1, True)
        assert node["viewerBooking"] is None  # someone else's booking is not shown

        r = await book(client, users.as_other_athlete, users.other_athlete, event)
        assert r.status_code == 201, r.text
        assert seats(await one(client, users.as_athlete, event)) == (2, 0, False)

        cancel = await gql(client, users.as_athlete, CANCEL, id=booking)
        assert cancel["data"]["cancelBooking"]["bookingStatus"] == "Canceled"
        node = await one(client, users.as_athlete, event)
        assert seats(node) == (1, 1, True)
        assert node["viewerBooking"] is None  # a canceled booking holds no seat

        # The event upserted with a capacity lowered to the seats held: full.
        await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=1, event_id=event)
        assert seats(await one(client, users.as_athlete, event)) == (1, 0, False)
        r = await book(client, users.as_athlete, users.athlete, event)
        assert r.json()["errors"][0]["bookingError"] == "overbooked"  # the same seat rule

    async def test_seats_left_never_below_zero(self, client, users: Users, settings):
        event = await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=2)
        for headers, user in (
            (users.as_athlete, users.athlete),
            (users.as_other_athlete, users.other_athlete),
        ):
            assert (await book(client, headers, user, event)).status_code == 201
        await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=1, event_id=event)
        [node] = await nodes(client, users.as_athlete)
        assert seats(node) == (2, 0, False)
        assert node["timeslot"]["numberOfParticipants"] == 1

    async def test_bookable_follows_the_order_rules_of_time(self, client, users: Users, settings):
        """Bookable from the lead time (30 minutes) on, as an order is accepted."""
        kinds = {
            "started": NOW - timedelta(minutes=10),
            "too close": NOW + timedelta(minutes=29),
            "at the lead time": NOW + timedelta(minutes=30),
        }
        ids = {
            name: await create_event(settings, NOW, coach=users.coach, start=start, minutes=20)
            for name, start in kinds.items()
        }
        window = (NOW - timedelta(hours=1), NOW + timedelta(hours=2))
        found = {
            n["eventId"]: n["bookable"]
            for n in await nodes(client, users.as_athlete, window=window)
        }
        assert {name: found[str(i)] for name, i in ids.items()} == {
            "started": False,
            "too close": False,
            "at the lead time": True,
        }
        refused = await book(client, users.as_athlete, users.athlete, ids["too close"])
        assert refused.json()["errors"][0]["bookingError"] == "tooCloseToEventStart"
        accepted = await book(client, users.as_athlete, users.athlete, ids["at the lead time"])
        assert accepted.status_code == 201, accepted.text

    async def test_a_booking_s_event_shows_its_availability(self, client, users: Users, settings):
        event = await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=3)
        r = await book(client, users.as_athlete, users.athlete, event)
        booking = r.json()["bookings"][0]["bookingId"]
        query = """query($id: UUID!) { booking(bookingId: $id) { event {
            seatsTaken seatsLeft bookable viewerBooking { bookingId serviceCardinality } } } }"""
        data = await gql(client, users.as_athlete, query, id=booking)
        assert data["data"]["booking"]["event"] == {
            "seatsTaken": 1,
            "seatsLeft": 2,
            "bookable": True,
            "viewerBooking": {"bookingId": booking, "serviceCardinality": 1},
        }
        # the coach sees the seats; the booking is not the coach's own
        data = await gql(client, users.as_coach, query, id=booking)
        assert data["data"]["booking"]["event"]["seatsLeft"] == 2
        assert data["data"]["booking"]["event"]["viewerBooking"] is None

    async def test_the_viewer_s_booking_in_a_listing_with_its_rank(
        self, client, users: Users, settings
    ):
        first = await create_event(settings, NOW, coach=users.coach, start=DAY)
        second = await create_event(
            settings, NOW, coach=users.coach, start=DAY + timedelta(hours=2)
        )
        r = await book(client, users.as_athlete, users.athlete, first, second)
        ids = [b["bookingId"] for b in r.json()["bookings"]]
        query = """query($from: DateTime!, $to: DateTime!) { events(from: $from, to: $to) {
            edges { node { viewerBooking { bookingId serviceCardinality } } } } }"""
        window = {"from": z(DAY), "to": z(DAY + timedelta(days=1))}
        data = await gql(client, users.as_athlete, query, **window)
        assert [e["node"]["viewerBooking"] for e in data["data"]["events"]["edges"]] == [
            {"bookingId": ids[0], "serviceCardinality": 1},
            {"bookingId": ids[1], "serviceCardinality": 2},
        ]


class TestListing:
    async def test_canceled_events_only_when_asked(self, client, users: Users, settings):
        live = await create_event(settings, NOW, coach=users.coach, start=DAY)
        gone = await create_event(
            settings, NOW, coach=users.coach, start=DAY + timedelta(hours=2), status="Canceled"
        )
        assert [n["eventId"] for n in await nodes(client, users.as_athlete)] == [str(live)]
        both = await nodes(client, users.as_athlete, includeCanceled=True)
        assert [(n["eventId"], n["bookable"]) for n in both] == [
            (str(live), True),
            (str(gone), False),
        ]
        assert [n["eventStatus"] for n in both] == ["Scheduled", "Canceled"]

    async def test_coach_and_sport_filters(self, client, users: Users, settings):
        tennis, judo = uuid.uuid4(), uuid.uuid4()
        made = {}
        for i, (coach, sport) in enumerate(
            [(users.coach, tennis), (users.coach, judo), (users.other_coach, tennis)]
        ):
            start = DAY + timedelta(hours=2 * i)
            made[(coach, sport)] = str(
                await create_event(settings, NOW, coach=coach, start=start, sport=sport)
            )

        async def ids(**args: Any) -> list[str]:
            return [n["eventId"] for n in await nodes(client, users.as_athlete, **args)]

        assert await ids() == list(made.values())
        assert await ids(coachId=str(users.coach)) == [
            made[(users.coach, tennis)],
            made[(users.coach, judo)],
        ]
        assert await ids(sportId=str(tennis)) == [
            made[(users.coach, tennis)],
            made[(users.other_coach, tennis)],
        ]
        assert await ids(coachId=str(users.other_coach), sportId=str(judo)) == []

    @pytest.mark.parametrize(
        ("start", "end", "listed"),
        [
            ("10:00", "11:00", True),
            ("09:00", "10:00", False),  # ends where the event starts
            ("11:00", "12:00", False),  # starts where the event ends
            ("09:00", "10:01", True),
            ("10:59", "12:00", True),
            ("10:15", "10:30", True),  # inside it
        ],
    )
    async def test_the_window_is_half_open(
        self, client, users: Users, settings, start, end, listed
    ):
        event = await create_event(settings, NOW, coach=users.coach, start=DAY.replace(hour=10))
        at = {t: DAY.replace(hour=int(t[:2]), minute=int(t[3:])) for t in (start, end)}
        found = await nodes(client, users.as_athlete, window=(at[start], at[end]))
        assert [n["eventId"] for n in found] == ([str(event)] if listed else [])

    async def test_ordered_by_start_then_id_and_paged(self, client, users: Users, settings):
        coaches = [users.coach, users.other_coach, uuid.uuid4()]
        made = [
            (start, await create_event(settings, NOW, coach=coach, start=start))
            for start in (DAY + timedelta(hours=3), DAY)
            for coach in coaches
        ]
        expected = [str(e) for _, e in sorted(made)]
        assert [n["eventId"] for n in await nodes(client, users.as_athlete)] == expected

        seen, after = [], None
        while True:
            page = await listed(
                client, users.as_athlete, DAY, DAY + timedelta(days=1), first=4, after=after
            )
            seen += [n["eventId"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected
        back = await listed(client, users.as_athlete, DAY, DAY + timedelta(days=1), last=2)
        assert [n["eventId"] for n in back["nodes"]] == expected[-2:]
        assert back["pageInfo"]["hasPreviousPage"] is True
        count = "query($f: DateTime!, $t: DateTime!) { events(from: $f, to: $t, first: 2)"
        count += " { totalCount nodes { eventId } } }"
        data = await gql(client, users.as_athlete, count, f=z(DAY), t=z(DAY + timedelta(days=1)))
        assert data["data"]["events"]["totalCount"] == len(expected)

    async def test_any_signed_in_user_may_list_and_no_one_else(
        self, client, users: Users, settings
    ):
        await create_event(settings, NOW, coach=users.coach, start=DAY)
        for headers in (users.as_coach, users.as_other_coach, users.as_admin, users.as_athlete):
            assert len(await nodes(client, headers)) == 1
        r = await client.post(
            "/graphql", json={"query": EVENTS, "variables": {"from": z(DAY), "to": z(DAY)}}
        )
        assert r.status_code == 401

    async def test_a_window_ending_before_it_starts_is_refused(self, client, users: Users):
        data = await gql(client, users.as_athlete, EVENTS, **{"from": z(DAY), "to": z(NOW)})
        assert data["errors"][0]["extensions"]["code"] == "validation"

    async def test_one_event_and_an_unknown_one(self, client, users: Users, settings):
        event = await create_event(settings, NOW, coach=users.coach, start=DAY, capacity=4)
        assert seats(await one(client, users.as_athlete, event)) == (0, 4, True)
        assert await one(client, users.as_athlete, uuid.uuid4()) is None
        query = "query($id: ID!) { node(id: $id) { ... on Event { eventId seatsLeft } } }"
        [node] = await nodes(client, users.as_athlete)
        lookup = await gql(
            client, users.as_athlete, "query($e: UUID!) { event(eventId: $e) { id } }", e=str(event)
        )
        data = await gql(client, users.as_athlete, query, id=lookup["data"]["event"]["id"])
        assert data["data"]["node"] == {"eventId": node["eventId"], "seatsLeft": 4}


class TestCost:
    """A week of events with every availability field, or the events of a page of bookings, costs
    the same statements for 5 and for 50."""

    async def week(self, client, users: Users, settings, count: int, first: int) -> None:
        """Events `first`..`first + count - 1` of the coach, 3 hours apart from DAY; the athlete
        books every other one (at most 20 an order)."""
        events = [
            await create_event(settings, NOW, coach=users.coach, start=DAY + timedelta(hours=3 * i))
            for i in range(first, first + count)
        ]
        mine = [e for i, e in enumerate(events, first) if i % 2 == 0]
        for k in range(0, len(mine), 20):
            r = await book(client, users.as_athlete, users.athlete, *mine[k : k + 20])
            assert r.status_code == 201, r.text

    async def test_a_week_of_events(self, client, users: Users, settings):
        counts = []
        for count, first in ((5, 0), (45, 5)):
            await self.week(client, users, settings, count, first)
            with counting_statements() as counter:
                found = await nodes(client, users.as_athlete, coachId=str(users.coach), first=100)
            assert len(found) == count + first
            booked = [n["viewerBooking"] is not None for n in found]
            assert booked == [i % 2 == 0 for i in range(len(found))]
            assert all(n["seatsTaken"] == (n["viewerBooking"] is not None) for n in found)
            counts.append(len(counter.statements))
        assert counts == [2, 2], counts  # events with seats; the viewer's bookings

    async def test_the_events_of_a_page_of_bookings(self, client, users: Users, settings):
        query = """query($u: UUID!) { bookings(userId: $u, first: 100) { nodes { event {
            seatsTaken seatsLeft bookable viewerBooking { bookingId } } } } }"""
        counts = []
        for count, first in ((10, 0), (90, 10)):
            await self.week(client, users, settings, count, first)
            with counting_statements() as counter:
                data = await gql(client, users.as_athlete, query, u=str(users.athlete))
            events = [n["event"] for n in data["data"]["bookings"]["nodes"]]
            assert len(events) == (count + first) // 2
            assert all(e["seatsTaken"] == 1 and e["viewerBooking"] for e in events)
            counts.append(len(counter.statements))
        # the bookings; seats; the viewer's bookings with their ranks (a booking's event loads
        # the viewer's booking without seeing the selection below it, so it is always ranked)
        assert counts == [3, 3], counts
