"""The library internals the store's adapters use (`store/sql.py: PRIVATE_API`, Tortoise's;
`store/http_protocol.py: PRIVATE_API`, uvicorn's), each touched here: an upgrade of tortoise-orm,
pypika-tortoise or uvicorn that renames or drops one fails in this file first, not somewhere in a
request. The behaviour built on them is tested in test_hot_paths.py and test_server_limits.py."""

from __future__ import annotations

import importlib
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from tortoise.models import Model

from leko_bookings.models import Booking
from leko_bookings.store import http_protocol, sql

ROOT = Path(__file__).resolve().parents[1]


def _resolve(dotted: str) -> tuple[type, str]:
    module_name, owner, name = dotted.rsplit(".", 2)
    return getattr(importlib.import_module(module_name), owner), name


@pytest.mark.parametrize("dotted", sql.PRIVATE_API)
def test_each_private_name_is_still_there(dotted: str, db) -> None:
    owner, name = _resolve(dotted)
    if owner is Model and name in ("_saved_in_db", "_meta"):
        instance = Booking()  # instance attributes: set on every model instance
        assert hasattr(instance, name)
    else:
        assert callable(getattr(owner, name))


def test_the_meta_fields_used_are_there(db) -> None:
    meta = Booking._meta
    assert {"fields_db_projection", "fields_map", "db_table"} <= set(dir(meta))
    assert meta.fields_db_projection["event_id"] == "event_id"


@pytest.mark.parametrize("dotted", http_protocol.PRIVATE_API)
def test_each_private_uvicorn_name_is_still_there(dotted: str) -> None:
    if dotted.count(".") == 1:  # a module
        assert importlib.import_module(dotted)
        return
    owner, name = _resolve(dotted)
    assert callable(getattr(owner, name))


def test_the_libraries_with_private_names_are_pinned_exactly() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for package in ("tortoise-orm", "pypika-tortoise", "uvicorn"):
        pinned = re.search(rf'"{package}(?:\[\w+\])?==([^"]+)"', pyproject)
        assert pinned, f"{package} must be pinned with == (the store uses its private API)"
        assert version(package) == pinned.group(1)


def test_no_private_name_is_used_outside_the_store() -> None:
    dotted = (*sql.PRIVATE_API, *http_protocol.PRIVATE_API)
    names = {d.rsplit(".", 1)[1] for d in dotted if d.rsplit(".", 1)[1].startswith("_")}
    for path in (ROOT / "leko_bookings").rglob("*.py"):
        if path.parent.name == "store":
            continue
        text = path.read_text(encoding="utf-8")
        used = [n for n in names if re.search(rf"\.{re.escape(n)}\b", text)]
        assert not used, f"{path.relative_to(ROOT)} uses {used}: only store/ may"
