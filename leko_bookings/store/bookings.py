"""Bookings: the reads behind every booking the transports show (by id, the calendar list, an
order's bookings, a user's bookings in events), their serviceCardinality ranks, and the booking
rows a rule locks and changes.

The SQL of the month list is `_users_page_sql` here (a user's calendar; `_views_sql` for other
lists, with `_selected` and `sql.page_clause`): one statement for a page of bookings, their
events and their ranks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from leko_bookings.models import (
    Booking,
    BookingStatus,
    CanceledByRole,
    CancellationReasonCode,
    Event,
)
from leko_bookings.store.events import EVENT_COLUMNS, event_view, event_view_of_values
from leko_bookings.store.orders import OrderRecord, record_of
from leko_bookings.store.ranks import rank_window
from leko_bookings.store.sql import (
    PageBounds,
    Params,
    Row,
    as_uuid,
    column_values,
    enum_of,
    insert,
    page_clause,
    positional_decoders,
)
from leko_bookings.store.views import BookingView, EventView, make_booking_view

Holding = Sequence[BookingStatus]
"""The statuses that hold a seat (a rule: `resolvers/seats.py`); None where no rank is wanted."""

_STATUS = enum_of(BookingStatus)
_CANCELED_BY = enum_of(CanceledByRole)
_REASON = enum_of(CancellationReasonCode)


BOOKING_COLUMNS = (
    "id",
    "order_id",
    "user_id",
    "coach_id",
    "event_id",
    "start_at",
    "end_at",
    "status",
    "completed",
    "note",
    "canceled_at",
    "canceled_by_role",
    "cancellation_reason_code",
    "cancellation_reason_text",
    "dismissed_at",
    "dispute_reason",
    "dispute_resolution",
    "rescheduled_to",
    "rescheduled_from",
)
"""The columns a booking's read model is made of, in the order `_view_of_values` takes."""


def _view_of_values(values: Sequence[Any], event: EventView, rank: int | None) -> BookingView:
    """A booking's `BOOKING_COLUMNS` values (as PostgreSQL's driver returns them, or decoded) as
    its read model: enum members looked up by their text, no row dictionary."""
    (
        booking_id,
        order_id,
        user_id,
        coach_id,
        event_id,
        start_at,
        end_at,
        status,
        completed,
        note,
        canceled_at,
        canceled_by,
        reason,
        reason_text,
        dismissed_at,
        dispute_reason,
        dispute_resolution,
        rescheduled_to,
        rescheduled_from,
    ) = values
    return make_booking_view(
        booking_id,
        order_id,
        user_id,
        coach_id,
        event_id,
        start_at,
        end_at,
        _STATUS[status],
        completed,
        note,
        canceled_at,
        None if canceled_by is None else _CANCELED_BY[canceled_by],
        None if reason is None else _REASON[reason],
        reason_text,
        dismissed_at,
        dispute_reason,
        dispute_resolution,
        event,
        rank,
        rescheduled_to,
        rescheduled_from,
    )


async def views_of(
    pairs: Sequence[tuple[Booking, Event]], holding: Holding | None
) -> list[BookingView]:
    """Booking models with their events (rows a rule just wrote) as read models, ranked (one
    statement for them all) unless `holding` is None."""
    rows = [column_values(b) for b, _ in pairs]
    ranks = await _ranks(rows, holding) if holding is not None else {}
    return [
        _view_of_values([row[c] for c in BOOKING_COLUMNS], event_view(event), ranks.get(row["id"]))
        for row, (_, event) in zip(rows, pairs, strict=True)
    ]


def _rank_window(held: str, users: str, coaches: str, last: str) -> str:
    """`ranks.rank_window` over these users' bookings with these coaches (`users`, `coaches`:
    SQL conditions on the column) starting at `last` or before (which cannot precede any
    booking asked for)."""
    return rank_window(held, f'"user_id" {users} AND "coach_id" {coaches} AND "start_at" <= {last}')


async def _ranks(bookings: list[Row], holding: Holding) -> dict[UUID, int]:
    """The rank (`_rank_window`) of each seat-holding booking among these rows (models' column
    values): one statement for the batch."""
    held = [b for b in bookings if _STATUS[b["status"]] in holding]
    if not held:
        return {}
    p = Params()
    users = p.any_of(list({b["user_id"] for b in held}), "uuid")
    coaches = p.any_of(list({b["coach_id"] for b in held}), "uuid")
    statuses = p.any_of([s.value for s in holding], "text")
    last = p(max(b["start_at"] for b in held))
    wanted = p.any_of([b["id"] for b in held], "uuid")
    window = _rank_window(statuses, users, coaches, last)
    rows = await p.rows(f'SELECT "id", "n" FROM ({window}) ranked WHERE "id" {wanted}')
    return {as_uuid(booking_id): n for booking_id, n in rows}


_SELECTED = ", ".join(
    [*(f'b."{c}"' for c in BOOKING_COLUMNS), *(f'e."{c}" "e_{c}"' for c in EVENT_COLUMNS)]
)
_WIDTH = len(BOOKING_COLUMNS)


def _views_sql(p: Params, clause: str, holding: Holding | None, backward: bool = False) -> str:
    """One statement for booking read models: the bookings `clause` (WHERE ..., on `b`, with its
    ORDER BY and LIMIT) selects, with their events, and, unless `holding` is None, each one's
    serviceCardinality (`_rank_window` over the page's athletes and coaches, in the same
    statement)."""
    page = f'SELECT {_SELECTED} FROM "booking" b JOIN "event" e ON e."id" = b."event_id"{clause}'
    if holding is None:
        return page
    statuses = p.any_of([s.value for s in holding], "text")
    window = _rank_window(
        statuses,
        'IN (SELECT "user_id" FROM page)',
        'IN (SELECT "coach_id" FROM page)',
        '(SELECT MAX("start_at") FROM page)',
    )
    order = "DESC" if backward else "ASC"
    return (
        f'WITH page AS ({page}) SELECT page.*, ranked."n" FROM page '
        f'LEFT JOIN ({window}) ranked ON ranked."id" = page."id" '
        f'ORDER BY page."start_at" {order}, page."id" {order}'
    )


async def _read_views(p: Params, sql: str, ranked: bool) -> list[BookingView]:
    """The rows of a `_views_sql` statement as read models (SQLite's stored values decoded)."""
    rows = await p.rows(sql)
    if not p.postgres:
        decoders = (
            *positional_decoders(Booking, BOOKING_COLUMNS),
            *positional_decoders(Event, EVENT_COLUMNS),
        )
        rows = [
            (*(d(v) for d, v in zip(decoders, row, strict=False)), *row[len(decoders) :])
            for row in rows
        ]
    width, events = _WIDTH, _WIDTH + len(EVENT_COLUMNS)
    return [
        _view_of_values(
            row[:width],
            event_view_of_values(row[width:events]),
            row[events] if ranked else None,
        )
        for row in rows
    ]


async def booking_by_id(booking_id: UUID) -> BookingView | None:
    """One booking with its event, not ranked (see `ranked`)."""
    p = Params()
    sql = _views_sql(p, f' WHERE b."id" = {p(booking_id)}', None)
    views = await _read_views(p, sql, False)
    return views[0] if views else None


async def ranked(views: list[BookingView], holding: Holding) -> list[BookingView]:
    """These bookings with their serviceCardinality (one statement)."""
    rows = [
        {"id": v.booking_id, "user_id": v.user_id, "coach_id": v.coach_id}
        | {"status": v.booking_status, "start_at": v.start_at}
        for v in views
    ]
    ranks = await _ranks(rows, holding)
    return [replace(v, service_cardinality=ranks.get(v.booking_id)) for v in views]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which bookings a list holds: a user's and/or an event's and/or a coach's, overlapping
    [start, end); None leaves a condition out."""

    user_id: UUID | None = None
    event_id: UUID | None = None
    coach_id: UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


def _selected(p: Params, s: Selection, table: str = "b") -> list[str]:
    """The conditions (on the booking aliased `table`) of a `Selection`. The user's listing is
    their calendar: bookings they dismissed are left out."""
    found = []
    if s.user_id is not None:
        found += [f'{table}."user_id" = {p(s.user_id)}', f'{table}."dismissed_at" IS NULL']
    if s.event_id is not None:
        found.append(f'{table}."event_id" = {p(s.event_id)}')
    if s.coach_id is not None:
        found.append(f'{table}."coach_id" = {p(s.coach_id)}')
    if s.start is not None:
        found.append(f'{table}."end_at" > {p(s.start)}')
    if s.end is not None:
        found.append(f'{table}."start_at" < {p(s.end)}')
    return found or ["1 = 1"]


def _users_page_sql(p: Params, s: Selection, page: PageBounds, holding: Holding) -> str:
    """A page of one user's bookings (their calendar) with events and ranks: the page's rows are
    read first (the user's index by start, which tests the end too), then each seat-holding
    one's rank is its stored `service_rank`, unless a stale row (`store/ranks.py`) names the
    user and its coach: then the rank is counted, which is `_rank_window`'s number: the user's
    seat-holding bookings with the same coach up to it, by start then id (earlier ones,
    dismissed ones, ones outside the page's conditions all count). Each count is one range of
    the (user, coach, start, id, status) index (`Booking.Meta`) and nothing else. The stale
    coaches are read once per statement (an uncorrelated subquery)."""
    held = p.any_of([status.value for status in holding], "text")
    user = p(s.user_id)
    conditions = _selected(p, Selection(None, s.event_id, s.coach_id, s.start, s.end), "b")
    conditions = [
        f'b."user_id" = {user}',
        'b."dismissed_at" IS NULL',
        *(c for c in conditions if c != "1 = 1"),
    ]
    clause = page_clause(p, conditions, page, "b.")
    own = ", ".join(f'b."{c}"' for c in (*BOOKING_COLUMNS, "service_rank"))
    count = (
        f'SELECT COUNT(*) FROM "booking" x WHERE x."user_id" = {user} '
        f'AND x."coach_id" = b."coach_id" AND x."status" {held} AND x."start_at" <= b."start_at" '
        'AND (x."start_at", x."id") <= (b."start_at", b."id")'
    )
    stale = f'SELECT s."coach_id" FROM "booking_rank_stale" s WHERE s."user_id" = {user}'
    rank = (
        f'CASE WHEN b."status" {held} THEN CASE WHEN b."coach_id" IN ({stale}) '
        f'THEN ({count}) ELSE b."service_rank" END END'
    )
    order = "DESC" if page[3] else "ASC"
    return (
        f'WITH page AS (SELECT {own} FROM "booking" b{clause}) '
        f'SELECT {_SELECTED}, {rank} "n" '
        f'FROM page b JOIN "event" e ON e."id" = b."event_id" '
        f'ORDER BY b."start_at" {order}, b."id" {order}'
    )


async def list_bookings(
    selection: Selection, page: PageBounds, holding: Holding | None
) -> list[BookingView]:
    """The month list: a page of a selection's bookings with their events, by start then id,
    after (backward: before, latest first) the cursor of `page` (its moment, id, limit,
    backward), ranked unless `holding` is None. One statement: for a user's calendar,
    `_users_page_sql`; for an event's or a coach's bookings, `_views_sql`."""
    p = Params()
    if selection.user_id is not None and holding is not None:
        sql = _users_page_sql(p, selection, page, holding)
    else:
        clause = page_clause(p, _selected(p, selection), page, "b.")
        sql = _views_sql(p, clause, holding, page[3])
    return await _read_views(p, sql, holding is not None)


async def user_bookings_in(
    user_id: UUID, event_ids: Sequence[UUID], holding: Holding, ranked: bool
) -> dict[UUID, BookingView]:
    """The user's seat-holding booking in each of these events (absent: none), with its event;
    ranked (serviceCardinality, in the same statement) only when `ranked`."""
    p = Params()
    user, ids = p(user_id), p.any_of(list(event_ids), "uuid")
    held = p.any_of([s.value for s in holding], "text")
    clause = f' WHERE b."user_id" = {user} AND b."event_id" {ids} AND b."status" {held}'
    clause += ' ORDER BY b."start_at", b."id"'
    views = await _read_views(p, _views_sql(p, clause, holding if ranked else None), ranked)
    return {v.event_id: v for v in views}


async def count_bookings(selection: Selection) -> int:
    p = Params()
    where = " AND ".join(_selected(p, selection))
    rows = await p.rows(f'SELECT COUNT(*) FROM "booking" b WHERE {where}')
    return int(rows[0][0])


async def bookings_of_orders(
    order_ids: list[UUID], holding: Holding
) -> dict[UUID, list[BookingView]]:
    """The bookings of many orders at once, each with its event, by start (one query, and one
    for the ranks of them all)."""
    grouped: dict[UUID, list[BookingView]] = defaultdict(list)
    if not order_ids:
        return grouped
    query = Booking.filter(order_id__in=order_ids).select_related("event")
    bookings = await query.order_by("start_at", "id")
    for view in await views_of([(b, b.event) for b in bookings], holding):
        grouped[view.order_id].append(view)
    return grouped


async def get_booking(booking_id: UUID) -> Booking | None:
    """A booking row, not locked (who may act on it is decided before any lock)."""
    return await Booking.get_or_none(id=booking_id)


async def lock_booking(booking_id: UUID) -> Booking:
    """Inside a transaction: the booking row, locked (PostgreSQL; SQLite has one writer)."""
    return await Booking.filter(id=booking_id).select_for_update().get()


async def lock_booking_with_event(booking_id: UUID) -> Booking | None:
    """Inside a transaction: the booking row locked (not its outer-joined event), event loaded."""
    return (
        await Booking.filter(id=booking_id)
        .select_for_update(of=("booking",))
        .select_related("event")
        .first()
    )


_WRITTEN = tuple(
    f["name"]
    for f in Booking.describe(serializable=False)["data_fields"]
    if f["name"] != "service_rank"
)  # the columns a rule may change (its order and event never do): the stored rank is the
# settling's alone (store/ranks.py)


async def save(booking: Booking, *fields: str) -> None:
    """Write a changed booking (the named fields, or all but its stored rank, which a rule's
    copy of the row may hold from before the last settling)."""
    await booking.save(update_fields=list(fields or _WRITTEN))


async def lock_live_ahead(event_id: UUID, statuses: Sequence[BookingStatus]) -> list[Booking]:
    """Inside a transaction holding the event row: its bookings in `statuses`, locked in id
    order."""
    return list(
        await Booking.filter(event_id=event_id, status__in=list(statuses))
        .order_by("id")
        .select_for_update()
    )


async def lock_started_pending(now: datetime, batch: int) -> list[Booking]:
    """Up to `batch` Pending bookings whose start has come, locked (rows another run holds are
    skipped), each with its event."""
    return list(
        await Booking.filter(status=BookingStatus.Pending, start_at__lte=now)
        .order_by("id")
        .limit(batch)
        .select_for_update(skip_locked=True, of=("booking",))
        .select_related("event")
    )


async def set_canceled(
    bookings: Sequence[Booking], now: datetime, canceled_by: CanceledByRole
) -> None:
    """Mark these (locked) bookings Canceled at `now`, by `canceled_by`."""
    await Booking.filter(id__in=[b.id for b in bookings]).update(
        status=BookingStatus.Canceled,
        canceled_at=now,
        canceled_by_role=canceled_by,
        updated_at=now,
    )


async def follow_event(
    event_id: UUID, start: datetime, end: datetime, coach_id: UUID, now: datetime
) -> list[Booking]:
    """Inside a transaction holding the event row: a moved event moves its bookings (they show
    the event's current times and coach), locked in id order first; returns them as they were."""
    bookings = list(await Booking.filter(event_id=event_id).order_by("id").select_for_update())
    if bookings:
        await Booking.filter(id__in=[b.id for b in bookings]).update(
            start_at=start, end_at=end, coach_id=coach_id, updated_at=now
        )
    return bookings


async def create(bookings: Sequence[Booking]) -> None:
    """New bookings, in one multi-row INSERT."""
    await insert(bookings)


async def bookings_by_id(booking_ids: list[UUID], holding: Holding) -> list[BookingView]:
    """These bookings (those that exist) with their events, ranked, by start (one statement)."""
    if not booking_ids:
        return []
    p = Params()
    clause = f' WHERE b."id" {p.any_of(booking_ids, "uuid")} ORDER BY b."start_at", b."id"'
    return await _read_views(p, _views_sql(p, clause, holding), True)


async def orders_with_bookings(
    order_ids: list[UUID], holding: Holding | None
) -> list[tuple[OrderRecord, list[BookingView]]]:
    """These orders, each with all its bookings and their events, by start: one statement (an
    order always holds a booking), and one for the ranks unless `holding` is None."""
    if not order_ids:
        return []
    query = Booking.filter(order_id__in=order_ids).select_related("event", "order")
    bookings = await query.order_by("start_at", "id")
    views = await views_of([(b, b.event) for b in bookings], holding)
    grouped: dict[UUID, tuple[OrderRecord, list[BookingView]]] = {}
    for booking, view in zip(bookings, views, strict=True):
        grouped.setdefault(view.order_id, (record_of(booking.order), []))[1].append(view)
    return list(grouped.values())
