"""The benchmark suite's smoke run (`python -m bench --smoke`) on PostgreSQL: tiny data, short runs.

Speed is not asserted (it is measured by `python -m bench`, never by tests): only that every
scenario completed on both servers with no errors, that no event was overbooked, and that the
baseline answers what the service answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import plans
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "get_by_id",
    "month_list",
    "graphql_calendar",
    "graphql_week",
    "post_bookings",
    "post_bookings_keyed",  # issue 17: compared with the baseline's post_bookings
}
COMPARED_WITH_ANOTHER = {"graphql_calendar", "post_bookings_keyed"}  # no baseline run of its own

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--pg", PG_ADMIN_URL, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads(out.read_text())
    result["exit_code"] = done.returncode
    result["output"] = done.stdout[-4000:] + done.stderr[-4000:]
    return result


def test_every_scenario_ran_on_the_service_and_the_baseline(smoke: dict[str, Any]) -> None:
    ran = {(r["scenario"], r["target"]) for r in smoke["runs"] if r["summary"]["completed"] > 0}
    assert {(s, "service") for s in SCENARIOS} <= ran
    assert {(s, "baseline") for s in SCENARIOS - COMPARED_WITH_ANOTHER} <= ran
    assert {row["scenario"] for row in smoke["table"]} == SCENARIOS
    assert all(row["baseline"] is not None for row in smoke["table"])


def test_no_errors_and_nothing_overbooked(smoke: dict[str, Any]) -> None:
    for row in smoke["table"]:
        assert row["errors"] == 0, (row["scenario"], row["service"]["error_samples"])
        assert row["unexpected"] == 0, (row["scenario"], row["service"]["statuses"])
    posts = [r for r in smoke["runs"] if r["scenario"].startswith("post_bookings")]
    assert len(posts) == 3  # the service's and the baseline's, the service's with keys
    for run in posts:
        assert run["summary"]["statuses"].get("201", 0) > 0
        assert run["db"]["overbooked_events"] == 0
        assert run["db"]["overlapping_bookings"] == 0
        # every accepted order (warm-up included) is in the database, and nothing else
        assert run["db"]["orders"] == run["summary"]["all_statuses"].get("201", 0)
    assert smoke["exit_code"] == 0, smoke["output"]


def test_the_baseline_answers_what_the_service_answers(smoke: dict[str, Any]) -> None:
    checks = smoke["equivalence"]
    assert set(checks) == {
        "get_by_id",
        "month_list",
        "graphql_calendar",
        "graphql_week",
        "post_bookings_refused",
        "post_bookings_accepted",
        "post_bookings_keyed_replay",
    }
    assert all(c["ok"] for c in checks.values()), checks


def test_every_statement_of_each_scenario_is_explained(smoke: dict[str, Any]) -> None:
    explained = smoke["plans"]
    assert set(explained) == SCENARIOS
    for name, entries in explained.items():
        assert len(entries) == smoke["sql_statements_per_request"][name]["statements"]
        for entry in entries:
            for mode in plans.MODES:
                assert "error" not in entry[mode], (name, entry["label"], entry[mode])
