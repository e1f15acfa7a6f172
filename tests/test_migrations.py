"""No drift: the migration history of each dialect builds exactly the schema the models describe.

For each dialect one empty database is migrated with `leko-bookings migrate` and another gets
`Tortoise.generate_schemas()` (in a subprocess: Tortoise must not be initialised a second time in
the pytest process). Both are introspected and compared: tables, columns (type, nullability,
default), indexes (columns, uniqueness, name) and foreign keys (columns, target, ON DELETE).
Only the rows of aerich's bookkeeping table may differ. Column *order* is not compared: a column
added by a later migration lands at the end, which is harmless. Column comments (the enum
descriptions) are not compared either: aerich writes the DDL into a non-raw Python string in the
migration file, so their `\\n` separators become real newlines in a migrated database while
generate_schemas stores a literal backslash-n; cosmetic only.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from leko_bookings.db import DIALECTS, migrations_dir
from tests.conftest import PG_ADMIN_URL, SECRET, create_pg_database, drop_pg_database, pg_url

AERICH = "aerich"
APP_TABLES = {
    "waitlist_entry",
    "event",
    "booking_order",
    "booking",
    "booking_history",
    "notification",
    "rate_bucket",
    "booking_rank_stale",
    "calendar_feed",
    "idempotency_key",
}

# What hand-written migrations add and the models cannot declare (a dialect's own types and
# triggers), per dialect: the calendarChanges order of the booking history (migration
# `calendar_changes`: PostgreSQL's identity `seq` and xid8 `tx`; SQLite's `seq` and its counter).
MIGRATION_ONLY_COLUMNS = {
    "postgres": {("booking_history", "seq"), ("booking_history", "tx")},
    "sqlite": {("booking_history", "seq"), ("leko_history_counter", "value")},
}
MIGRATION_ONLY_INDEXES = {
    "postgres": {("booking_history", "leko_booking_history_tx")},
    "sqlite": {("booking_history", "leko_booking_history_seq")},
}
MIGRATION_ONLY_TABLES = {"postgres": set(), "sqlite": {"leko_history_counter"}}

GENERATE = """
import json, sys
from tortoise import Tortoise, run_async
from leko_bookings.db import tortoise_config

async def main():
    await Tortoise.init(config=tortoise_config(sys.argv[1]))
    try:
        await Tortoise.generate_schemas(safe=False)
        tables = sorted(m._meta.db_table for app in Tortoise.apps.values() for m in app.values())
        print(json.dumps(tables))
    finally:
        await Tortoise.close_connections()

run_async(main())
"""


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEKO_DATABASE_URL": url,
        "LEKO_JWT_SECRET": SECRET,
        "AERICH_NO_TORTOISE_V1_WARNING": "1",
    }


def _build(urls: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Per dialect, migrate one database and generate the other, all at once.

    Returns the tables of the models Tortoise registered, per dialect.
    """
    procs = {}
    for dialect, (migrated_url, generated_url) in urls.items():
        procs[dialect, "migrate"] = subprocess.Popen(
            [sys.executable, "-m", "leko_bookings.cli", "migrate"],
            env=_env(migrated_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs[dialect, "generate"] = subprocess.Popen(
            [sys.executable, "-c", GENERATE, generated_url],
            env=_env(generated_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    outputs = {key: proc.communicate(timeout=120) for key, proc in procs.items()}
    for key, proc in procs.items():
        assert proc.returncode == 0, (key, outputs[key][1])
    for dialect in urls:
        assert "applied" in outputs[dialect, "migrate"][0]
    return {d: json.loads(outputs[d, "generate"][0].strip().splitlines()[-1]) for d in urls}


@dataclass
class Snapshot:
    tables: set[str]
    columns: dict[tuple[str, str], tuple[Any, ...]]
    indexes: dict[tuple[str, str], tuple[Any, ...]]
    # (table, columns, target table, target columns) -> (ON UPDATE, ON DELETE, name)
    foreign_keys: dict[tuple[Any, ...], tuple[Any, ...]]
    aerich_versions: list[str]


# --- SQLite ----------------------------------------------------------------------------------


def sqlite_snapshot(path: Path) -> Snapshot:
    conn = sqlite3.connect(path)
    try:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        columns: dict[tuple[str, str], tuple[Any, ...]] = {}
        indexes: dict[tuple[str, str], tuple[Any, ...]] = {}
        foreign_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for table in tables:
            for _cid, name, type_, notnull, default, pk in conn.execute(
                f'PRAGMA table_info("{table}")'
            ):
                columns[table, name] = (type_.upper(), bool(notnull), default, pk)
            for _seq, name, unique, origin, partial in conn.execute(
                f'PRAGMA index_list("{table}")'
            ):
                cols = tuple(
                    col for _n, _cid, col in sorted(conn.execute(f'PRAGMA index_info("{name}")'))
                )
                indexes[table, name] = (cols, bool(unique), origin, bool(partial))
            for row in conn.execute(f'PRAGMA foreign_key_list("{table}")'):
                _id, _seq, target, source_col, target_col, on_update, on_delete, _match = row
                key = (table, (source_col,), target, (target_col,))
                foreign_keys[key] = (on_update, on_delete, None)  # SQLite names none
        versions = (
            [v for (v,) in conn.execute(f'SELECT version FROM "{AERICH}" ORDER BY id')]
            if AERICH in tables
            else []
        )
    finally:
        conn.close()
    return Snapshot(tables, columns, indexes, foreign_keys, versions)


# --- PostgreSQL ------------------------------------------------------------------------------

PG_COLUMNS = """
SELECT table_name, column_name, data_type, udt_name, character_maximum_length,
       numeric_precision, is_nullable, column_default
FROM information_schema.columns WHERE table_schema = 'public'
"""
PG_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
PG_FOREIGN_KEYS = """
SELECT src.relname AS source, tgt.relname AS target, c.conname,
       ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.ord)
         AS source_columns,
       ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.ord)
         AS target_columns,
       rc.update_rule, rc.delete_rule
FROM pg_constraint c
JOIN pg_class src ON src.oid = c.conrelid
JOIN pg_class tgt ON tgt.oid = c.confrelid
JOIN information_schema.referential_constraints rc
  ON rc.constraint_name = c.conname AND rc.constraint_schema = 'public'
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
"""
PG_CONSTRAINTS = """
SELECT conrelid::regclass::text AS tbl, conname, contype, pg_get_constraintdef(oid) AS def
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
"""


async def pg_snapshot(url: str) -> Snapshot:
    conn = await asyncpg.connect(url.split("?", 1)[0].replace("postgres://", "postgresql://", 1))
    try:
        tables = {
            r["table_name"]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        }
        columns = {
            (r["table_name"], r["column_name"]): (
                r["data_type"],
                r["udt_name"],
                r["character_maximum_length"],
                r["numeric_precision"],
                r["is_nullable"],
                r["column_default"],
            )
            for r in await conn.fetch(PG_COLUMNS)
        }
        indexes: dict[tuple[str, str], tuple[Any, ...]] = {
            (r["tablename"], r["indexname"]): (r["indexdef"],) for r in await conn.fetch(PG_INDEXES)
        }
        # Primary keys, unique and check constraints ride along with the indexes.
        for r in await conn.fetch(PG_CONSTRAINTS):
            indexes[r["tbl"], f"constraint:{r['conname']}"] = (r["contype"], r["def"])
        foreign_keys = {
            (r["source"], tuple(r["source_columns"]), r["target"], tuple(r["target_columns"])): (
                r["update_rule"],
                r["delete_rule"],
                r["conname"],
            )
            for r in await conn.fetch(PG_FOREIGN_KEYS)
        }
        versions = (
            [r["version"] for r in await conn.fetch(f'SELECT version FROM "{AERICH}" ORDER BY id')]
            if AERICH in tables
            else []
        )
    finally:
        await conn.close()
    return Snapshot(tables, columns, indexes, foreign_keys, versions)


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class Pair:
    dialect: str
    migrated: Snapshot
    generated: Snapshot
    model_tables: list[str]


@pytest.fixture(scope="module")
async def pairs(tmp_path_factory) -> AsyncIterator[dict[str, Pair]]:
    root = tmp_path_factory.mktemp("drift")
    lite = (root / "migrated.sqlite3", root / "generated.sqlite3")
    stem = f"leko_drift_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    names = (f"{stem}_m", f"{stem}_g")
    try:
        for name in names:
            await create_pg_database(name)
        pg = (pg_url(names[0]), pg_url(names[1]))
        tables = _build({"sqlite": (f"sqlite://{lite[0]}", f"sqlite://{lite[1]}"), "postgres": pg})
        yield {
            "sqlite": Pair("sqlite", *map(sqlite_snapshot, lite), tables["sqlite"]),
            "postgres": Pair(
                "postgres", await pg_snapshot(pg[0]), await pg_snapshot(pg[1]), tables["postgres"]
            ),
        }
    finally:
        for name in names:
            await drop_pg_database(name)


@pytest.fixture(params=DIALECTS)
def pair(request: pytest.FixtureRequest, pairs: dict[str, Pair]) -> Pair:
    return pairs[request.param]


# --- tests -----------------------------------------------------------------------------------


def test_introspection_sees_the_schema(pair: Pair):
    """Guard against comparing two empty snapshots: both sides really hold the schema."""
    for snap in (pair.migrated, pair.generated):
        assert APP_TABLES | {AERICH} <= snap.tables
        assert ("booking", "order_id") in snap.columns
        assert "Scheduled" in str(snap.columns["event", "status"]), "defaults are introspected"
        assert len(snap.indexes) >= 6
        assert set(snap.foreign_keys) >= {
            ("booking", ("event_id",), "event", ("id",)),
            ("booking", ("order_id",), "booking_order", ("id",)),
        }


def test_every_model_table_is_migrated(pair: Pair):
    assert set(pair.model_tables) == APP_TABLES | {AERICH}
    assert set(pair.model_tables) <= pair.migrated.tables


def test_same_tables(pair: Pair):
    only = MIGRATION_ONLY_TABLES[pair.dialect]
    assert only <= pair.migrated.tables
    assert pair.migrated.tables - only == pair.generated.tables


def test_the_migration_only_objects_are_exactly_those_listed(pair: Pair):
    """The allowance above hides nothing else: each listed object exists in the migrated
    database only."""
    migrated, generated = pair.migrated, pair.generated
    assert MIGRATION_ONLY_COLUMNS[pair.dialect] <= migrated.columns.keys()
    assert not MIGRATION_ONLY_COLUMNS[pair.dialect] & generated.columns.keys()
    assert MIGRATION_ONLY_INDEXES[pair.dialect] <= migrated.indexes.keys()
    assert not MIGRATION_ONLY_INDEXES[pair.dialect] & generated.indexes.keys()


def test_same_columns(pair: Pair):
    only = MIGRATION_ONLY_COLUMNS[pair.dialect]
    migrated = {k: v for k, v in pair.migrated.columns.items() if k not in only}
    generated = pair.generated.columns
    assert sorted(migrated.keys() - generated.keys()) == [], "columns only in the migrations"
    assert sorted(generated.keys() - migrated.keys()) == [], "columns only in the models"
    differing = {k: (migrated[k], generated[k]) for k in migrated if migrated[k] != generated[k]}
    assert differing == {}, "(migrated, models) per column"


def test_same_indexes(pair: Pair):
    # Index names are derived from table and columns, so they match and are compared as well.
    only = MIGRATION_ONLY_INDEXES[pair.dialect]
    migrated = {k: v for k, v in pair.migrated.indexes.items() if k not in only}
    assert migrated == pair.generated.indexes


def test_same_foreign_keys(pair: Pair):
    assert pair.migrated.foreign_keys == pair.generated.foreign_keys
    on_delete = {(key[0], key[2]): rules[1] for key, rules in pair.migrated.foreign_keys.items()}
    # A booking cannot lose its event; it goes with its order; its history goes with it; a
    # waitlist goes with its event.
    assert on_delete == {
        ("booking", "event"): "RESTRICT",
        ("booking", "booking_order"): "CASCADE",
        ("booking_history", "booking"): "CASCADE",
        ("waitlist_entry", "event"): "CASCADE",
    }


def test_aerich_records_the_whole_history(pair: Pair):
    files = sorted(p.name for p in (migrations_dir(pair.dialect) / "models").glob("*.py"))
    assert files, "no migration files"
    assert sorted(pair.migrated.aerich_versions) == files
    assert pair.generated.aerich_versions == []


# --- makemigrations --------------------------------------------------------------------------


def _repo_copy(src: Path, dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".venv", ".git", ".pytest_cache", ".ruff_cache", "__pycache__", "*.sqlite3*", "bench"
    )
    shutil.copytree(src, dest, ignore=ignore)
    return dest


def _makemigrations(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "AERICH_NO_TORTOISE_V1_WARNING": "1",
        "LEKO_MIGRATIONS_PG_URL": PG_ADMIN_URL,
    }
    env.pop("LEKO_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "leko_bookings.cli", "makemigrations", "--name", "drift_check"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _migration_files(repo: Path) -> set[str]:
    return {str(p.relative_to(repo)) for p in (repo / "migrations").rglob("*.py")}


@pytest.fixture(scope="module")
def repo_copy(repo_root: Path, tmp_path_factory) -> Path:
    return _repo_copy(repo_root, tmp_path_factory.mktemp("repo") / "main")


def test_makemigrations_finds_no_changes(repo_copy: Path):
    before = _migration_files(repo_copy)
    done = _makemigrations(repo_copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["postgres: no changes", "sqlite: no changes"], (
        "the models changed without a migration: run `leko-bookings makemigrations --name ...`"
        f"\n{done.stdout}"
    )
    assert _migration_files(repo_copy) == before


def test_makemigrations_notices_a_model_change(repo_root: Path, tmp_path: Path):
    """The check above can fail: a new field in a copied model yields a migration per dialect."""
    repo = _repo_copy(repo_root, tmp_path / "main")
    model = repo / "leko_bookings" / "models" / "booking.py"
    source = model.read_text(encoding="utf-8")
    anchor = "    completed = fields.BooleanField(db_default=False)\n"
    assert anchor in source
    model.write_text(
        source.replace(anchor, anchor + "    drift_probe = fields.IntField(null=True)\n"),
        encoding="utf-8",
    )
    done = _makemigrations(repo)
    assert done.returncode == 0, done.stderr
    made = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert set(made) == set(DIALECTS)
    for dialect, name in made.items():
        assert name.endswith("_drift_check.py"), done.stdout
        text = (repo / "migrations" / dialect / "models" / name).read_text(encoding="utf-8")
        assert 'ALTER TABLE "booking" ADD "drift_probe" INT' in text
