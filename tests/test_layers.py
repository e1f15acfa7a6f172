"""The layering as a reader relies on it (issue 11): SQL, dialect branches, ORM queries and
library internals only in `store/`; transports see read models, never rows or ORM models."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "leko_bookings"
ABOVE_THE_STORE = ("resolvers", "schema", "rest_compat", "feeds")
TRANSPORTS = ("schema", "rest_compat", "feeds")


def modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("path", modules(*ABOVE_THE_STORE), ids=lambda p: p.name)
def test_no_sql_text_nor_dialect_branch_above_the_store(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.findall(r"SELECT |INSERT |UPDATE |DELETE FROM", text)
    assert not re.findall(r"capabilities\.dialect|\"postgres\"|'postgres'", text)


@pytest.mark.parametrize("path", modules(*ABOVE_THE_STORE), ids=lambda p: p.name)
def test_no_orm_query_above_the_store(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    calls = r"\.(filter|exclude|get_or_none|select_for_update|bulk_create|values_list)\("
    assert not re.findall(calls, text)
    assert not {i for i in imports(path) if i.startswith(("tortoise.queryset", "pypika"))}


def test_private_library_names_only_in_the_store() -> None:
    private = (
        r"_init_from_db|_make_query|get_parameterized_sql|_choose_db|_saved_in_db"
        r"|StrawberryGraphQLCoreExecutionContext"
    )
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name != "store":
            assert not re.findall(private, path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("path", modules(*TRANSPORTS), ids=lambda p: p.name)
def test_transports_take_read_models_from_the_store_and_nothing_else(path: Path) -> None:
    used = {i for i in imports(path) if i.startswith("leko_bookings.store")}
    assert used <= {"leko_bookings.store.views"} | {
        i for i in used if i.startswith("leko_bookings.store.views.")
    }, used
    # Tortoise's exceptions are what a database failure raises; the renderers map them.
    orm = {i for i in imports(path) if i.startswith("tortoise")}
    assert not {i for i in orm if not i.startswith("tortoise.exceptions")}
