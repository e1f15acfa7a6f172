"""The demo: a catalog of six coaches and sports from a week back to two weeks ahead, the demo's
users with ids that never change, and bookings to try each step of a booking's life on.

Ids are name-based (UUIDv5): the users, every event and its time slot are the same on every seed,
so re-seeding upserts the same rows (times move with the day it runs). Bookings are made through
the order resolver, as an admin ordering for the athlete, at an instant before their event's
start (a day before it, for events that have ended), so the past holds Accepted sessions to
complete, note and dispute. A seed books a demo booking only when the athlete holds no seat in
its event: it never doubles one, and puts back one the demo's calls canceled.
"""

from __future__ import annotations

import logging
import random
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

from leko_bookings.auth import Principal, Role
from leko_bookings.errors import DomainError
from leko_bookings.models import BookingStatus
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.ordering import BookEventsInput, book_events
from leko_bookings.resolvers.reading import BookingFilter, list_bookings
from leko_bookings.resolvers.seats import SEAT_HOLDING

log = logging.getLogger("leko_bookings.seed")

NAMESPACE = UUID("6c0b5c57-8f1e-4c3e-9d0a-1e5b2a7c9d41")
SPORTS = ["tennis", "boxing", "yoga", "swimming", "climbing", "running"]
COACHES = ["anna", "boris", "chen", "dmitri", "elena", "farid"]
HOURS = [7, 9, 11, 14, 17, 19]
DAYS_BACK = 7
DAYS_AHEAD = 14


def _id(*parts: object) -> UUID:
    return uuid5(NAMESPACE, "/".join(str(p) for p in parts))


ATHLETE = _id("athlete", "demo")
COACH = _id("coach", COACHES[0])  # the demo's coach: every demo event below is hers
ADMIN = _id("admin", "demo")
CROWD = [_id("athlete", "crowd", n) for n in range(3)]  # the athletes filling the full event


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """An event of the demo's coach kept for the demo's calls, named as `seed --print-env`
    exports it (`<name>_ID`). `booked` is the athlete's booking in it: what the order makes it,
    or None (the event is left for the calls to book)."""

    name: str
    day: int  # days from today (UTC); negative: it has ended
    hour: int  # its start, UTC; every demo event lasts an hour
    public: bool
    capacity: int
    booked: BookingStatus | None
    what: str


DEMO_EVENTS = (
    DemoEvent("EVENT", 1, 12, True, 8, None, "public, bookable: an order books it Accepted"),
    DemoEvent("PRIVATE_EVENT", 4, 12, False, 1, None, "a private slot: an order waits as Pending"),
    DemoEvent("FULL_EVENT", 5, 10, True, 3, None, "no seat left: an order is refused (overbooked)"),
    DemoEvent(
        "PENDING_BOOKING",
        2,
        10,
        False,
        1,
        BookingStatus.Pending,
        "Pending on a private slot: the coach accepts or rejects it",
    ),
    DemoEvent(
        "PENDING_BOOKING_2",
        6,
        10,
        False,
        1,
        BookingStatus.Pending,
        "Pending on a private slot, another one",
    ),
    DemoEvent(
        "UPCOMING_BOOKING",
        3,
        10,
        True,
        8,
        BookingStatus.Accepted,
        "Accepted, ahead: the athlete or the coach cancels it",
    ),
    DemoEvent(
        "PAST_BOOKING",
        -2,
        10,
        True,
        8,
        BookingStatus.Accepted,
        "Accepted, ended: mark it completed, write its note, dispute it",
    ),
    DemoEvent(
        "PAST_BOOKING_2", -3, 10, True, 8, BookingStatus.Accepted, "Accepted, ended, another one"
    ),
    DemoEvent(
        "PAST_BOOKING_3", -1, 10, True, 8, BookingStatus.Accepted, "Accepted, ended, another one"
    ),
)
FULL = next(d for d in DEMO_EVENTS if d.name == "FULL_EVENT")


@dataclass(frozen=True)
class DemoCatalog:
    events: list[dict[str, Any]]
    coaches: list[UUID]
    athlete: UUID
    demo_events: dict[str, dict[str, Any]]  # DemoEvent.name -> its event, as in `events`


@dataclass(frozen=True)
class DemoState:
    """What a seed leaves: the demo's users and the ids of the demo's events and bookings."""

    catalog: DemoCatalog
    bookings: dict[str, UUID]  # DemoEvent.name -> the athlete's seat-holding booking in it

    @property
    def ids(self) -> dict[str, UUID]:
        """Every id `seed --print-env` exports, by its name there (without `_ID`)."""
        named = {"ATHLETE": ATHLETE, "COACH": COACH, "ADMIN": ADMIN}
        events = {
            d.name: UUID(self.catalog.demo_events[d.name]["eventId"])
            for d in DEMO_EVENTS
            if d.booked is None
        }
        return named | events | self.bookings


def _event(
    coach: str,
    sport: str,
    key: tuple[object, ...],
    start: datetime,
    minutes: int,
    slot: dict[str, Any],
) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "eventId": str(_id("event", *key)),
        "coachId": str(_id("coach", coach)),
        "sportId": str(_id("sport", sport)),
        "startAt": start.isoformat(),
        "endAt": end.isoformat(),
        "eventStatus": "Scheduled",
        "timeslot": {
            "timeSlotId": str(_id("slot", *key)),
            "startTime": time(start.hour, start.minute).isoformat() + "+00:00",
            "endTime": time(end.hour, end.minute).isoformat() + "+00:00",
            "duration": minutes,
            "priceCurrency": "RUB",
            "paymentMethod": "Cash",
            "ageFrom": 18,
            "eligibility": "All",
            **slot,
        },
    }


def demo_catalog(now: datetime) -> DemoCatalog:
    """Deterministic ids (re-seeding upserts the same events), times moving with `now`: two
    events a day per coach from `DAYS_BACK` days ago to `DAYS_AHEAD` days ahead (none today),
    plus the demo's events (`DEMO_EVENTS`, the demo coach's, at hours the others do not use)."""
    rng = random.Random(42)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[dict[str, Any]] = []
    days = [d for d in range(-DAYS_BACK, DAYS_AHEAD + 1) if d != 0]
    for c, coach in enumerate(COACHES):
        sport = SPORTS[c % len(SPORTS)]
        for day in days:
            for hour in rng.sample(HOURS, 2):
                minutes = rng.choice([45, 60, 90])
                private = rng.random() < 0.2
                slot = {
                    "numberOfParticipants": 1 if private else rng.choice([4, 8, 12]),
                    "slotType": rng.choice(["Offline", "Offline", "Online"]),
                    "ageTo": rng.choice([45, 60, 99]),
                    "price": rng.choice([800, 1200, 1500, 2500]),
                    "public": not private,
                    "level": rng.choice(["Any", "Beginner", "Medium", "Pro"]),
                }
                start = today + timedelta(days=day, hours=hour)
                events.append(_event(coach, sport, (coach, day, hour), start, minutes, slot))
    demo = {}
    for d in DEMO_EVENTS:
        slot = {
            "numberOfParticipants": d.capacity,
            "slotType": "Offline",
            "ageTo": 99,
            "price": 1500,
            "public": d.public,
            "level": "Any",
        }
        start = today + timedelta(days=d.day, hours=d.hour)
        demo[d.name] = _event(COACHES[0], SPORTS[0], ("demo", d.name), start, 60, slot)
    return DemoCatalog([*events, *demo.values()], [_id("coach", c) for c in COACHES], ATHLETE, demo)


def _start(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["startAt"])


async def _seat_of(ctx: Context, user: UUID, event_id: UUID, start: datetime) -> UUID | None:
    """The user's seat-holding booking in the event, booked now if there is none (as an order
    placed a day before the start when the event has ended); None if the order is refused."""
    found = await list_bookings(ctx, BookingFilter(user_id=user, event_id=event_id))
    held = [b for b in found.items if b.booking_status in SEAT_HOLDING]
    if held:
        return held[-1].booking_id
    at = min(ctx.now, start - timedelta(days=1))
    order = BookEventsInput.model_validate(
        {"userId": user, "eventIds": [event_id], "paymentMethod": {"type": "Cash"}}
    )
    try:
        placed = await book_events(replace(ctx, now=at), order)
    except DomainError as exc:
        log.warning("the demo could not book event %s for %s: %s", event_id, user, exc.message)
        return None
    return placed.bookings[0].booking_id


async def book_demo(catalog: DemoCatalog, ctx: Context) -> DemoState:
    """The demo's bookings (the catalog upserted): the athlete's, and the crowd filling the full
    event; `ctx` is any context, its caller is replaced by the demo's admin."""
    admin = replace(ctx, principal=Principal(ADMIN, frozenset({Role.admin})))
    full = catalog.demo_events[FULL.name]
    for user in CROWD:
        await _seat_of(admin, user, UUID(full["eventId"]), _start(full))
    bookings = {}
    for d in DEMO_EVENTS:
        if d.booked is None:
            continue
        event = catalog.demo_events[d.name]
        booked = await _seat_of(admin, ATHLETE, UUID(event["eventId"]), _start(event))
        if booked is not None:
            bookings[d.name] = booked
    return DemoState(catalog, bookings)


PEOPLE = {
    "ATHLETE": "the demo's athlete",
    "COACH": "the demo's coach (every demo event is hers)",
    "ADMIN": "an admin",
}


def described(name: str) -> str:
    """What an exported id is for (the comment `seed --print-env` writes beside it)."""
    return PEOPLE.get(name) or next(d.what for d in DEMO_EVENTS if d.name == name)


@dataclass(frozen=True)
class Shown:
    """What `seed` prints of a seeded demo: tokens, links and `export` lines."""

    state: DemoState
    tokens: dict[str, str]  # ATHLETE, COACH, ADMIN -> a bearer token
    url: str  # where the server answers
    base_path: str  # the REST paths' (LEKO_BASE_PATH)

    def exports(self) -> list[str]:
        """`export NAME=value` lines (`seed --print-env`), each id with what it is for."""
        lines = [f"export BASE_URL={shlex.quote(self.url)}"]
        for name, value in self.state.ids.items():
            lines.append(f"export {name}_ID={value}  # {described(name)}")
            if name in self.tokens:
                lines.append(f"export {name}_TOKEN={self.tokens[name]}")
        return lines

    def report(self) -> list[str]:
        ids, url, tokens = self.state.ids, self.url, self.tokens
        catalog = self.state.catalog
        return [
            f"seeded {len(catalog.events)} events by {len(catalog.coaches)} coaches (a week "
            f"back, two weeks ahead); the demo athlete holds {len(self.state.bookings)} of the "
            "demo's bookings",
            "",
            *(f"{who.lower():<7} {ids[who]}:\n  {tokens[who]}" for who in PEOPLE),
            "",
            "The calendar page, signed in (each link fills its token):",
            f"athlete: {url}/calendar#token={tokens['ATHLETE']}",
            f"coach:   {url}/calendar#token={tokens['COACH']}",
            f"GraphiQL:   {url}/graphql (a token goes after 'Bearer ' in its Headers tab)",
            f"Swagger UI: {url}{self.base_path}/docs",
            "",
            "The demo's users and events, for the README's first calls in another shell "
            '(or there: eval "$(.venv/bin/leko-bookings seed --print-env)"):',
            *self.exports(),
        ]
