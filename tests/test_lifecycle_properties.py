"""Property-based: random lifecycle sequences on random worlds, invariants after every step.

Each example builds a fresh world (2-3 coaches, 3-4 athletes, 2-5 events of capacity 1..3,
public, private or silent) and drives 10..25 random steps through the real transports: orders
(REST or GraphQL), accept / reject / cancel, disputes, completed (REST or GraphQL), event
cancellation, reschedules (issue 17), and the clock moving forward (every step also ticks it one
second). Each answer is compared with what SPEC_NOTES (and issue 17) predicts from the state
before the step; after every step the database and the REST views are read back and
`check_invariants` holds them to the booking rules and the state machine. The checker is a
plain function, tested on hand-made states too.
An explicit example (TOUR) runs first on each database and walks every move of the table.
Hypothesis runs derandomized and without shrinking (a failing example is printed as drawn, at
most 25 steps; add Phase.shrink locally to minimise one). `--hypothesis-show-statistics` shows
which answers the random steps reached.

`completed` after a dispute: SPEC_NOTES calls it "a flag on Accepted bookings after the end";
openDispute on a completed booking keeps the flag (InDispute/DisputeDone with completed: true).
The spec does not say whether a dispute should clear it, so invariant (5) is checked as "set and
unset only on Accepted bookings after the end; never on a booking without a session".
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import event as note_event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tortoise import connections

from leko_bookings.auth import Principal, Role
from leko_bookings.models import (
    Booking,
    BookingHistory,
    BookingStatus,
    Event,
    EventStatus,
    RankStale,
    WaitlistEntry,
)
from leko_bookings.resolvers import ranks
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.state_machine import MOVES, Party, When
from tests.conftest import NOW, TABLES
from tests.factories import book, create_event, gql

S = BookingStatus
BEFORE, AFTER_END, ANY_TIME = "before start", "after end", "any time"
MINUTES = 60
LEAD = timedelta(minutes=30)
TICK = timedelta(seconds=1)

# SPEC_NOTES "Changing", the state machine table, as the parties a caller can be.
SPEC_MOVES: dict[tuple[BookingStatus, BookingStatus], tuple[frozenset[str], str]] = {
    (S.Pending, S.Accepted): (frozenset({"coach", "admin"}), BEFORE),
    (S.Pending, S.Rejected): (frozenset({"coach", "admin"}), BEFORE),
    (S.Pending, S.Canceled): (frozenset({"athlete", "coach", "admin"}), BEFORE),
    (S.Accepted, S.Canceled): (frozenset({"athlete", "coach", "admin"}), BEFORE),
    (S.Accepted, S.InDispute): (frozenset({"athlete", "coach"}), AFTER_END),
    (S.InDispute, S.DisputeDone): (frozenset({"admin"}), ANY_TIME),
}
ALLOWED = set(SPEC_MOVES)
# SPEC_NOTES "Booking rules": the statuses that hold a seat.
SEATS = frozenset({S.Pending, S.Accepted, S.InDispute, S.DisputeDone})
# Accepted, or disputed after the end (a dispute does not clear the flag).
COMPLETABLE = frozenset({S.Accepted, S.InDispute, S.DisputeDone})


# --- The state as read back after a step, and the invariants it must satisfy ----------------


@dataclass(frozen=True)
class EventRow:
    id: uuid.UUID
    coach: uuid.UUID
    start: datetime
    end: datetime
    capacity: int
    public: bool | None
    canceled: bool = False


@dataclass(frozen=True)
class BookingRow:
    id: uuid.UUID
    event: uuid.UUID
    user: uuid.UUID
    coach: uuid.UUID
    status: BookingStatus
    completed: bool = False
    rescheduled_to: uuid.UUID | None = None
    rescheduled_from: uuid.UUID | None = None


@dataclass(frozen=True)
class HistoryRow:
    id: uuid.UUID
    booking: uuid.UUID
    at: datetime
    action: str
    source: BookingStatus | None
    target: BookingStatus | None
    actor_role: str = "System"
    detail: str | None = None


@dataclass(frozen=True)
class Shown:
    """A booking as the REST listing shows it."""

    status: str
    cardinality: int | None
    completed: bool


@dataclass
class Snapshot:
    now: datetime
    events: dict[uuid.UUID, EventRow] = field(default_factory=dict)
    bookings: dict[uuid.UUID, BookingRow] = field(default_factory=dict)
    history: dict[uuid.UUID, HistoryRow] = field(default_factory=dict)
    shown: dict[uuid.UUID, Shown] = field(default_factory=dict)
    # Each event's waiting athletes in waiting order, and their positions as `waitlist` shows them.
    waiting: dict[uuid.UUID, tuple[uuid.UUID, ...]] = field(default_factory=dict)
    positions: dict[uuid.UUID, tuple[int, ...]] = field(default_factory=dict)


def check_invariants(prev: Snapshot, cur: Snapshot) -> None:
    """Every invariant of one step, from the state before it (`prev`) to the state after."""
    _check_moves(prev, cur)
    _check_seats(cur)
    _check_shown(cur)
    _check_completed(prev, cur)
    _check_history(prev, cur)
    _check_reschedules(prev, cur)
    _check_waitlists(cur)


def _check_moves(prev: Snapshot, cur: Snapshot) -> None:
    """(1) Statuses change only along the state machine; a new booking starts as its slot says."""
    assert prev.bookings.keys() <= cur.bookings.keys(), "a booking vanished"
    for b in cur.bookings.values():
        before = prev.bookings.get(b.id)
        if before is None:
            initial = S.Pending if cur.events[b.event].public is False else S.Accepted
            assert b.status is initial, f"new booking {b.id} is {b.status}, expected {initial}"
            continue
        assert (before.event, before.user, before.coach) == (b.event, b.user, b.coach)
        if before.status is not b.status:
            move = (before.status, b.status)
            assert move in ALLOWED, f"illegal move {before.status} -> {b.status} of {b.id}"


def _check_seats(cur: Snapshot) -> None:
    """(2) Seats held never exceed the event's numberOfParticipants."""
    held: dict[uuid.UUID, int] = defaultdict(int)
    for b in cur.bookings.values():
        if b.status in SEATS:
            held[b.event] += 1
    for event_id, n in held.items():
        capacity = cur.events[event_id].capacity
        assert n <= capacity, f"event {event_id} holds {n} seats of {capacity}"


def _check_shown(cur: Snapshot) -> None:
    """(3) and (4): the REST view's status, and serviceCardinality: null without a seat, else
    1..n over the athlete's seat-holding bookings with that coach by (startAt, bookingId)."""
    assert cur.shown.keys() == cur.bookings.keys(), "the REST listings miss bookings"
    pairs: dict[tuple[uuid.UUID, uuid.UUID], list[BookingRow]] = defaultdict(list)
    for b in cur.bookings.values():
        shown = cur.shown[b.id]
        assert shown.status == b.status.value, f"{b.id} shown {shown.status}, stored {b.status}"
        assert shown.completed == b.completed, f"{b.id} shown completed {shown.completed}"
        if b.status in SEATS:
            pairs[(b.user, b.coach)].append(b)
        else:
            assert shown.cardinality is None, f"{b.status} booking {b.id} has a cardinality"
    for held in pairs.values():
        held.sort(key=lambda b: (cur.events[b.event].start, b.id))
        ranks = [cur.shown[b.id].cardinality for b in held]
        assert ranks == list(range(1, len(held) + 1)), f"serviceCardinality {ranks}"


def _check_completed(prev: Snapshot, cur: Snapshot) -> None:
    """(5) completed is set and unset only on Accepted bookings whose event has ended. A dispute
    opened afterwards keeps the flag (SPEC_NOTES is silent; see the module's docstring)."""
    for b in cur.bookings.values():
        if b.completed:
            assert b.status in COMPLETABLE, f"{b.status} booking {b.id} is completed"
            assert cur.now >= cur.events[b.event].end, f"{b.id} completed before its end"
        before = prev.bookings.get(b.id)
        if before is not None and before.completed != b.completed:
            assert S.Accepted is before.status is b.status, f"{b.id} completed changed off Accepted"


def _check_history(prev: Snapshot, cur: Snapshot) -> None:
    """(6) History is append-only; its status entries chain from Booked to the current status;
    its last completion entry says whether the booking is completed."""
    for row_id, row in prev.history.items():
        assert cur.history.get(row_id) == row, f"history entry {row_id} changed or vanished"
    rows: dict[uuid.UUID, list[HistoryRow]] = defaultdict(list)
    for row in cur.history.values():
        rows[row.booking].append(row)
    for b in cur.bookings.values():
        mine = sorted(rows[b.id], key=lambda r: (r.at, r.id))
        moves = [r for r in mine if r.target is not None]
        assert moves, f"booking {b.id} has no history"
        assert (moves[0].action, moves[0].source) == ("Booked", None), f"{b.id} starts {moves[0]}"
        for earlier, later in pairwise(moves):
            assert later.source is earlier.target, f"{b.id} history jumps: {earlier} / {later}"
            assert later.source is not later.target, f"{b.id} history records no move: {later}"
        assert moves[-1].target is b.status, f"{b.id} is {b.status}, history ends {moves[-1]}"
        completion = [r.action for r in mine if r.action in ("Completed", "CompletionUndone")]
        assert (completion[-1:] == ["Completed"]) == b.completed, f"{b.id}: {completion}"


def _check_reschedules(prev: Snapshot, cur: Snapshot) -> None:
    """(7) A rescheduled booking is Canceled and linked both ways with the booking that replaced
    it (the same athlete's); a link, once made, never changes."""
    for b in cur.bookings.values():
        if b.rescheduled_to is not None:
            assert b.status is S.Canceled, f"rescheduled booking {b.id} is {b.status}"
            new = cur.bookings.get(b.rescheduled_to)
            assert new is not None, f"{b.id} rescheduled to a booking that is not there"
            assert new.rescheduled_from == b.id, f"{b.id} -> {new.id} is linked one way"
            assert new.user == b.user, f"{b.id} rescheduled to another athlete's booking"
        if b.rescheduled_from is not None:
            old = cur.bookings.get(b.rescheduled_from)
            assert old is not None, f"{b.id} rescheduled from a booking that is not there"
            assert old.rescheduled_to == b.id, f"{old.id} -> {b.id} is linked one way"
        before = prev.bookings.get(b.id)
        if before is not None:
            for link in ("rescheduled_to", "rescheduled_from"):
                was = getattr(before, link)
                assert was is None or was == getattr(b, link), f"{b.id} {link} changed"


def _check_waitlists(cur: Snapshot) -> None:
    """(8) No waiting athlete holds a seat in the event they wait for, nor waits twice; the
    positions shown are 1..n without gaps, in waiting order."""
    for event_id, users in cur.waiting.items():
        assert len(set(users)) == len(users), f"someone waits twice for {event_id}"
        seated = {
            b.user for b in cur.bookings.values() if b.event == event_id and b.status in SEATS
        }
        assert not seated & set(users), f"{event_id}: waiting while holding a seat"
        assert cur.positions.get(event_id) == tuple(range(1, len(users) + 1)), event_id


# --- Hand-made states: the checker is not vacuous --------------------------------------------


def _ids(n: int) -> list[uuid.UUID]:
    return sorted(uuid.UUID(int=i + 1) for i in range(n))


def _sample_states() -> tuple[Snapshot, Snapshot]:
    """A valid step: athlete `u` holds two seats with coach `c`; a third booking is canceled."""
    u, v, c, e1, e2, b1, b2, b3, h1, h2, h3, h4 = _ids(12)
    start = NOW + timedelta(hours=2)
    events = {
        e1: EventRow(e1, c, start, start + timedelta(hours=1), 2, True),
        e2: EventRow(e2, c, start + timedelta(hours=3), start + timedelta(hours=4), 1, False),
    }
    booked = [
        HistoryRow(h1, b1, NOW, "Booked", None, S.Accepted),
        HistoryRow(h2, b2, NOW, "Booked", None, S.Pending),
        HistoryRow(h3, b3, NOW, "Booked", None, S.Accepted),
    ]
    prev = Snapshot(
        NOW,
        events,
        {
            b1: BookingRow(b1, e1, u, c, S.Accepted),
            b2: BookingRow(b2, e2, u, c, S.Pending),
            b3: BookingRow(b3, e1, v, c, S.Accepted),
        },
        {h.id: h for h in booked},
        {
            b1: Shown("Accepted", 1, False),
            b2: Shown("Pending", 2, False),
            b3: Shown("Accepted", 1, False),
        },
    )
    later = NOW + TICK
    cur = Snapshot(
        later,
        events,
        {**prev.bookings, b3: BookingRow(b3, e1, v, c, S.Canceled)},
        {**prev.history, h4: HistoryRow(h4, b3, later, "Canceled", S.Accepted, S.Canceled)},
        {**prev.shown, b3: Shown("Canceled", None, False)},
    )
    return prev, cur


def _first_booking(s: Snapshot) -> BookingRow:
    return s.bookings[min(s.bookings)]


def _illegal_move(s: Snapshot) -> None:
    b = _first_booking(s)
    s.bookings[b.id] = replace(b, status=S.Pending)  # Accepted -> Pending is no move of the table
    s.shown[b.id] = replace(s.shown[b.id], status="Pending")


def _over_capacity(s: Snapshot) -> None:
    e = min(s.events)
    s.events[e] = replace(s.events[e], capacity=0)


def _canceled_with_rank(s: Snapshot) -> None:
    b = max(s.bookings)
    s.shown[b] = replace(s.shown[b], cardinality=3)


def _ranks_out_of_order(s: Snapshot) -> None:
    b1, b2 = sorted(s.bookings)[:2]
    s.shown[b1], s.shown[b2] = (
        replace(s.shown[b1], cardinality=2),
        replace(s.shown[b2], cardinality=1),
    )


def _completed_before_end(s: Snapshot) -> None:
    b = _first_booking(s)
    s.bookings[b.id] = replace(b, completed=True)
    s.shown[b.id] = replace(s.shown[b.id], completed=True)


def _completed_when_canceled(s: Snapshot) -> None:
    b = s.bookings[max(s.bookings)]
    s.bookings[b.id] = replace(b, completed=True)
    s.shown[b.id] = replace(s.shown[b.id], completed=True)
    s.now = s.events[b.event].end


def _history_rewritten(s: Snapshot) -> None:
    h = min(s.history)
    s.history[h] = replace(s.history[h], detail="rewritten")


def _move_not_recorded(s: Snapshot) -> None:
    h = max(s.history, key=lambda k: s.history[k].at)
    del s.history[h]


def _rescheduled_but_live(s: Snapshot) -> None:
    """b1 (Accepted) said to be rescheduled to b2, linked both ways: b1 should be Canceled."""
    b1, b2 = sorted(s.bookings)[:2]
    s.bookings[b1] = replace(s.bookings[b1], rescheduled_to=b2)
    s.bookings[b2] = replace(s.bookings[b2], rescheduled_from=b1)


def _linked_one_way(s: Snapshot) -> None:
    """The canceled b3 says it was rescheduled to b1, which does not say so."""
    b3, b1 = max(s.bookings), min(s.bookings)
    s.bookings[b3] = replace(s.bookings[b3], rescheduled_to=b1)


def _waiting_with_a_seat(s: Snapshot) -> None:
    b = _first_booking(s)
    s.waiting[b.event], s.positions[b.event] = (b.user,), (1,)


def _positions_with_a_gap(s: Snapshot) -> None:
    b = _first_booking(s)
    s.waiting[b.event], s.positions[b.event] = (uuid.uuid4(), uuid.uuid4()), (1, 3)


@pytest.mark.parametrize(
    "corrupt",
    [
        _illegal_move,
        _over_capacity,
        _canceled_with_rank,
        _ranks_out_of_order,
        _completed_before_end,
        _completed_when_canceled,
        _history_rewritten,
        _move_not_recorded,
        _rescheduled_but_live,
        _linked_one_way,
        _waiting_with_a_seat,
        _positions_with_a_gap,
    ],
)
def test_checker_catches_violations(corrupt):
    prev, cur = _sample_states()
    check_invariants(prev, cur)  # the untouched state is valid
    broken = Snapshot(
        cur.now, dict(cur.events), dict(cur.bookings), dict(cur.history), dict(cur.shown), {}, {}
    )
    corrupt(broken)
    with pytest.raises(AssertionError):
        check_invariants(prev, broken)


def test_state_machine_table_is_the_spec():
    """MOVES (the code's table) allows exactly the spec's moves, to the spec's parties."""
    when = {When.before_start: BEFORE, When.after_end: AFTER_END, When.any_time: ANY_TIME}
    by_people = {}
    by_system = set()
    for m in MOVES:
        people = frozenset(p.value for p in m.by if p is not Party.system)
        if people:
            by_people[(m.source, m.target)] = (people, when[m.when])
        if Party.system in m.by:
            by_system.add((m.source, m.target, m.when))
    assert by_people == SPEC_MOVES
    assert by_system == {
        (S.Pending, S.Canceled, When.before_start),  # event canceled, coach erased
        (S.Pending, S.Canceled, When.from_start),  # still pending at its start
        (S.Accepted, S.Canceled, When.before_start),
    }


# --- Random worlds and steps ------------------------------------------------------------------


@dataclass(frozen=True)
class EventPlan:
    coach: int
    start: int  # minutes after NOW
    capacity: int
    public: bool | None


@dataclass(frozen=True)
class World:
    coaches: int
    athletes: int
    events: tuple[EventPlan, ...]


@dataclass(frozen=True)
class Order:
    who: int  # an athlete, or (8, 9) a coach of the world
    events: tuple[int, ...]
    rest: bool


@dataclass(frozen=True)
class Move:
    op: str  # accept, reject, dispute, resolve
    booking: int
    party: str
    text: str = "because"


@dataclass(frozen=True)
class Cancel:
    booking: int
    party: str
    reason: str
    text: str | None


@dataclass(frozen=True)
class Complete:
    booking: int
    party: str
    completed: bool
    rest: bool


@dataclass(frozen=True)
class CancelEvent:
    event: int
    caller: str


@dataclass(frozen=True)
class Reschedule:
    booking: int
    event: int  # the event to move to
    party: str


@dataclass(frozen=True)
class JoinWaitlist:
    who: int  # as Order's
    event: int  # negative: the event of a booking, from the newest


@dataclass(frozen=True)
class LeaveWaitlist:
    who: int
    event: int


@dataclass(frozen=True)
class Advance:
    event: int  # negative: the event of a booking, from the newest
    phase: str


ALL_PARTIES = ("athlete", "coach", "admin", "scheduler", "stranger")


def parties(*likely: str) -> st.SearchStrategy[str]:
    """Any caller, the ones who may do the step three times as likely as the others."""
    return st.sampled_from([*likely, *likely, *ALL_PARTIES])


REF = st.integers(-20, 20)  # a booking, see Run.pick
WAITED_FOR = 99  # a booking: one the step could move, in an event someone waits for
# Cancels and decisions also aim at seats someone waits for (promotions), a quarter of the time.
FREEING_REF = st.one_of(REF, REF, REF, st.just(WAITED_FOR))

worlds = st.builds(
    World,
    coaches=st.integers(2, 3),
    athletes=st.integers(3, 4),
    events=st.lists(
        st.builds(
            EventPlan,
            coach=st.integers(0, 2),
            start=st.sampled_from([180, 210, 300, 360, 480]),
            capacity=st.integers(1, 3),
            public=st.sampled_from([True, False, None]),
        ),
        min_size=2,
        max_size=5,
    ).map(tuple),
)
orders = st.builds(
    Order,
    who=st.integers(0, 9),
    events=st.lists(st.integers(0, 4), min_size=1, max_size=2, unique=True).map(tuple),
    rest=st.booleans(),
)
decisions = st.builds(
    Move,
    op=st.sampled_from(["accept", "reject"]),
    booking=FREEING_REF,
    party=parties("coach", "admin"),
)
cancels = st.builds(
    Cancel,
    booking=FREEING_REF,
    party=parties("athlete", "coach", "admin"),
    reason=st.sampled_from(["NoTime", "NotFeelingWell", "Other"]),
    text=st.sampled_from([None, "  ", "sick"]),
)
disputes = st.builds(
    Move,
    op=st.just("dispute"),
    booking=REF,
    party=parties("athlete", "coach"),
    text=st.sampled_from(["because", "because", ""]),
)
resolutions = st.builds(
    Move,
    op=st.just("resolve"),
    booking=REF,
    party=parties("admin"),
    text=st.sampled_from(["ok", ""]),
)
completions = st.builds(
    Complete,
    booking=REF,
    party=parties("coach", "admin"),
    completed=st.booleans(),
    rest=st.booleans(),
)
reschedules = st.builds(
    Reschedule, booking=REF, event=st.integers(0, 4), party=parties("athlete", "admin")
)
# A negative event: that of a recent booking (likely full, and likely to free a seat next).
joins = st.builds(JoinWaitlist, who=st.integers(0, 9), event=st.integers(-4, 4))
leaves = st.builds(LeaveWaitlist, who=st.integers(0, 9), event=st.integers(0, 4))
event_cancels = st.builds(
    CancelEvent, event=st.integers(0, 4), caller=st.sampled_from(["admin", "scheduler", "athlete"])
)
advances = st.builds(
    Advance, event=st.integers(-4, 4), phase=st.sampled_from(["lead", "close", "during", "after"])
)
# Weighted: orders feed every other step; time and event cancellation end them.
KINDS = (
    *[orders] * 5,
    *[decisions] * 2,
    *[cancels] * 2,
    *[disputes] * 2,
    *[resolutions] * 2,
    *[completions] * 2,
    *[reschedules] * 2,
    *[joins] * 3,
    leaves,
    event_cancels,
    *[advances] * 3,
)
steps = st.sampled_from(KINDS).flatmap(lambda kind: kind)
# A few orders first, so that most steps have bookings to work on.
plans = st.builds(
    lambda first, then: first + then,
    st.lists(orders, min_size=2, max_size=5),
    st.lists(steps, min_size=8, max_size=20),
)

BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: Cash}) {
    __typename
    ... on BookingOrder { status bookings { bookingStatus serviceCardinality } }
    ... on BookingRefused { errors { eventId bookingError } }
    ... on Error { code message }
  }
}
"""
SHAPE = "bookingStatus serviceCardinality completed"
WAITLIST = "query($id: UUID!) { waitlist(eventId: $id) { nodes { userId position } } }"


def _mutation(field: str, params: str, args: str, shape: str = SHAPE) -> str:
    """One mutation answering `r`: its typename, the booking's shape, or the error's message."""
    on = f"... on Booking {{ {shape} }}" if shape else ""
    answer = f"__typename {on} ... on Error {{ message }}"
    return f"mutation({params}) {{ r: {field}({args}) {{ {answer} }} }}"


ID = "$id: UUID!"
MUTATIONS = {
    "accept": _mutation("acceptBooking", ID, "bookingId: $id"),
    "reject": _mutation("rejectBooking", ID, "bookingId: $id"),
    "dispute": _mutation("openDispute", f"{ID}, $text: String!", "bookingId: $id, reason: $text"),
    "resolve": _mutation(
        "resolveDispute", f"{ID}, $text: String!", "bookingId: $id, resolution: $text"
    ),
    "cancel": _mutation(
        "cancelBooking",
        f"{ID}, $code: CancellationReasonCode!, $text: String",
        "bookingId: $id, reasonCode: $code, reasonText: $text",
    ),
    "complete": _mutation(
        "markBookingAsCompleted", f"{ID}, $done: Boolean!", "bookingId: $id, completed: $done"
    ),
    "cancelEvent": _mutation("cancelEvent", ID, "eventId: $id", shape=""),
    "join": (
        "mutation($id: UUID!) { r: joinWaitlist(eventId: $id) { __typename "
        "... on WaitlistEntry { position } ... on Error { message } } }"
    ),
    "leave": (
        "mutation($id: UUID!) { r: leaveWaitlist(eventId: $id) { __typename "
        "... on WaitlistLeft { wasWaiting } ... on Error { message } } }"
    ),
    "reschedule": (
        "mutation($id: UUID!, $event: UUID!) { r: rescheduleBooking(bookingId: $id, "
        "eventId: $event) { __typename ... on BookingRescheduled { "
        "booking { bookingId bookingStatus rescheduledFrom } "
        "previousBooking { bookingStatus cancellationReasonText rescheduledTo } } "
        "... on BookingRefused { errors { eventId bookingError } } ... on Error { message } } }"
    ),
}
TARGET = {
    "accept": S.Accepted,
    "reject": S.Rejected,
    "dispute": S.InDispute,
    "resolve": S.DisputeDone,
}
OP_PARTIES = {
    "accept": {"coach", "admin"},
    "reject": {"coach", "admin"},
    "cancel": {"athlete", "coach", "admin"},
    "dispute": {"athlete", "coach"},
    "resolve": {"admin"},
}
SOURCES: dict[object, set[BookingStatus]] = {
    "accept": {S.Pending},
    "reject": {S.Pending},
    "dispute": {S.Accepted},
    "resolve": {S.InDispute},
    Cancel: {S.Pending, S.Accepted},
    Complete: {S.Accepted},
    Reschedule: {S.Pending, S.Accepted},
}
STATUS_CODE = {"Booking": 200, "ValidationError": 400, "ForbiddenError": 403, "NotFoundError": 404}


def _holds(when: str, event: EventRow, now: datetime) -> bool:
    if when == BEFORE:
        return now < event.start
    if when == AFTER_END:
        return now >= event.end
    return True


def predict_move(
    before: Snapshot, b: BookingRow, party: str, target: BookingStatus, op: str
) -> str:
    """The answer the spec gives: who cannot see the booking learns nothing; who sees it but may
    not do this is forbidden; a move the table does not allow now is a validation error."""
    if party == "stranger":
        return "NotFoundError"
    if party not in OP_PARTIES[op]:
        return "ForbiddenError"
    rule = SPEC_MOVES.get((b.status, target))
    if (
        rule is None
        or party not in rule[0]
        or not _holds(rule[1], before.events[b.event], before.now)
    ):
        return "ValidationError"
    return "Booking"


def predict_completed(before: Snapshot, b: BookingRow, party: str) -> str:
    if party == "stranger":
        return "NotFoundError"
    if party not in ("coach", "admin"):
        return "ForbiddenError"
    if b.status is not S.Accepted or before.now < before.events[b.event].end:
        return "ValidationError"
    return "Booking"


def predict_order(
    before: Snapshot, user: uuid.UUID, events: list[uuid.UUID]
) -> list[dict[str, str]] | None:
    """None when a requested event is canceled (a validation error), else the refusals (SPEC_NOTES
    "Booking rules": the first failing rule per event); no refusal means the order is booked."""
    requested = [before.events[e] for e in events]
    if any(e.canceled for e in requested):
        return None
    busy = [
        (before.events[b.event].start, before.events[b.event].end)
        for b in before.bookings.values()
        if b.user == user and b.status in SEATS
    ]
    busy += [(e.start, e.end) for e in before.events.values() if e.coach == user and not e.canceled]
    held: dict[uuid.UUID, int] = defaultdict(int)
    for b in before.bookings.values():
        if b.status in SEATS:
            held[b.event] += 1
    refusals = []
    for event in requested:
        others = [(o.start, o.end) for o in requested if o.id != event.id] + busy
        if event.start <= before.now:
            error = "pastEventBookAttempt"
        elif event.start < before.now + LEAD:
            error = "tooCloseToEventStart"
        elif event.coach == user:
            error = "selfBookAttempt"
        elif any(event.start < end and start < event.end for start, end in others):
            error = "conflictingUserSchedules"
        elif held[event.id] + 1 > event.capacity:
            error = "overbooked"
        else:
            continue
        refusals.append({"eventId": str(event.id), "bookingError": error})
    return refusals


def predict_reschedule(
    before: Snapshot, b: BookingRow, party: str, target: uuid.UUID
) -> tuple[str, list[dict[str, str]] | None]:
    """The answer issue 17 gives (and the refusals): the athlete or an admin moves a Pending or
    Accepted booking before its event starts to another scheduled event, every booking rule
    applying to it with the booking being moved left out."""
    if party == "stranger":
        return "NotFoundError", None
    if party not in ("athlete", "admin"):
        return "ForbiddenError", None
    event, new = before.events[b.event], before.events[target]
    if (
        b.status not in (S.Pending, S.Accepted)
        or before.now >= event.start
        or target == b.event
        or new.canceled
    ):
        return "ValidationError", None
    others = {k: v for k, v in before.bookings.items() if k != b.id}
    refusals = predict_order(replace(before, bookings=others), b.user, [target])
    return ("BookingRefused", refusals) if refusals else ("BookingRescheduled", None)


def predict_join(before: Snapshot, user: uuid.UUID, event_id: uuid.UUID) -> str:
    """Issue 17: a waiting athlete keeps their place; else only for a Scheduled, full event the
    user could otherwise book (and holds no seat in)."""
    if user in before.waiting.get(event_id, ()):
        return "WaitlistEntry"
    if before.events[event_id].canceled or any(
        b.user == user and b.event == event_id and b.status in SEATS
        for b in before.bookings.values()
    ):
        return "ValidationError"
    refusals = predict_order(before, user, [event_id])
    if not refusals or refusals[0]["bookingError"] != "overbooked":
        return "ValidationError"  # seats left, or another rule refuses
    return "WaitlistEntry"


def promoted(state: Snapshot, event_id: uuid.UUID) -> list[BookingRow]:
    """Issue 17: the bookings a freed seat in this event makes, in `state` (the step's result):
    the earliest waiting athletes whom every booking rule lets book it, until the seats are
    taken; none once the event has started or is canceled."""
    event = state.events[event_id]
    if event.canceled or state.now >= event.start:
        return []
    made: list[BookingRow] = []
    for user in state.waiting.get(event_id, ()):
        bookings = {**state.bookings, **{b.id: b for b in made}}
        seats = sum(1 for b in bookings.values() if b.event == event_id and b.status in SEATS)
        if seats >= event.capacity:
            break
        if predict_order(replace(state, bookings=bookings), user, [event_id]) == []:
            status = S.Pending if event.public is False else S.Accepted
            made.append(BookingRow(uuid.uuid4(), event_id, user, event.coach, status))
    return made


# --- Driving one example ----------------------------------------------------------------------


class Run:
    """One example: its world, the callers' headers, the expectations of the current step."""

    def __init__(self, client: Any, users: Any, clock: Any, world: World) -> None:
        self.client, self.clock, self.world = client, clock, world
        self.coaches = [uuid.uuid4() for _ in range(world.coaches)]
        self.athletes = [uuid.uuid4() for _ in range(world.athletes)]
        people = self.athletes + self.coaches
        self.headers = {u: users.headers(u, "athlete", "coach") for u in people}
        self.admin = users.headers(uuid.uuid4(), "admin")
        self.scheduler = users.headers(uuid.uuid4(), "scheduler")
        self.stranger = users.headers(uuid.uuid4(), "athlete", "coach")
        self.event_ids: list[uuid.UUID] = []
        self.bookings: list[uuid.UUID] = []  # in creation order
        self.expected: dict[uuid.UUID, BookingRow] = {}
        self.new_events: list[uuid.UUID] = []
        self.orderer: uuid.UUID | None = None
        self.canceled_event: uuid.UUID | None = None
        self.read_back: dict[str, Any] | None = None
        self.waiting: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}  # expected after the step
        self.promoted: list[BookingRow] = []

    async def setup(self, settings: Any, dialect: str) -> Snapshot:
        self.operator = Context(Principal(uuid.uuid4(), frozenset({Role.scheduler})), NOW, settings)
        conn = connections.get("default")
        if dialect == "postgres":
            await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        else:
            for table in TABLES:
                await conn.execute_script(f'DELETE FROM "{table}"')
        self.clock.now = NOW
        for plan in self.world.events:
            event = await create_event(
                settings,
                NOW,
                coach=self.coaches[plan.coach % len(self.coaches)],
                start=NOW + timedelta(minutes=plan.start),
                minutes=MINUTES,
                capacity=plan.capacity,
                public=plan.public,
            )
            self.event_ids.append(event)
        return await self.snapshot()

    def caller(self, b: BookingRow, party: str) -> dict[str, str]:
        named = {"admin": self.admin, "scheduler": self.scheduler, "stranger": self.stranger}
        if party in named:
            return named[party]
        return self.headers[b.user if party == "athlete" else b.coach]

    async def snapshot(self, prev: Snapshot | None = None) -> Snapshot:
        """The database's rows of this world, and the bookings as REST lists them to an admin
        (read again only when the rows changed: the listing is a function of them)."""
        cur = Snapshot(self.clock.now)
        for e in await Event.filter(id__in=self.event_ids):
            canceled = e.status is EventStatus.Canceled
            row = EventRow(e.id, e.coach_id, e.start_at, e.end_at, e.capacity, e.public, canceled)
            cur.events[e.id] = row
        for b in await Booking.filter(event_id__in=self.event_ids):
            cur.bookings[b.id] = BookingRow(
                b.id,
                b.event_id,
                b.user_id,
                b.coach_id,
                b.status,
                b.completed,
                b.rescheduled_to,
                b.rescheduled_from,
            )
        for h in await BookingHistory.filter(booking_id__in=list(cur.bookings)):
            cur.history[h.id] = HistoryRow(
                h.id,
                h.booking_id,
                h.at,
                h.action,
                h.from_status,
                h.to_status,
                h.actor_role,
                h.detail,
            )
        entries = WaitlistEntry.filter(event_id__in=self.event_ids).order_by("created_at", "id")
        for w in await entries:
            cur.waiting[w.event_id] = (*cur.waiting.get(w.event_id, ()), w.user_id)
        for event_id in cur.waiting:
            data = await gql(self.client, self.admin, WAITLIST, id=str(event_id))
            nodes = data["data"]["waitlist"]["nodes"]
            assert [uuid.UUID(n["userId"]) for n in nodes] == list(cur.waiting[event_id])
            cur.positions[event_id] = tuple(n["position"] for n in nodes)
        if prev is not None and prev.bookings == cur.bookings:
            cur.shown = prev.shown
            return cur
        for event_id in dict.fromkeys(b.event for b in cur.bookings.values()):
            params = {"eventId": str(event_id)}
            r = await self.client.get("/v1/bookings", params=params, headers=self.admin)
            assert r.status_code == 200, r.text
            for item in r.json():
                shown = Shown(
                    item["bookingStatus"], item.get("serviceCardinality"), item["completed"]
                )
                cur.shown[uuid.UUID(item["bookingId"])] = shown
        await self.check_calendars(cur)
        return cur

    async def calendars(self) -> dict[uuid.UUID, int | None]:
        """serviceCardinality in each athlete's calendar (REST, `userId`), by booking."""
        found: dict[uuid.UUID, int | None] = {}
        for athlete in self.athletes:
            params = {"userId": str(athlete)}
            r = await self.client.get("/v1/bookings", params=params, headers=self.admin)
            assert r.status_code == 200, r.text
            found |= {uuid.UUID(i["bookingId"]): i.get("serviceCardinality") for i in r.json()}
        return found

    async def check_calendars(self, cur: Snapshot) -> None:
        """The calendars rank as the event listings (which count every rank) do: first with the
        ranks stored by the last settling and those changed since counted, then all settled
        (stored ranks: resolvers/ranks.py)."""
        counted = {b: shown.cardinality for b, shown in cur.shown.items()}
        stale = await RankStale.all().count()
        for settled in (False, True):
            if settled:
                done = await ranks.settle(self.operator)
                assert done.busy == 0
                note_event(f"settled {done.groups} stale athlete-coach pairs")
            calendars = await self.calendars()
            assert calendars == {b: counted[b] for b in calendars}, f"settled={settled}"
        assert stale == 0 or not await RankStale.all().exists()

    def pick(
        self, before: Snapshot, step: Move | Cancel | Complete | Reschedule
    ) -> BookingRow | None:
        """The n-th booking from the newest (the recent ones are the likeliest to be live); a
        negative n counts among those the step could move, if any (to reach deeper states)."""
        rows = [before.bookings[b] for b in reversed(self.bookings)]
        if step.booking == WAITED_FOR:
            sources = SOURCES[getattr(step, "op", type(step))]
            waited = [b for b in rows if b.status in sources and before.waiting.get(b.event)]
            return waited[0] if waited else None
        if step.booking < 0:
            movable = [b for b in rows if b.status in SOURCES[getattr(step, "op", type(step))]]
            rows = movable or rows
        return rows[abs(step.booking) % len(rows)] if rows else None

    async def step(self, step: Any, before: Snapshot) -> None:
        """Perform one step, asserting its answer; leave in `self.expected` the bookings it
        should leave behind (statuses, completed) and in `self.new_events` the ones it books."""
        self.expected = dict(before.bookings)
        self.new_events = []
        self.canceled_event = None
        self.read_back = None
        self.waiting = dict(before.waiting)
        self.promoted = []
        if isinstance(step, Order):
            await self.order(step, before)
        elif isinstance(step, Move | Cancel | Complete):
            b = self.pick(before, step)
            if b is not None:
                await self.change(step, b, before)
        elif isinstance(step, Reschedule):
            b = self.pick(before, step)
            if b is not None:
                await self.reschedule(step, b, before)
        elif isinstance(step, CancelEvent):
            await self.cancel_event(step, before)
        elif isinstance(step, JoinWaitlist | LeaveWaitlist):
            await self.wait(step, before)
        else:
            ids = self.event_ids
            if step.event < 0 and self.bookings:
                ids = [before.bookings[b].event for b in reversed(self.bookings)]
            event = before.events[ids[abs(step.event) % len(ids)]]
            at = {
                "lead": event.start - timedelta(minutes=45),
                "close": event.start - timedelta(minutes=10),
                "during": event.start + timedelta(minutes=MINUTES // 2),
                "after": event.end + timedelta(minutes=5),
            }[step.phase]
            self.clock.now = max(self.clock.now, at)

    async def order(self, step: Order, before: Snapshot) -> None:
        people = self.athletes if step.who < 8 else self.coaches
        user = people[step.who % len(people)]
        events = list(dict.fromkeys(self.event_ids[i % len(self.event_ids)] for i in step.events))
        refusals = predict_order(before, user, events)
        outcome = "booked" if refusals == [] else "an event canceled" if refusals is None else ""
        note_event(f"Order: {outcome or sorted({r['bookingError'] for r in refusals or []})}")
        status = "Pending" if any(before.events[e].public is False for e in events) else "Confirmed"
        if step.rest:
            r = await book(self.client, self.headers[user], user, *events)
            body = r.json()
            if refusals == []:
                assert (r.status_code, body.get("status")) == (201, status), r.text
            else:
                assert (r.status_code, body.get("code")) == (400, "validation"), r.text
                if refusals is not None:
                    assert body["errors"] == refusals
        else:
            ids = [str(e) for e in events]
            data = await gql(self.client, self.headers[user], BOOK, userId=str(user), eventIds=ids)
            answer = data["data"]["bookEvents"]
            if refusals == []:
                assert (answer["__typename"], answer.get("status")) == ("BookingOrder", status), (
                    answer
                )
            elif refusals is None:
                assert answer["__typename"] == "ValidationError", answer
            else:
                assert answer["__typename"] == "BookingRefused", answer
                assert answer["errors"] == refusals
        if refusals == []:
            self.new_events, self.orderer = events, user
            self.stop_waiting(user, events)

    def stop_waiting(self, user: uuid.UUID, events: list[uuid.UUID]) -> None:
        """Booking an event ends the user's wait for it."""
        for event_id in events:
            rest = tuple(u for u in self.waiting.get(event_id, ()) if u != user)
            self.waiting[event_id] = rest
            if not rest:
                self.waiting.pop(event_id)

    def seat_freed(self, before: Snapshot, event_id: uuid.UUID) -> None:
        """The step freed a seat in the event: its waitlist's promotions expected."""
        made = {b.id: b for b in self.promoted}
        for event in self.new_events:  # a reschedule's new booking holds its seat too
            row = BookingRow(
                uuid.uuid4(), event, self.orderer, before.events[event].coach, S.Accepted
            )
            made[row.id] = row
        state = replace(before, bookings={**self.expected, **made}, waiting=self.waiting)
        waiting, made_now = len(self.waiting.get(event_id, ())), promoted(state, event_id)
        for b in made_now:
            self.promoted.append(b)
            self.stop_waiting(b.user, [event_id])
        note_event(f"Seat freed with {min(waiting, 2)}+ waiting: {len(made_now)} promoted")

    async def wait(self, step: JoinWaitlist | LeaveWaitlist, before: Snapshot) -> None:
        people = self.athletes if step.who < 8 else self.coaches
        user = people[step.who % len(people)]
        ids = self.event_ids
        if step.event < 0 and self.bookings:
            ids = [before.bookings[b].event for b in reversed(self.bookings)]
        event_id = ids[abs(step.event) % len(ids)]
        waiting = before.waiting.get(event_id, ())
        if isinstance(step, JoinWaitlist):
            expected = predict_join(before, user, event_id)
            if expected == "WaitlistEntry" and user not in waiting:
                self.waiting[event_id] = (*waiting, user)
            answer = await self.mutate(self.headers[user], "join", id=str(event_id))
            if expected == "WaitlistEntry":
                assert answer["position"] == self.waiting[event_id].index(user) + 1, answer
        else:
            expected = "WaitlistLeft"
            answer = await self.mutate(self.headers[user], "leave", id=str(event_id))
            assert answer["wasWaiting"] == (user in waiting), answer
            self.stop_waiting(user, [event_id])
        note_event(f"{type(step).__name__}: {expected}")
        assert answer["__typename"] == expected, (answer, before.now)

    async def change(self, step: Move | Cancel | Complete, b: BookingRow, before: Snapshot) -> None:
        """One booking's step: the answer the spec predicts, then the booking read back by id."""
        headers = self.caller(b, step.party)
        if isinstance(step, Complete):
            expected = predict_completed(before, b, step.party)
            if expected == "Booking":
                self.expected[b.id] = replace(b, completed=step.completed)
            if step.rest:
                answer = await self.patch_completed(headers, b.id, step.completed)
            else:
                answer = await self.mutate(headers, "complete", id=str(b.id), done=step.completed)
        elif isinstance(step, Cancel):
            if step.reason == "Other" and not (step.text or "").strip():
                expected = "ValidationError"  # reasonText is required for Other, checked first
            else:
                expected = predict_move(before, b, step.party, S.Canceled, "cancel")
            if expected == "Booking":
                self.expected[b.id] = replace(b, status=S.Canceled)
                self.seat_freed(before, b.event)
            variables = {"code": step.reason, "text": step.text}
            answer = await self.mutate(headers, "cancel", id=str(b.id), **variables)
        else:
            target = TARGET[step.op]
            if step.op in ("dispute", "resolve") and not step.text:
                expected = "ValidationError"  # the text is required, checked first
            else:
                expected = predict_move(before, b, step.party, target, step.op)
            if expected == "Booking":
                self.expected[b.id] = replace(b, status=target)
                if target not in SEATS:
                    self.seat_freed(before, b.event)
            variables = {"text": step.text} if step.op in ("dispute", "resolve") else {}
            answer = await self.mutate(headers, step.op, id=str(b.id), **variables)
        note_event(f"{type(step).__name__} {getattr(step, 'op', '')} from {b.status}: {expected}")
        assert answer["__typename"] == expected, (answer, b, before.now)
        row = self.expected[b.id]
        if expected == "Booking":
            assert answer["bookingStatus"] == row.status.value
            assert answer["completed"] == row.completed
            if row.status not in SEATS:
                assert answer["serviceCardinality"] is None
        r = await self.client.get(f"/v1/bookings/{b.id}", headers=self.admin)
        assert r.status_code == 200, r.text
        self.read_back = r.json()

    async def reschedule(self, step: Reschedule, b: BookingRow, before: Snapshot) -> None:
        """A reschedule: the answer predicted; if it moves, the old booking Canceled and linked
        to the new one, booked for the same athlete in the target event."""
        target = self.event_ids[step.event % len(self.event_ids)]
        expected, refusals = predict_reschedule(before, b, step.party, target)
        note_event(f"Reschedule from {b.status}: {expected}")
        answer = await self.mutate(
            self.caller(b, step.party), "reschedule", id=str(b.id), event=str(target)
        )
        assert answer["__typename"] == expected, (answer, b, target, before.now)
        if expected == "BookingRefused":
            assert answer["errors"] == refusals
        if expected == "BookingRescheduled":
            new, old = answer["booking"], answer["previousBooking"]
            initial = S.Pending if before.events[target].public is False else S.Accepted
            assert new["bookingStatus"] == initial.value
            assert new["rescheduledFrom"] == str(b.id)
            assert old["rescheduledTo"] == new["bookingId"]
            assert (old["bookingStatus"], old["cancellationReasonText"]) == (
                "Canceled",
                "Rescheduled",
            )
            linked = replace(b, status=S.Canceled, rescheduled_to=uuid.UUID(new["bookingId"]))
            self.expected[b.id] = linked
            self.new_events, self.orderer = [target], b.user
            self.stop_waiting(b.user, [target])
            self.seat_freed(before, b.event)

    async def patch_completed(
        self, headers: dict[str, str], booking_id: uuid.UUID, completed: bool
    ) -> dict[str, Any]:
        """PATCH …/completed, its answer shaped as the GraphQL one."""
        body = {"completed": completed}
        r = await self.client.patch(
            f"/v1/bookings/{booking_id}/completed", json=body, headers=headers
        )
        kind = {v: k for k, v in STATUS_CODE.items()}.get(r.status_code, str(r.status_code))
        return {**r.json(), "__typename": kind} if kind == "Booking" else {"__typename": kind}

    async def mutate(self, headers: dict[str, str], op: str, **variables: Any) -> dict[str, Any]:
        data = await gql(self.client, headers, MUTATIONS[op], **variables)
        assert "errors" not in data, data
        return data["data"]["r"]

    async def cancel_event(self, step: CancelEvent, before: Snapshot) -> None:
        event = before.events[self.event_ids[step.event % len(self.event_ids)]]
        headers = {"admin": self.admin, "scheduler": self.scheduler}.get(step.caller, self.stranger)
        if step.caller == "athlete":
            expected = "ForbiddenError"
        elif event.canceled:
            expected = "Event"  # canceling a canceled event changes nothing
        elif before.now >= event.start:
            expected = "ValidationError"
        else:
            expected = "Event"
            self.canceled_event = event.id
            for b in before.bookings.values():
                if b.event == event.id and b.status in (S.Pending, S.Accepted):
                    self.expected[b.id] = replace(b, status=S.Canceled)
        note_event(f"CancelEvent: {expected}")
        answer = await self.mutate(headers, "cancelEvent", id=str(event.id))
        assert answer["__typename"] == expected, answer

    def check_expected(self, before: Snapshot, cur: Snapshot) -> None:
        """The step did what it answered, and nothing else."""
        for booking_id, want in self.expected.items():
            got = cur.bookings[booking_id]
            expired = (
                want.status is S.Pending
                and got.status is S.Canceled
                and cur.now >= cur.events[got.event].start
            )
            if not expired:  # a Pending booking at its start may be canceled by the System
                assert (got.status, got.completed) == (want.status, want.completed), (got, want)
                assert got.rescheduled_to == want.rescheduled_to, (got, want)
        new = [b for b in cur.bookings.values() if b.id not in before.bookings]
        from_waitlists = {(b.event, b.user) for b in self.promoted}
        ordered = [b for b in new if (b.event, b.user) not in from_waitlists]
        assert sorted(b.event for b in ordered) == sorted(self.new_events)
        assert all(b.user == self.orderer for b in ordered), new
        assert {(b.event, b.user) for b in new} - {(b.event, b.user) for b in ordered} == (
            from_waitlists
        ), (new, self.promoted)
        assert cur.waiting == self.waiting, (cur.waiting, self.waiting)
        order = {e: i for i, e in enumerate(self.new_events)}
        self.bookings += [b.id for b in sorted(ordered, key=lambda b: order[b.event])]
        self.bookings += [b.id for b in new if (b.event, b.user) in from_waitlists]
        if self.read_back is not None:  # GET /bookings/{id} agrees with the listings
            got = self.read_back
            shown = Shown(got["bookingStatus"], got.get("serviceCardinality"), got["completed"])
            assert shown == cur.shown[uuid.UUID(got["bookingId"])], got
        for event_id, event in cur.events.items():
            assert event.canceled == (
                before.events[event_id].canceled or event_id == self.canceled_event
            )


# Always run first: every move of the table, a completed session disputed and resolved, the
# capacity limit, a canceled booking before a live one in the ranks, an event cancellation
# cascading, refusals for time. Bookings by creation: B0 (athlete 0, event 0), B1 (athlete 0,
# event 1), B2 (athlete 1, event 0), B3, B4; a step's booking n counts from the newest.
TOUR = (
    World(
        coaches=2,
        athletes=3,
        events=(
            EventPlan(0, 180, 2, False),
            EventPlan(1, 300, 1, True),
            EventPlan(0, 480, 3, None),
            EventPlan(1, 600, 2, True),
            EventPlan(0, 720, 1, False),
        ),
    ),
    [
        Order(who=0, events=(0, 1), rest=True),  # B0 Pending, B1 Accepted
        Order(who=1, events=(0,), rest=False),  # B2 Pending
        Order(who=1, events=(1,), rest=True),  # overbooked
        Order(who=8, events=(0,), rest=False),  # the coach's own event
        Move("accept", booking=0, party="coach"),  # B2 Accepted
        Move("reject", booking=2, party="admin"),  # B0 Rejected
        Order(who=2, events=(0,), rest=True),  # B3 Pending
        Cancel(booking=0, party="athlete", reason="Other", text="sick"),  # B3 Canceled
        Move("accept", booking=0, party="admin"),  # B3 is Canceled: refused
        Order(who=2, events=(2,), rest=False),  # B4 Accepted, rank 1 despite B3 before it
        Complete(booking=2, party="coach", completed=True, rest=False),  # B2 not ended yet
        Advance(event=0, phase="after"),
        Complete(booking=2, party="coach", completed=True, rest=True),  # B2 completed
        Complete(booking=2, party="athlete", completed=False, rest=True),  # coach or admin only
        Move("dispute", booking=2, party="athlete"),  # B2 InDispute, still completed
        Move("resolve", booking=2, party="coach", text="ok"),  # admin only
        Move("resolve", booking=2, party="admin", text="ok"),  # B2 DisputeDone
        Cancel(booking=3, party="coach", reason="NoTime", text=None),  # B1 Canceled
        CancelEvent(event=2, caller="scheduler"),  # B4 Canceled by the cascade
        Advance(event=1, phase="during"),
        Order(who=0, events=(1,), rest=True),  # pastEventBookAttempt
        CancelEvent(event=1, caller="admin"),  # started: refused
        Order(who=0, events=(3,), rest=False),  # B5 Accepted
        Reschedule(booking=0, event=4, party="coach"),  # forbidden
        Reschedule(booking=0, event=4, party="stranger"),  # not found
        Reschedule(booking=0, event=1, party="athlete"),  # to a started event: refused
        Reschedule(booking=0, event=2, party="athlete"),  # to a canceled event: invalid
        Reschedule(booking=0, event=4, party="athlete"),  # B6 Pending (private), B5 Canceled
        Reschedule(booking=1, event=3, party="athlete"),  # B5 already rescheduled: invalid
        Reschedule(booking=0, event=3, party="admin"),  # B7 Accepted, B6 Canceled by System
        Order(who=1, events=(4,), rest=True),  # B8 Pending: the freed seat of event 4
        JoinWaitlist(who=2, event=4),  # event 4 full: athlete 2 waits, position 1
        JoinWaitlist(who=0, event=4),  # athlete 0 too, position 2
        JoinWaitlist(who=2, event=4),  # again: keeps position 1
        JoinWaitlist(who=1, event=4),  # holds B8 there: refused
        Cancel(booking=0, party="athlete", reason="NoTime", text=None),  # B8: athlete 2 promoted
        LeaveWaitlist(who=0, event=4),  # was waiting
        LeaveWaitlist(who=0, event=4),  # no longer
    ],
)


@hypothesis_settings(
    max_examples=int(os.environ.get("LEKO_LIFECYCLE_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failing run prints its steps
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, plan=plans)
@example(world=TOUR[0], plan=TOUR[1])
async def test_random_lifecycles_keep_invariants(
    client, users, settings, clock, dialect, world, plan
):
    run = Run(client, users, clock, world)
    before = await run.setup(settings, dialect)
    check_invariants(Snapshot(NOW), before)
    for step in plan:
        clock.now += TICK
        before.now = clock.now
        await run.step(step, before)
        cur = await run.snapshot(before)
        check_invariants(before, cur)
        run.check_expected(before, cur)
        before = cur
