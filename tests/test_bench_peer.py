"""The benchmark's PostGraphile peer (`python -m bench --smoke --peer postgraphile`) on PostgreSQL.

The first run installs bench/postgraphile's npm packages (`npm ci`: network to the npm registry).
Speed is not asserted: only that PostGraphile served the calendar with no errors, that its rows
are the service's (the equivalence check), and that the run printed service/PostGraphile.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from bench import peer
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[1]
RATIO_LINE = re.compile(r"^graphql_calendar service/postgraphile (\d+\.\d{2})x$", re.MULTILINE)
CHECK = "graphql_calendar_postgraphile"

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "peer.json"
    command = [sys.executable, "-m", "bench", "--smoke", "--peer", "postgraphile"]
    command += ["--scenarios", "graphql_calendar", "--pg", PG_ADMIN_URL, "--out", str(out)]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,  # npm ci on first use, then a smoke run
        check=False,
    )
    assert out.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads(out.read_text())
    result["exit_code"] = done.returncode
    result["stdout"] = done.stdout
    result["output"] = done.stdout[-4000:] + done.stderr[-4000:]
    return result


def test_postgraphile_served_the_calendar_with_no_errors(run: dict[str, Any]) -> None:
    served = [r for r in run["runs"] if r["target"] == "postgraphile"]
    assert [(r["scenario"], r["processes"]) for r in served] == [("graphql_calendar", 1)]
    summary = served[0]["summary"]
    assert summary["completed"] > 0
    assert summary["errors"] == 0, summary["error_samples"]
    assert set(summary["all_statuses"]) == {"200"}, summary["all_statuses"]
    assert summary["server_cpu_ms"] is not None
    assert summary["server_cpu_ms"] > 0
    (row,) = run["table"]
    assert row["errors"] == 0
    assert row["unexpected"] == 0
    assert row["peers"]["postgraphile"]["summary"] == summary
    assert run["peers"]["postgraphile"]["versions"]["node"].startswith("v22.")
    assert run["exit_code"] == 0, run["output"]


def test_postgraphile_answers_the_service_s_bookings(run: dict[str, Any]) -> None:
    check = run["equivalence"][CHECK]
    assert check["ok"], check
    assert "same order" in check["detail"]


def test_the_ratio_line_is_printed_once_per_process_count(run: dict[str, Any]) -> None:
    printed = RATIO_LINE.findall(run["stdout"])
    assert len(printed) == 1, run["output"]
    (row,) = run["table"]
    ratio = row["peers"]["postgraphile"]["ratio"]
    assert float(printed[0]) == ratio
    assert ratio == round(row["service"]["rps"] / row["peers"]["postgraphile"]["summary"]["rps"], 2)
    assert run["peers"]["postgraphile"]["ratios"] == {"1": ratio}


# -- the equivalence check itself: it fails on another answer ------------------------------------


def _answers() -> tuple[dict[str, Any], dict[str, Any]]:
    """A service calendar of two bookings and PostGraphile's spelling of the same rows."""
    service_nodes, peer_nodes = [], []
    for hour in (9, 11):
        service_node: dict[str, Any] = {}
        peer_node: dict[str, Any] = {}
        for column in peer.COLUMNS:
            name = column.service.rsplit(".", 1)[-1]
            a, b = _values(name, column.normalise, hour)
            _put(service_node, column.service, a)
            _put(peer_node, column.peer, b)
        service_nodes.append(service_node)
        peer_nodes.append(peer_node)
    page = {"hasNextPage": False, "endCursor": "x"}
    return (
        {"data": {"bookings": {"nodes": service_nodes, "pageInfo": page}}},
        {"data": {"allBookings": {"nodes": peer_nodes, "pageInfo": page}}},
    )


def _values(name: str, normalise: Any, hour: int) -> tuple[Any, Any]:
    if normalise is peer._uuid:
        same = str(uuid4())
        return same, same
    if normalise is peer._instant:
        return f"2026-06-01T{hour:02}:00:00Z", f"2026-06-01T{hour:02}:00:00.000000+00:00"
    if normalise is peer._integer:
        return 2500, "2500"
    return f"{name}-{hour}", f"{name}-{hour}"


def _put(node: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _compare(service: dict[str, Any], postgraphile: dict[str, Any]) -> dict[str, Any]:
    return peer.compare(httpx.Response(200, json=service), httpx.Response(200, json=postgraphile))


def test_the_same_rows_in_another_spelling_pass() -> None:
    service, postgraphile = _answers()
    assert _compare(service, postgraphile)["ok"]


def test_another_order_a_missing_row_or_another_value_fails() -> None:
    service, postgraphile = _answers()
    nodes = postgraphile["data"]["allBookings"]["nodes"]
    nodes.reverse()
    assert not _compare(service, postgraphile)["ok"]
    nodes.pop()
    assert not _compare(service, postgraphile)["ok"]
    service, postgraphile = _answers()
    postgraphile["data"]["allBookings"]["nodes"][1]["eventByEventId"]["price"] = "2501"
    verdict = _compare(service, postgraphile)
    assert not verdict["ok"]
    assert "timeslot.price" in verdict["detail"]
    service, postgraphile = _answers()
    postgraphile["data"]["allBookings"] = None
    assert not _compare(service, postgraphile)["ok"]
