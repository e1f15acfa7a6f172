"""From an empty directory to the README's first calls, as a newcomer goes.

A fresh copy of the repository (what a clone holds: git's files and new files not ignored, as
they are in the working tree) in an empty directory, with no virtual environment: `./scripts/demo`
runs there until the server answers (it creates `.venv` and installs into it). The export block
it printed is evaluated, and the README's first-calls block is run verbatim by bash: each call
prints its answer and HTTP status, and each must answer as the comment under it in the README
says (`# → ...`: the pieces between `…` appear in the answer, in that order).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 600.0  # a fresh virtual environment: pip installs every dependency
FIRST_CALLS_HEADING = "### First calls"
EXPECTED = "# → "


def repository_files() -> list[str]:
    """The files a clone of the repository holds (tracked, and new ones git does not ignore)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def first_calls_block(readme: str) -> str:
    """The first ```sh block after the README's first-calls heading that says what its calls
    answer (the one before it takes the demo's variables)."""
    after = readme.split(f"\n{FIRST_CALLS_HEADING}\n", 1)[1]
    blocks = [b.split("\n```", 1)[0] + "\n" for b in after.split("```sh\n")[1:]]
    return next(b for b in blocks if EXPECTED in b)


def expectations(block: str) -> list[str]:
    return [line.removeprefix(EXPECTED) for line in block.splitlines() if line.startswith(EXPECTED)]


def answers_as_said(answer: str, expected: str) -> bool:
    """Whether each piece of `expected` (split at `…`) appears in `answer`, in order."""
    at = 0
    for piece in (p.strip() for p in expected.split("…")):
        found = answer.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def clean_env(port: int) -> dict[str, str]:
    """This machine's environment without the test run's settings and virtual environment."""
    dropped = ("LEKO_", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return env | {"HOST": "127.0.0.1", "PORT": str(port)}


@dataclass
class Demo:
    root: Path
    url: str
    env: dict[str, str]
    output: Path

    def printed(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def bash(self, script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("fresh") / "leko-bookings"
    for name in repository_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    assert not (root / ".venv").exists()
    port = free_port()
    env = clean_env(port)
    output, errors = root.parent / "demo.out", root.parent / "demo.err"
    with output.open("w") as out, errors.open("w") as err:
        proc = subprocess.Popen(
            ["./scripts/demo"], cwd=root, env=env, stdout=out, stderr=err, start_new_session=True
        )
    demo = Demo(root, f"http://127.0.0.1:{port}", env, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Ctrl-C stops it" not in demo.printed():  # printed once the server answered
            assert proc.poll() is None, f"demo exited {proc.returncode}:\n{errors.read_text()}"
            assert time.monotonic() < deadline, f"no answer:\n{errors.read_text()}"
            time.sleep(0.5)  # waiting for a process (pip, the server), not for simulated time
        yield demo
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def exports(printed: str) -> str:
    return "\n".join(line for line in printed.splitlines() if line.startswith("export "))


def exported(demo: Demo, script: str) -> dict[str, str]:
    done = demo.bash(f"{script}\nenv")
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def test_the_demo_serves_and_prints_its_links_after_it_answers(demo):
    printed = demo.printed()
    assert (demo.root / ".venv" / "bin" / "leko-bookings").exists(), "the demo made .venv"
    links = dict(re.findall(r"^(athlete|coach|GraphiQL|Swagger UI):\s+(\S+)", printed, re.M))
    assert set(links) == {"athlete", "coach", "GraphiQL", "Swagger UI"}
    assert links["athlete"].startswith(f"{demo.url}/calendar#token=")
    assert links["coach"].startswith(f"{demo.url}/calendar#token=")
    for link in links.values():
        page = httpx.get(link.split("#", 1)[0], headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 200, link
    names = re.findall(r"^export (\w+)=", printed, re.M)
    for name in ("BASE_URL", "ATHLETE_ID", "ATHLETE_TOKEN", "COACH_ID", "COACH_TOKEN"):
        assert name in names
    for name in ("ADMIN_ID", "ADMIN_TOKEN", "EVENT_ID", "PENDING_BOOKING_ID", "PAST_BOOKING_ID"):
        assert name in names


def test_print_env_gives_the_ids_the_demo_printed(demo):
    """`seed --print-env` re-seeds (nothing new) and exports the same users, events and
    bookings; only the tokens are new."""
    printed = exported(demo, exports(demo.printed()))
    again = exported(demo, 'eval "$(.venv/bin/leko-bookings seed --print-env)"')
    ids = {k for k in printed if k.endswith("_ID")}
    assert len(ids) >= 8
    assert {k: printed[k] for k in ids} == {k: again[k] for k in ids}
    assert printed["BASE_URL"] == again["BASE_URL"] == demo.url


def test_the_readme_s_first_calls_answer_as_the_readme_says(demo):
    block = first_calls_block((demo.root / "README.md").read_text(encoding="utf-8"))
    expected = expectations(block)
    assert len(expected) >= 8, "an expected answer under each call"
    done = demo.bash(f"set -u\n{exports(demo.printed())}\n{block}")
    assert done.returncode == 0, done.stderr
    answers = done.stdout.splitlines()
    assert len(answers) == len(expected), done.stdout
    for number, (answer, said) in enumerate(zip(answers, expected, strict=True), 1):
        assert answers_as_said(answer, said), f"call {number}: {said!r}\nanswered: {answer}"


def test_an_answer_unlike_the_readme_s_comment_fails_the_check():
    said = '{"data":{"acceptBooking":{"bookingStatus":"Accepted"…}}} 200'
    assert answers_as_said(
        '{"data":{"acceptBooking":{"bookingStatus":"Accepted","x":1}}} 200', said
    )
    assert not answers_as_said('{"data":{"acceptBooking":{"bookingStatus":"Pending"}}} 200', said)
    assert not answers_as_said('{"data":{"acceptBooking":{"bookingStatus":"Accepted"}}} 400', said)
    assert not answers_as_said('}} 200 {"data":{"acceptBooking":{"bookingStatus":"Accepted"', said)
