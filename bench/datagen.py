"""The benchmark's data: coaches, their events and a year of athletes' bookings, loaded by COPY.

Shapes (deterministic for a seed; dates relative to the run's hour):

- the year runs from ~300 days ago to ~65 days ahead;
- coaches have a heavy-tailed number of events (log-normal weights), 1-2 sports each, no two of a
  coach's events overlapping; events last 60/90/120 minutes between 07:00 and 22:00 UTC;
  capacity: 20% individual (1), 10% small groups (2-4), 35% groups (10-20), 35% big (20-40);
  10% private (bookings start Pending), 2% canceled;
- athletes have a log-normal number of bookings (mean ~20 a year), mostly with 1-4 favourite
  coaches (popular coaches more often); a few *heavy* athletes book ~50 events every month
  (the month-list scenario reads them; enough of them that no one's request rate nears the
  per-user request limit); an athlete's bookings never overlap, no event is over capacity;
- past bookings are mostly Accepted and completed, some Canceled (athlete), Rejected, disputed or
  dismissed; future ones Accepted (Pending on private slots) or Canceled; bookings of a canceled
  event are Canceled by the coach;
- orders hold one booking (85%) or two; every booking has its history (Booked, then Canceled /
  Completed where it applies) and its `bookingCreated` notification (sent);
- a *pool* of future events (from tomorrow on, for two weeks) is left without bookings: the POST
  scenario books them, and the bench deletes what it booked there after each run;
- the *week* (3 days before the run's day to 4 days after): the busiest coaches of that week,
  each with athletes who have booked them, for the week-of-events scenario (its first pair: an
  athlete holding a seat in one of the coach's events that week).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from bench import tables

CELL = timedelta(minutes=30)
# The default seat cap (LEKO_MAX_UPCOMING_SEATS_PER_USER, 30) less the largest order the POST
# scenario sends (3 events): an athlete holding more could see an order refused by the cap.
POST_USER_MAX_UPCOMING = 30 - 3  # events start on the half hour; overlap is checked on these cells
WEEK_COACHES = 50  # the busiest coaches of the week
WEEK_ATHLETES_PER_COACH = 20
WEEK_PAIRS_PER_ATHLETE = 2  # the load spread over enough athletes that no request limit refuses


@dataclass(frozen=True, slots=True)
class Sizes:
    coaches: int = 1_000
    events: int = 20_000
    bookings: int = 200_000
    athletes: int = 10_000
    heavy_athletes: int = 120
    heavy_per_month: int = 50
    pool_events: int = 500

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(
            coaches=30,
            events=1_200,
            bookings=6_000,
            athletes=300,
            heavy_athletes=12,
            heavy_per_month=20,
            pool_events=30,
        )


@dataclass(slots=True)
class Event:
    id: UUID
    coach: UUID
    sport: UUID
    start: datetime
    end: datetime
    cells: range
    capacity: int
    public: bool | None
    canceled: bool
    row: tuple


@dataclass(slots=True)
class Dataset:
    """What was loaded, and what the scenarios need from it."""

    now: datetime
    sizes: Sizes
    month: tuple[datetime, datetime]  # the month-list window [start, end)
    heavy: list[UUID]  # athletes with ~heavy_per_month bookings in that month
    bookings: list[tuple[UUID, UUID]]  # a sample of (booking id, its athlete)
    pool: list[tuple[UUID, int]]  # (event id, capacity) of the POST pool, no bookings
    # Athletes who order in the POST scenario: regulars with room under the seat cap for any
    # order the scenario sends (it sends each of them one order in turn, see scenarios.build)
    post_users: list[UUID]
    past_event: UUID  # a past, scheduled event (an order for it is refused)
    week: tuple[datetime, datetime]  # the week-of-events window [start, end)
    week_views: list[tuple[UUID, UUID]]  # (coach, athlete): an athlete looking at a coach's week
    counts: dict[str, int] = field(default_factory=dict)


class _Ids:
    """Deterministic UUIDs (version 4 layout) from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    _CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
    _SET = (0x4000 << 64) | (0x8000 << 48)

    def __call__(self) -> UUID:
        return UUID(int=(self.rng.getrandbits(128) & self._CLEAR) | self._SET)


def _weights(rng: random.Random, n: int, sigma: float) -> list[float]:
    return [math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def _spread(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to the weights, summing to total (largest remainders)."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _capacity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.20:
        return 1
    if roll < 0.30:
        return rng.randint(2, 4)
    if roll < 0.65:
        return rng.randint(10, 20)
    return rng.randint(20, 40)


def _choice(rng: random.Random, options: list, weights: list[float]):
    return rng.choices(options, weights)[0]


class _Generator:
    def __init__(self, sizes: Sizes, now: datetime, seed: int) -> None:
        self.sizes = sizes
        self.now = now
        self.rng = random.Random(seed)
        self.uuid = _Ids(self.rng)
        self.year_start = (now - timedelta(days=300)).replace(hour=0)
        self.days = 365
        self.events: list[Event] = []
        self.orders: list[tuple] = []
        self.bookings: list[tuple] = []
        self.history: list[tuple] = []
        self.notifications: list[tuple] = []

    # -- the catalog --------------------------------------------------------------------------

    def make_events(self) -> None:
        rng, sizes = self.rng, self.sizes
        sports = [self.uuid() for _ in range(30)]
        sport_weights = _weights(rng, len(sports), 1.0)
        coaches = [self.uuid() for _ in range(sizes.coaches)]
        per_coach = _spread(sizes.events, _weights(rng, sizes.coaches, 0.9))
        for coach, count in zip(coaches, per_coach, strict=True):
            own_sports = rng.choices(sports, sport_weights, k=rng.choice((1, 1, 2)))
            price = rng.randrange(500, 5001, 100)
            address = self.uuid()
            busy: set[int] = set()
            made = 0
            while made < count:
                start = self.year_start + timedelta(
                    days=rng.randrange(self.days),
                    hours=rng.randint(7, 20),
                    minutes=rng.choice((0, 30)),
                )
                minutes = _choice(rng, [60, 90, 120], [70, 20, 10])
                first = (start - self.year_start) // CELL
                cells = range(first, first + minutes // 30)
                if any(c in busy for c in cells):
                    continue
                busy.update(cells)
                self.events.append(
                    self._event(
                        coach, rng.choice(own_sports), start, minutes, price, address, cells
                    )
                )
                made += 1
        rng.shuffle(self.events)

    def _event(
        self,
        coach: UUID,
        sport: UUID,
        start: datetime,
        minutes: int,
        price: int,
        address: UUID,
        cells: range,
    ) -> Event:
        rng = self.rng
        end = start + timedelta(minutes=minutes)
        capacity = _capacity(rng)
        public = _choice(rng, [True, False, None], [85, 10, 5])
        canceled = rng.random() < 0.02
        online = rng.random() < 0.15
        created = min(start - timedelta(days=rng.randint(7, 60)), self.now)
        event_id = self.uuid()
        row = (
            event_id,
            coach,
            sport,
            start,
            end,
            "Canceled" if canceled else "Scheduled",
            self.uuid(),
            start.strftime("%H:%M:%S+00:00"),
            end.strftime("%H:%M:%S+00:00"),
            capacity,
            "Online" if online else "Offline",
            18,
            rng.choice((45, 60, 65, 99)),
            minutes,
            price,
            "RUB",
            "Cash",
            None if online else address,
            public,
            _choice(rng, ["Any", "Beginner", "Medium", "Pro", None], [40, 20, 20, 10, 10]),
            _choice(rng, ["All", "Men", "Women", None], [70, 10, 10, 10]),
            created,
            created,
        )
        return Event(event_id, coach, sport, start, end, cells, capacity, public, canceled, row)

    # -- the bookings -------------------------------------------------------------------------

    def pick_pool(self) -> list[Event]:
        low, high = self.now + timedelta(days=1), self.now + timedelta(days=15)
        ahead = [e for e in self.events if low <= e.start < high and not e.canceled]
        return ahead[: self.sizes.pool_events]

    def make_bookings(self, pool: set[UUID]) -> tuple[list[UUID], list[UUID]]:
        rng, sizes = self.rng, self.sizes
        bookable = [e for e in self.events if e.id not in pool]
        seats = {e.id: e.capacity for e in bookable}
        by_coach: dict[UUID, list[Event]] = defaultdict(list)
        by_month: dict[int, list[Event]] = defaultdict(list)
        for e in bookable:
            by_coach[e.coach].append(e)
            by_month[self._month_index(e.start)].append(e)
        coaches = list(by_coach)
        coach_weights = [len(by_coach[c]) ** 1.2 for c in coaches]

        athletes = [self.uuid() for _ in range(sizes.athletes)]
        heavy = athletes[: sizes.heavy_athletes]
        months = sorted(by_month)
        heavy_total = len(heavy) * sizes.heavy_per_month * len(months)
        rest = max(0, sizes.bookings - heavy_total)
        targets = _spread(rest, _weights(rng, len(athletes) - len(heavy), 1.0))
        taken: dict[UUID, list[Event]] = {}
        for athlete in heavy:  # a few coaches they train with, the busiest more likely
            favourites = rng.choices(coaches, coach_weights, k=rng.randint(3, 6))
            busy: set[int] = set()
            chosen: list[Event] = []
            for m in months:
                fav = [
                    e for c in favourites for e in by_coach[c] if self._month_index(e.start) == m
                ]
                quota = sizes.heavy_per_month + rng.randint(-2, 2)
                chosen += self._take(quota, by_month[m], fav, seats, busy, loyalty=0.85)
            taken[athlete] = chosen
        for athlete, target in zip(athletes[len(heavy) :], targets, strict=True):
            favourites = rng.choices(coaches, coach_weights, k=rng.randint(1, 4))
            fav = [e for c in favourites for e in by_coach[c]]
            taken[athlete] = self._take(target, bookable, fav, seats, set())
        shortfall = sizes.bookings - sum(len(v) for v in taken.values())
        regulars = athletes[len(heavy) :]
        tries = shortfall * 4
        while shortfall > 0 and regulars and tries > 0:  # top up what full events refused
            tries -= 1
            athlete = rng.choice(regulars)
            busy = {c for e in taken[athlete] for c in e.cells}
            extra = self._take(min(shortfall, 5), bookable, [], seats, busy)
            taken[athlete] += extra
            shortfall -= len(extra)
        for athlete, events in taken.items():
            self._orders_of(athlete, sorted(events, key=lambda e: e.start))
        return heavy, regulars

    def _month_index(self, moment: datetime) -> int:
        return moment.year * 12 + moment.month - 1

    def _take(
        self,
        count: int,
        everything: list[Event],
        favourites: list[Event],
        seats: dict[UUID, int],
        busy: set[int],
        loyalty: float = 0.7,
    ) -> list[Event]:
        """Up to `count` events with a free seat that overlap nothing the athlete holds, from the
        favourite coaches' events with probability `loyalty`."""
        rng = self.rng
        chosen: list[Event] = []
        attempts = count * 30 + 50
        while len(chosen) < count and attempts > 0 and everything:
            attempts -= 1
            source = favourites if favourites and rng.random() < loyalty else everything
            event = source[rng.randrange(len(source))]
            if seats[event.id] <= 0 or any(c in busy for c in event.cells):
                continue
            seats[event.id] -= 1
            busy.update(event.cells)
            chosen.append(event)
        return chosen

    def _orders_of(self, athlete: UUID, events: list[Event]) -> None:
        rng, i = self.rng, 0
        while i < len(events):
            size = 2 if i + 1 < len(events) and rng.random() < 0.15 else 1
            group = events[i : i + size]
            i += size
            created = min(group[0].start - timedelta(hours=rng.randint(1, 24 * 14)), self.now)
            created = created.replace(microsecond=rng.randrange(1_000_000))
            order_id = self.uuid()
            self.orders.append((order_id, athlete, "Cash", None, "Cash", created))
            for event in group:
                self._booking(order_id, athlete, event, created)

    def _status(self, event: Event) -> tuple[str, bool, str | None]:
        """(status, completed, canceled by) for a booking of this event."""
        roll = self.rng.random()
        if event.canceled:
            return "Canceled", False, "Coach"
        if event.end > self.now:
            if roll < 0.08:
                return "Canceled", False, "Athlete"
            return ("Pending" if event.public is False else "Accepted"), False, None
        if roll < 0.08:
            return "Canceled", False, "Athlete"
        if roll < 0.10:
            return "Rejected", False, None
        if roll < 0.105:
            return "InDispute", True, None
        if roll < 0.12:
            return "DisputeDone", True, None
        return "Accepted", self.rng.random() < 0.9, None

    def _booking(self, order_id: UUID, athlete: UUID, event: Event, created: datetime) -> None:
        rng = self.rng
        status, completed, canceled_by = self._status(event)
        booking_id = self.uuid()
        canceled_at = reason = None
        if canceled_by:
            canceled_at = min(created + (event.start - created) * rng.random(), self.now)
            if canceled_by == "Athlete":
                reason = _choice(rng, ["NotFeelingWell", "NoTime", "Other"], [40, 40, 20])
        reason_text = "Something came up." if reason == "Other" else None
        ended = event.end <= self.now
        dismissed = None
        if status == "Canceled" and ended and rng.random() < 0.3:
            dismissed = canceled_at
        note = "Good session, work on the serve." if completed and rng.random() < 0.1 else None
        updated = canceled_at or (event.end if completed else created)
        self.bookings.append(
            (
                booking_id,
                athlete,
                event.coach,
                event.start,
                event.end,
                status,
                event.row[14],
                "RUB",
                completed,
                note,
                canceled_at,
                canceled_by,
                reason,
                reason_text,
                dismissed,
                "Late start." if status in ("InDispute", "DisputeDone") else None,
                "Refunded in cash." if status == "DisputeDone" else None,
                created,
                updated,
                event.id,
                order_id,
            )
        )
        first = "Pending" if event.public is False else "Accepted"
        self._history(booking_id, created, athlete, "Athlete", "Booked", None, first)
        if canceled_by:
            actor = athlete if canceled_by == "Athlete" else event.coach
            self._history(booking_id, canceled_at, actor, canceled_by, "Canceled", first, status)
        elif completed:
            self._history(booking_id, event.end, event.coach, "Coach", "Completed", status, status)
        self.notifications.append(
            (
                self.uuid(),
                booking_id,
                "bookingCreated",
                event.coach,
                "Coach",
                "Sent",
                1,
                created,
                None,
                None,
                created,
                created,
                None,
            )
        )

    def _history(
        self,
        booking_id: UUID,
        at: datetime | None,
        actor: UUID,
        role: str,
        action: str,
        source: str | None,
        target: str | None,
    ) -> None:
        self.history.append(
            (self.uuid(), booking_id, at, actor, role, action, source, target, None)
        )


def _month_window(now: datetime) -> tuple[datetime, datetime]:
    """The last full calendar month before now."""
    first_this = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month_end = first_this - timedelta(days=1)
    return last_month_end.replace(day=1, hour=0, minute=0, second=0, microsecond=0), first_this


def _week_window(now: datetime) -> tuple[datetime, datetime]:
    """Seven days around now: past, starting soon and bookable events."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    return start, start + timedelta(days=7)


def _week_views(
    gen: _Generator, week: tuple[datetime, datetime], heavy: set[UUID]
) -> list[tuple[UUID, UUID]]:
    """(coach, athlete) pairs: the week's busiest coaches, each with athletes who booked them
    (those holding a seat in the coach's week first), no athlete in more than two pairs and no
    heavy athlete (the month scenarios' users); the first pair holds such a seat."""
    start, end = week
    in_week = Counter(e.coach for e in gen.events if e.start < end and e.end > start)
    coaches = {c for c, _ in in_week.most_common(WEEK_COACHES)}
    athletes: dict[UUID, dict[UUID, bool]] = defaultdict(dict)
    for b in gen.bookings:  # (id, user, coach, start, end, status, ...)
        if b[2] in coaches and b[1] not in heavy:
            holds = b[3] < end and b[4] > start and b[5] in tables.SEAT_HOLDING
            athletes[b[2]][b[1]] = athletes[b[2]].get(b[1], False) or holds
    pairs, used = [], Counter[UUID]()
    for coach in sorted(coaches, key=lambda c: (-in_week[c], c)):
        ranked = sorted(athletes[coach].items(), key=lambda a: (not a[1], a[0]))
        chosen = [a for a, _ in ranked if used[a] < WEEK_PAIRS_PER_ATHLETE]
        used.update(chosen[:WEEK_ATHLETES_PER_COACH])
        pairs += [(coach, a) for a in chosen[:WEEK_ATHLETES_PER_COACH]]
    first = next((i for i, (c, a) in enumerate(pairs) if athletes[c][a]), 0)
    return pairs[first:] + pairs[:first]


def generate(sizes: Sizes, now: datetime, seed: int = 6) -> tuple[Dataset, _Generator]:
    gen = _Generator(sizes, now, seed)
    gen.make_events()
    pool = gen.pick_pool()
    heavy, regulars = gen.make_bookings({e.id for e in pool})
    # get_by_id reads regulars' bookings: the heavy athletes' request limits are the month
    # scenarios' (a faster get_by_id run must not leave them throttled).
    heavy_ids = set(heavy)
    of_regulars = [b for b in gen.bookings if b[1] not in heavy_ids]
    sample = gen.rng.sample(of_regulars, min(10_000, len(of_regulars)))
    past = next(e for e in gen.events if e.end < now and not e.canceled)
    upcoming: dict[UUID, int] = defaultdict(int)
    for b in gen.bookings:  # (id, user, coach, start, end, status, ...)
        if b[3] > now and b[5] in tables.SEAT_HOLDING:
            upcoming[b[1]] += 1
    roomy = [u for u in regulars if upcoming[u] <= POST_USER_MAX_UPCOMING]
    data = Dataset(
        now=now,
        sizes=sizes,
        month=_month_window(now),
        heavy=heavy,
        bookings=[(b[0], b[1]) for b in sample],
        pool=[(e.id, e.capacity) for e in pool],
        post_users=roomy,
        past_event=past.id,
        week=_week_window(now),
        week_views=_week_views(gen, _week_window(now), heavy_ids),
        counts={
            "coaches": sizes.coaches,
            "events": len(gen.events),
            "athletes": sizes.athletes,
            "orders": len(gen.orders),
            "bookings": len(gen.bookings),
            "booking_history": len(gen.history),
            "notifications": len(gen.notifications),
        },
    )
    return data, gen


async def load(dsn: str, data: Dataset, gen: _Generator) -> None:
    """COPY what `generate` made into a migrated database, then VACUUM ANALYZE it."""
    conn = await asyncpg.connect(dsn)
    try:
        copies = (
            ("event", tables.EVENT, [e.row for e in gen.events]),
            ("booking_order", tables.ORDER, gen.orders),
            ("booking", tables.BOOKING, gen.bookings),
            ("booking_history", tables.HISTORY, gen.history),
            ("notification", tables.NOTIFICATION, gen.notifications),
        )
        for table, columns, rows in copies:
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        await conn.execute(f"VACUUM ANALYZE {', '.join(t for t, _, _ in copies)}")
    finally:
        await conn.close()


def now_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
