"""`leko-bookings`: serve, migrate, mint tokens, import and list events, run notifications, seed
the demo, generate migrations.

Results go to standard output, warnings and errors to standard error. JSON output uses the
GraphQL API's field names. Exit status: 0 done; 1 an unexpected failure (a traceback follows);
2 wrong usage or input, or a refusal (the message says why); 3 the database cannot be reached;
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")

from tortoise import Tortoise

from leko_bookings import catalog_import as imports
from leko_bookings import logs, server_limits
from leko_bookings import seed as demo
from leko_bookings.auth import Principal, Role, mint_token
from leko_bookings.channels import channel_from_settings
from leko_bookings.db import (
    DIALECTS,
    MigrationLockTimeout,
    database_unavailable,
    make_migration,
    migrate,
    tortoise_config,
)
from leko_bookings.errors import DATABASE_UNREACHABLE, DomainError, Unavailable, validation
from leko_bookings.resolvers import ranks
from leko_bookings.resolvers.catalog import parse_events
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.notify import notify_bookings
from leko_bookings.settings import Settings, get_settings

log = logging.getLogger("leko_bookings.cli")
SYSTEM_USER = UUID(int=0)

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 3, 130
EXIT_CODES = f"""exit status:
  0    done
  {EXIT_FAILED}    an unexpected failure (a traceback follows)
  {EXIT_USAGE}    wrong usage or input, or a refusal (the message says why)
  {EXIT_UNREACHABLE}    the database cannot be reached
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""
DEMO_URL = "http://127.0.0.1:8000"


# --- which database ------------------------------------------------------------------------------


def database_label(settings: Settings) -> str:
    """The database a command uses, as an operator recognises it: the URL (password hidden),
    where it comes from and, for SQLite, the file's absolute path."""
    parts = urlsplit(settings.database_url)
    url = settings.database_url
    if parts.password:
        host = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    source = "LEKO_DATABASE_URL" if os.environ.get("LEKO_DATABASE_URL") else "the default"
    path = settings.sqlite_path
    return f"{url} ({source}" + (f"; the file {path.resolve()})" if path else ")")


def _fail(message: str, status: int = EXIT_USAGE, database: bool = True) -> int:
    """An error on stderr (with the database it concerns), and the exit status to return."""
    where = f" [database: {database_label(get_settings())}]" if database else ""
    print(f"leko-bookings: {message}{where}", file=sys.stderr)
    return status


def _refused(exc: DomainError) -> int:
    """A refusal of the API's (the input, a rule), or the database out of reach."""
    if isinstance(exc, Unavailable):
        return _fail(f"the database cannot be reached: {exc.message}", EXIT_UNREACHABLE)
    return _fail(exc.message)


# --- migrate, serve, token -----------------------------------------------------------------------


def _migrated() -> list[str] | None:
    """The migrations applied now, or None once it said why it gave up (the lock's timeout)."""
    try:
        return asyncio.run(migrate())
    except MigrationLockTimeout as exc:
        _fail(str(exc))
        return None


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = _migrated()
    if applied is None:
        return EXIT_USAGE
    done = f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else "")
    if args.command == "serve":
        log.info("%s", done)  # a record like the server's others (LEKO_LOG_FORMAT)
    else:
        print(done)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from leko_bookings import serving

    settings = get_settings()
    if settings.dialect == "sqlite" and args.workers > 1:
        return _fail(
            "SQLite has one writer: serve it with --workers 1, or point LEKO_DATABASE_URL at "
            "PostgreSQL to run several workers."
        )
    settings.signing_secret()  # warn about a development secret before anything else
    if not args.no_migrate and (status := cmd_migrate(args)) != 0:
        return status
    serving.run(
        "leko_bookings.serving:served_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=logs.logging_config(settings.log_format, args.log_level),
        metrics_port=args.metrics_port,
        limits=server_limits.from_args(args, settings),
        notify_every=args.notify_every,
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(mint_token(get_settings(), args.sub, args.role, ttl=timedelta(seconds=args.ttl)))
    return 0


# --- commands on the database --------------------------------------------------------------------


async def _with_db(work: Any) -> Any:
    await Tortoise.init(config=tortoise_config())
    try:
        return await work
    finally:
        await Tortoise.close_connections()


def _operator_context() -> Context:
    principal = Principal(SYSTEM_USER, frozenset({Role.scheduler}))
    return Context(principal=principal, now=datetime.now(UTC), settings=get_settings())


def camel(name: str) -> str:
    """A Python field name as GraphQL spells it: `expired_bookings` is `expiredBookings`."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def cmd_events_import(args: argparse.Namespace) -> int:
    name = "standard input" if args.file == "-" else args.file
    try:
        raw = imports.read_events(_read_input(args.file))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return _fail(f"cannot read {name}: {exc}")
    try:
        events = parse_events(raw)
        imports.check_distinct(events)
    except DomainError as exc:
        return _refused(exc)
    if args.verbose:
        parts = len(imports.batches(len(events)))
        print(f"leko-bookings: {len(events)} event(s) in {parts} batch(es)", file=sys.stderr)
    with imports.progress_bar(len(events)) as bar:
        try:
            done = asyncio.run(_with_db(imports.upsert_all(_operator_context, events, bar.update)))
        except imports.BatchRefused as exc:
            bar.close()
            return _fail(str(exc))
    print(
        f"upserted {done.events} event(s) from {name} in {done.batches} batch(es) "
        f"({done.seconds:.1f} s)"
    )
    return 0


EVENT_FIELDS = """eventId coachId sportId startAt endAt eventStatus seatsTaken seatsLeft bookable
  timeslot { timeSlotId startTime endTime numberOfParticipants slotType ageFrom ageTo duration
             price priceCurrency paymentMethod addressId public level eligibility }"""
EVENTS_QUERY = f"""
query CliEvents($from: DateTime!, $to: DateTime!, $coachId: UUID, $after: String) {{
  events(from: $from, to: $to, coachId: $coachId, first: 500, after: $after) {{
    nodes {{ {EVENT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


async def _graphql_events(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the GraphQL `events` query, run in this process as the operator: the
    answer is the API's, field for field."""
    from leko_bookings.channels import LogChannel
    from leko_bookings.schema import schema
    from leko_bookings.schema.context import GraphQLContext

    found: list[dict[str, Any]] = []
    after = None
    while True:
        context = GraphQLContext(_operator_context(), LogChannel())
        answer = await schema.execute(
            EVENTS_QUERY, variable_values=variables | {"after": after}, context_value=context
        )
        if answer.errors:  # what GraphQL would answer: the first error, raised here
            error = answer.errors[0]
            if error.message == DATABASE_UNREACHABLE:  # schema/outage.py's answer
                raise Unavailable(error.message)
            raise error.original_error or validation(error.message)
        assert answer.data is not None
        page = answer.data["events"]
        found += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _instant(text: str) -> datetime:
    """An argparse type: `2026-06-01` (midnight UTC) or an RFC 3339 instant with an offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 2026-06-01 or 2026-06-01T09:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give an offset (Z or +03:00)")
    return value


def _event_line(e: dict[str, Any]) -> str:
    slot = e["timeslot"]
    seats = f"{e['seatsTaken']}/{slot['numberOfParticipants']}"
    kind = "public" if slot["public"] is not False else "private"
    when = f"{e['startAt']} {e['endAt'][11:]}"
    return (
        f"{when}  {e['eventId']}  coach {e['coachId']}  seats {seats:>7}  {kind:<7}  "
        f"{slot['price']} {slot['priceCurrency']}  {e['eventStatus']}"
    )


def cmd_events_list(args: argparse.Namespace) -> int:
    start = args.from_ or datetime.now(UTC)
    end = args.to or start + timedelta(days=14)
    variables = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "coachId": str(args.coach) if args.coach else None,
    }
    try:
        found = asyncio.run(_with_db(_graphql_events(variables)))
    except DomainError as exc:
        return _refused(exc)
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"{len(found)} event(s) from {start.isoformat()} to {end.isoformat()}")
    for e in found:
        print(_event_line(e))
    return 0


async def _notify() -> dict[str, int]:
    channel = channel_from_settings(get_settings())
    try:
        done = await notify_bookings(_operator_context(), channel)
    finally:
        await channel.aclose()
    return {camel(k): v for k, v in dataclasses.asdict(done).items()}


def _alive(parent: int | None) -> bool:
    return parent is None or os.getppid() == parent


async def _notify_every(seconds: float, parent: int | None) -> None:
    """A notify run every `seconds` until stopped (or, with `parent`, until that process is
    gone, seen within a second): the cron of a demo or a single host. Each run that did
    something is logged."""
    steps = max(1, math.ceil(seconds))  # the pause in steps of at most a second
    while _alive(parent):
        try:
            summary = await _notify()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("notify run skipped, the database cannot be reached: %s", exc)
        else:
            level = logging.INFO if any(summary.values()) else logging.DEBUG
            log.log(level, "notify run: %s", json.dumps(summary))
        for _ in range(steps):
            if not _alive(parent):
                return
            await asyncio.sleep(seconds / steps)


async def _settle_ranks() -> dict[str, int]:
    done = await ranks.settle(_operator_context())
    return {camel(k): v for k, v in dataclasses.asdict(done).items()}


def cmd_settle_ranks(args: argparse.Namespace) -> int:
    """Store every stale serviceCardinality now (the notify run does it too)."""
    print(json.dumps(asyncio.run(_with_db(_settle_ranks()))))
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """One notify run, as the cron caller's POST /v1/bookings/notify does it (or one every
    `--every` seconds)."""
    if args.every:
        parent = os.getppid() if args.stop_with_parent else None
        asyncio.run(_with_db(_notify_every(args.every, parent)))
        return 0
    print(json.dumps(asyncio.run(_with_db(_notify()))))
    return 0


# --- seed ----------------------------------------------------------------------------------------


def demo_url() -> str:
    """Where ./scripts/demo serves: its HOST and PORT (default 127.0.0.1:8000); a wildcard
    address (listening everywhere) is reached on loopback."""
    host = os.environ.get("HOST") or "127.0.0.1"
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(host, host)
    return f"http://{host}:{os.environ.get('PORT') or 8000}"


def cmd_seed(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.signing_secret()  # its warning (no LEKO_JWT_SECRET) before any output
    if not args.no_migrate and _migrated() is None:
        return EXIT_USAGE
    catalog = demo.demo_catalog(datetime.now(UTC))
    events = parse_events(catalog.events)

    async def work() -> demo.DemoState:
        await imports.upsert_all(_operator_context, events, lambda _: None)
        return await demo.book_demo(catalog, _operator_context())

    state = asyncio.run(_with_db(work()))
    tokens = {
        who: mint_token(settings, state.ids[who], [who.lower()])
        for who in ("ATHLETE", "COACH", "ADMIN")
    }
    shown = demo.Shown(state, tokens, args.url.rstrip("/"), settings.base_path)
    print("\n".join(shown.exports() if args.print_env else shown.report()))
    return 0


# --- schema and migrations -----------------------------------------------------------------------


def cmd_makemigrations(args: argparse.Namespace) -> int:
    """Every dialect together, each in a fresh process (see `db.make_migration`)."""
    if args.dialect:
        made = make_migration(args.dialect, args.name, args.postgres_url)
        print(f"{args.dialect}: {made or 'no changes'}")
        return 0
    for dialect in DIALECTS:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "leko_bookings.cli",
                "makemigrations",
                "--dialect",
                dialect,
                "--name",
                args.name,
                "--postgres-url",
                args.postgres_url,
            ],
            check=False,
        )
        if done.returncode != 0:
            return done.returncode
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from leko_bookings.schema import SDL_FILE, sdl

    target = Path(args.output) if args.output else SDL_FILE
    target.write_text(sdl(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


# --- the parser ----------------------------------------------------------------------------------


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (line breaks kept)."""


def _version() -> str:
    try:
        return metadata.version("leko-bookings")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from leko_bookings import __version__

        return __version__


def _verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,  # given before or after the command, either counts
        help="say which database (and secret) the command uses, on stderr (default: off)",
    )


def _command(
    sub: Any, name: str, run: Callable[[argparse.Namespace], int], text: str, database: bool
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=text, epilog=EXIT_CODES, formatter_class=_Help
    )
    _verbose(parser)
    parser.set_defaults(run=run, database=database)
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, each with a socket of its own; SQLite: 1 (default: %(default)s)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply pending migrations first (default: off: they are applied)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=list(logs.LEVELS),
        help="the lowest level logged (default: %(default)s)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="also serve GET /metrics on this port (same host, no token), all workers' counts "
        "(default: none)",
    )
    serve.add_argument(
        "--notify-every",
        type=float,
        metavar="SECONDS",
        help="run notify every SECONDS beside the server (a process of its own, as cron would "
        "call it; the demo uses 60) (default: off)",
    )
    server_limits.add_serve_options(serve)  # --max-header-bytes, --keep-alive-seconds, ...


def _events_commands(sub: Any) -> None:
    events = sub.add_parser(
        "events", help="the event catalog: import, list", description="The event catalog."
    )
    _verbose(events)
    commands = events.add_subparsers(dest="events", required=True, metavar="{import,list}")
    imp = _command(
        commands,
        "import",
        cmd_events_import,
        "upsert any number of events by eventId, from a JSON array or NDJSON (one event a "
        "line), in batches of 1,000 (a progress bar on a terminal)",
        database=True,
    )
    imp.add_argument(
        "file",
        metavar="FILE",
        help="the events' file, or - for standard input; each event: eventId, coachId, sportId, "
        "startAt, endAt, eventStatus, timeslot (the contract's TimeSlot)",
    )
    listing = _command(
        commands,
        "list",
        cmd_events_list,
        "list the events overlapping a window, with their seats (the GraphQL events query)",
        database=True,
    )
    listing.add_argument(
        "--from",
        dest="from_",
        type=_instant,
        metavar="WHEN",
        help="start of the window: 2026-06-01 (midnight UTC) or 2026-06-01T09:00:00Z "
        "(default: now)",
    )
    listing.add_argument(
        "--to",
        type=_instant,
        metavar="WHEN",
        help="end of the window (default: 14 days after --from)",
    )
    listing.add_argument(
        "--coach",
        type=UUID,
        metavar="UUID",
        help="only this coach's events (default: every coach's)",
    )
    listing.add_argument(
        "--json",
        action="store_true",
        help="a JSON array of the events, with the GraphQL Event fields (default: off: a line "
        "per event)",
    )


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="leko-bookings",
        description=__doc__.split("\n\n")[0].replace("`", ""),
        epilog=f"database: {database_label(settings)}\n\n{EXIT_CODES}",
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say which database (and secret) the command uses, on stderr (default: off)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(sub, "serve", cmd_serve, "apply pending migrations and serve HTTP", True)
    _serve_options(serve)
    _command(sub, "migrate", cmd_migrate, "apply pending migrations", True)

    token = _command(
        sub, "token", cmd_token, "print a bearer token signed with the configured secret", False
    )
    token.add_argument(
        "--sub", type=UUID, required=True, metavar="UUID", help="the user id (required)"
    )
    token.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="a role of the token; repeat for several (required)",
    )
    token.add_argument(
        "--ttl",
        type=int,
        default=12 * 3600,
        metavar="SECONDS",
        help="lifetime (default: %(default)s: 12 h)",
    )

    _events_commands(sub)

    notify = _command(
        sub,
        "notify",
        cmd_notify,
        "one notification run (what cron calls); prints its summary as JSON",
        True,
    )
    notify.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run again every SECONDS until stopped, logging each run instead (default: off: once)",
    )
    notify.add_argument("--stop-with-parent", action="store_true", help=argparse.SUPPRESS)

    _command(
        sub,
        "settle-ranks",
        cmd_settle_ranks,
        "store the serviceCardinality of every booking whose rank is stale now (after a bulk "
        "load; each notify run does it too); prints its summary as JSON",
        True,
    )

    seed = _command(
        sub,
        "seed",
        cmd_seed,
        "load the demo (catalog, users, bookings) and print tokens, links and export lines",
        True,
    )
    seed.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply pending migrations first (default: off: they are applied)",
    )
    seed.add_argument(
        "--print-env",
        action="store_true",
        help="print only the export lines (ids and tokens of the demo's users, events and "
        'bookings), for eval "$(leko-bookings seed --print-env)" (default: off)',
    )
    seed.add_argument(
        "--url",
        default=demo_url(),
        help="where the server answers, for the links and BASE_URL "
        "(default: http://$HOST:$PORT, else %(default)s)",
    )

    mk = _command(
        sub,
        "makemigrations",
        cmd_makemigrations,
        "generate the next migration for every dialect",
        False,
    )
    mk.add_argument("--name", default="update", help="the migration's name (default: %(default)s)")
    mk.add_argument(
        "--postgres-url",
        default=os.environ.get("LEKO_MIGRATIONS_PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server of the production version, for its DDL; nothing is written "
        "(default: LEKO_MIGRATIONS_PG_URL, else %(default)s)",
    )
    mk.add_argument("--dialect", choices=DIALECTS, help=argparse.SUPPRESS)

    export = _command(sub, "export-schema", cmd_export_schema, "write the GraphQL SDL", False)
    export.add_argument(
        "--output", metavar="FILE", help="where to write it (default: schema.graphql)"
    )
    return parser


def _say_database(args: argparse.Namespace) -> None:
    settings = get_settings()
    if args.database:
        print(f"leko-bookings: database: {database_label(settings)}", file=sys.stderr)
    else:
        print("leko-bookings: this command uses no database", file=sys.stderr)
    if args.command in {"token", "seed", "serve"}:
        secret = (
            "LEKO_JWT_SECRET" if settings.jwt_secret else "a development secret (see the warning)"
        )
        print(f"leko-bookings: tokens signed with {secret}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure(get_settings().log_format)  # LEKO_LOG_FORMAT; tortoise's at WARNING
    args = build_parser().parse_args(argv)
    if getattr(args, "verbose", False):
        _say_database(args)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout stopped (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.database and database_unavailable(exc):
            return _fail(f"the database cannot be reached: {exc}", EXIT_UNREACHABLE)
        raise


if __name__ == "__main__":
    raise SystemExit(main())
