"""Starting the two servers (and a peer, when asked for) as an operator does, and the load
generator processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    # `leko-bookings serve` (migrations were applied by `leko-bookings migrate` beforehand)
    "service": [sys.executable, "-m", "leko_bookings.cli", "serve", "--no-migrate"],
    # the same launcher (leko_bookings.serving.run), on the baseline's app factory
    "baseline": [sys.executable, "-m", "bench.baseline"],
}


@dataclass(frozen=True, slots=True)
class Launch:
    """A peer's command (it takes the launcher's `--host --port --workers --log-level`) and the
    environment it adds."""

    command: list[str]
    env: dict[str, str]


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    workers: int
    url: str
    port: int
    log: Path
    proc: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(server: Server, timeout: float = 90.0) -> None:
    """Until the server answers (any status: an unauthenticated GET is a 401)."""
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            code = server.proc.returncode
            raise RuntimeError(f"{server.name} exited {code}:\n{_tail(server.log)}")
        try:
            httpx.get(f"{server.url}/v1/bookings", timeout=2)
            return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name} did not start in {timeout:.0f} s:\n{_tail(server.log)}"
            )
        time.sleep(0.1)  # waiting for a process to come up


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _spawn(
    name: str, command: list[str], workers: int, env: dict[str, str], logdir: Path
) -> Server:
    port = free_port()
    log = logdir / f"{name}-{workers}w.log"
    args = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*command, *args, "--log-level", "warning"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, workers, f"http://127.0.0.1:{port}", port, log, proc)


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@contextmanager
def running(
    workers: int, env: dict[str, str], logdir: Path, peers: Mapping[str, Launch] | None = None
) -> Iterator[Servers]:
    """The service and the baseline (and the `peers`), started together with `workers`
    processes each."""
    launches = {name: Launch(command, {}) for name, command in COMMANDS.items()}
    launches.update(peers or {})
    servers = Servers()
    try:
        for name, launch in launches.items():
            servers[name] = _spawn(name, launch.command, workers, {**env, **launch.env}, logdir)
        yield servers
    finally:
        for server in servers.values():
            _stop(server)


class Servers(dict[str, Server]):
    def wait_ready(self) -> None:
        for server in self.values():
            _wait_ready(server)
        if any(s.workers > 1 for s in self.values()):
            time.sleep(2.0)  # the first answer proves one worker up; give the others their start


async def generate_load(
    server: Server,
    requests: list[dict[str, Any]],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    processes: int,
    seed: int,
    refusal_codes: bool,
    sequential: bool = False,
    min_completed: int = 0,
) -> dict[str, Any]:
    """Run the load generator in `processes` separate processes; merge their results."""
    procs = max(1, min(processes, concurrency))
    shares = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
    start_at = time.time() + 0.3 + 0.1 * procs  # every generator process up by then
    with tempfile.TemporaryDirectory(prefix="leko-bench-") as tmp:
        runs = []
        for i, share in enumerate(shares):
            spec = {
                "host": "127.0.0.1",
                "port": server.port,
                "concurrency": share,
                "duration": duration,
                "warmup": warmup,
                "start_at": start_at,
                "seed": seed * 100 + i,
                "requests": requests,
                "refusal_codes": refusal_codes,
                "pick": "sequence" if sequential else "random",
                "offset": i * len(requests) // procs,  # each process its own part of a sequence
                "min_completed": -(-min_completed // procs),
            }
            path = Path(tmp) / f"spec-{i}.json"
            path.write_text(json.dumps(spec))
            runs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.loadgen",
                    str(path),
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        outputs = [await p.communicate() for p in runs]
    for p, (_, err) in zip(runs, outputs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"load generator failed ({p.returncode}): {err.decode()[-2000:]}")
    return merge([json.loads(out) for out, _ in outputs])


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "generator_processes": len(results),
        "duration": max(r["duration"] for r in results),
        "concurrency": sum(r["concurrency"] for r in results),
        "latencies_ms": sorted(x for r in results for x in r["latencies_ms"]),
        "transport_errors": sum(r["transport_errors"] for r in results),
        "error_samples": [s for r in results for s in r["error_samples"]][:5],
        "cpu_seconds": round(sum(r["cpu_seconds"] for r in results), 3),
        "wall_seconds": max(r["wall_seconds"] for r in results),
    }
    for key in ("statuses", "all_statuses", "refusals"):
        total: dict[str, int] = {}
        for r in results:
            for k, v in r[key].items():
                total[k] = total.get(k, 0) + v
        merged[key] = dict(sorted(total.items()))
    merged["completed"] = len(merged["latencies_ms"])
    return merged
