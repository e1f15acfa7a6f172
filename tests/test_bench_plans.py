"""`bench.plans`: the tool that shows how PostgreSQL runs each hot statement (for the README's
Performance section). It must explain every statement with its values, custom and generic plan,
change nothing, go on past a failing statement, and flag a sequential scan of a large table."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from bench import plans
from tests.conftest import PG_ADMIN_DSN as DSN

pytestmark = pytest.mark.postgres_only


@pytest.fixture
async def table():
    name = f"leko_plans_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(DSN)
    await conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v int NOT NULL)")
    await conn.execute(f"INSERT INTO {name} SELECT i, i % 100 FROM generate_series(1, 20000) i")
    await conn.execute(f"ANALYZE {name}")
    try:
        yield name, conn
    finally:
        await conn.execute(f"DROP TABLE {name}")
        await conn.close()


async def test_each_statement_is_explained_with_its_values_and_nothing_is_kept(table):
    name, conn = table
    sent = {
        "probe": [
            (f"INSERT INTO {name} (id, v) VALUES ($1, $2)", [30_000, 1]),
            (f"SELECT * FROM {name} WHERE id = $1", [30_000]),
            ("SELECT * FROM leko_no_such_table", []),
            (f"SELECT count(*) FROM {name} WHERE v = $1", [7]),
        ]
    }
    found = await plans.explain(DSN, sent)
    entries = found["probe"]
    assert len(entries) == 4
    for mode in plans.MODES:
        insert, by_id, missing, by_v = (e[mode] for e in entries)
        assert insert["access"] == [f"Insert {name}"]
        # the row the INSERT wrote is seen by the next statement: one transaction, in order
        assert by_id["access"] == [f"Index Scan {name}_pkey (id)"]
        assert by_id["rows"] == 1
        assert by_id["seq_scans_of_large_tables"] == []
        assert "UndefinedTableError" in missing["error"]
        assert by_v["seq_scans_of_large_tables"] == [name]
        assert by_v["ms"] is not None
        assert by_v["ms"] >= 0
    assert entries[1]["generic"]["plan"]["Index Cond"].endswith("= $1)")
    assert "30000" in entries[1]["custom"]["plan"]["Index Cond"]
    assert await conn.fetchval(f"SELECT count(*) FROM {name}") == 20_000  # rolled back
    flagged = plans.flagged(found)
    assert any("#3" in f and "UndefinedTableError" in f for f in flagged)
    assert any("#4" in f and f"sequential scan of {name}" in f for f in flagged)
    rendered = plans.render(found)
    assert f"Index Scan {name}_pkey (id)" in rendered
    assert "FLAGGED" in rendered
