"""`leko-bookings`: serve, migrate, mint tokens, import and seed events, generate migrations."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")

from tortoise import Tortoise

from leko_bookings import logs, server_limits
from leko_bookings.auth import Principal, Role, mint_token
from leko_bookings.channels import channel_from_settings
from leko_bookings.db import (
    DIALECTS,
    MigrationLockTimeout,
    make_migration,
    migrate,
    tortoise_config,
)
from leko_bookings.errors import DomainError
from leko_bookings.resolvers.catalog import parse_events, upsert_events
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.notify import notify_bookings
from leko_bookings.settings import get_settings

log = logging.getLogger("leko_bookings.cli")
SYSTEM_USER = UUID(int=0)


def _fail(message: str) -> int:
    print(f"leko-bookings: {message}", file=sys.stderr)
    return 2


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
        return 2
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
    if not args.no_migrate and (status := cmd_migrate(args)) != 0:
        return status
    settings.signing_secret()  # warn about a development secret before the first request
    serving.run(
        "leko_bookings.app:create_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=logs.logging_config(settings.log_format, args.log_level),
        metrics_port=args.metrics_port,
        limits=server_limits.from_args(args, settings),
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(mint_token(get_settings(), args.sub, args.role, ttl=timedelta(seconds=args.ttl)))
    return 0


async def _with_db(work: Any) -> Any:
    await Tortoise.init(config=tortoise_config())
    try:
        return await work
    finally:
        await Tortoise.close_connections()


def _operator_context() -> Context:
    principal = Principal(SYSTEM_USER, frozenset({Role.scheduler}))
    return Context(principal=principal, now=datetime.now(UTC), settings=get_settings())


def import_events(raw: Any) -> int:
    events = parse_events(raw)
    saved = asyncio.run(_with_db(upsert_events(_operator_context(), events)))
    return len(saved)


def cmd_events_import(args: argparse.Namespace) -> int:
    try:
        raw = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    try:
        count = import_events(raw)
    except DomainError as exc:
        return _fail(exc.message)
    print(f"upserted {count} event(s) from {args.file}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from leko_bookings.seed import demo_catalog

    if not args.no_migrate and _migrated() is None:
        return 2
    catalog = demo_catalog(datetime.now(UTC))
    count = import_events(catalog.events)
    settings = get_settings()
    print(f"seeded {count} events by {len(catalog.coaches)} coaches over the next two weeks\n")
    athlete = mint_token(settings, catalog.athlete, ["athlete"])
    coach = catalog.coaches[0]
    coach_token = mint_token(settings, coach, ["coach"])
    print(f"athlete {catalog.athlete}:\n  {athlete}")
    print(f"coach   {coach}:\n  {coach_token}")
    print(f"admin:\n  {mint_token(settings, uuid4(), ['admin'])}")
    # Where ./scripts/demo serves (its HOST and PORT, default 127.0.0.1:8000).
    page = f"http://{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or 8000}"
    print("\nThe calendar page, signed in (each link fills its token):")
    print(f"athlete: {page}/calendar#token={athlete}")
    print(f"coach:   {page}/calendar#token={coach_token}")
    return 0


async def _notify() -> dict[str, int]:
    channel = channel_from_settings(get_settings())
    try:
        return dataclasses.asdict(await notify_bookings(_operator_context(), channel))
    finally:
        await channel.aclose()


def cmd_notify(_: argparse.Namespace) -> int:
    """One notify run, as the cron caller's POST /v1/bookings/notify does it."""
    print(json.dumps(asyncio.run(_with_db(_notify()))))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leko-bookings", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply pending migrations and serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--metrics-port",
        type=int,
        help="also serve GET /metrics on this port (same host, no token), all workers' counts",
    )
    server_limits.add_serve_options(serve)  # --max-header-bytes, --keep-alive-seconds, ...
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)

    token = sub.add_parser("token", help="print a bearer token signed with the configured secret")
    token.add_argument("--sub", type=UUID, required=True, help="the user id (UUID)")
    token.add_argument(
        "--role", action="append", required=True, choices=[r.value for r in Role], help="repeatable"
    )
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    token.set_defaults(run=cmd_token)

    events = sub.add_parser("events", help="the event catalog").add_subparsers(
        dest="events", required=True
    )
    imp = events.add_parser("import", help="upsert events from a JSON array file")
    imp.add_argument("file")
    imp.set_defaults(run=cmd_events_import)

    sub.add_parser("notify", help="one notification run (what cron calls)").set_defaults(
        run=cmd_notify
    )

    seed = sub.add_parser("seed", help="load a demo catalog and print tokens to try it")
    seed.add_argument("--no-migrate", action="store_true")
    seed.set_defaults(run=cmd_seed)

    mk = sub.add_parser("makemigrations", help="generate the next migration for every dialect")
    mk.add_argument("--name", default="update")
    mk.add_argument(
        "--postgres-url",
        default=os.environ.get("LEKO_MIGRATIONS_PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server of the production version, for its DDL (nothing is written)",
    )
    mk.add_argument("--dialect", choices=DIALECTS, help=argparse.SUPPRESS)
    mk.set_defaults(run=cmd_makemigrations)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL (default: schema.graphql)")
    export.add_argument("--output")
    export.set_defaults(run=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure(get_settings().log_format)  # LEKO_LOG_FORMAT; tortoise's at WARNING
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
