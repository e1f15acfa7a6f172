"""Real `leko-bookings serve` processes on loopback, for tests that need them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

CLI = [sys.executable, "-m", "leko_bookings.cli"]
# Like the `settings` fixture: no rate limits unless the test's `env` sets them.
NO_RATE_LIMITS = {"LEKO_RATE_LIMIT_PER_MINUTE": "0", "LEKO_ORDER_RATE_LIMIT_PER_MINUTE": "0"}


IN_CI = os.environ.get("CI", "").lower() == "true"


def requires_program(path: Path, package: str) -> pytest.MarkDecorator:
    """Skip where Debian's `package` (which installs `path`) is missing, except in CI, where
    `.ci/run` installs it and the tests always run."""
    return pytest.mark.skipif(
        not path.exists() and not IN_CI,
        reason=f"no {path} (apt-get install {package}); these tests always run in CI",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_server(
    env: dict[str, str], port: int, args: tuple[str, ...], output: IO
) -> subprocess.Popen:
    """`leko-bookings serve` with exactly this environment, its output going to `output`."""
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning", *args],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def live_server(
    env: dict[str, str], *args: str, log: Path | None = None, start_timeout: float = 60.0
) -> Iterator[str]:
    """Start the CLI's server, wait until it answers, yield its base URL, stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log or os.devnull, "w") as out:
        proc = spawn_server({**os.environ, **NO_RATE_LIMITS, **env}, port, args, out)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited {proc.returncode}")
                try:
                    if httpx.get(f"{url}/v1/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time")
                time.sleep(0.1)  # waiting for a process to come up, not for simulated time
            yield url
        finally:
            stop_server(proc)
