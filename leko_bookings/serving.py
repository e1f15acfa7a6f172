"""Serving the app with uvicorn: one process, or several workers each listening on a socket of
its own (SO_REUSEPORT), so the kernel spreads new connections evenly over them.

uvicorn's own multi-worker mode hands every worker one shared listening socket: whichever worker
wakes first accepts, and a client opening its keep-alive connections at once can land all of them
on one worker (measured by the bench: one worker at 94% of a core, the other at 0.1%). With a
socket per worker, the kernel assigns each connection by its address hash instead. uvicorn's
supervisor still starts, watches and restarts the workers; only the socket each one listens on
changes (`_Worker`).

`served_app` is the app as `serve` runs it: once started, its long-lived objects are moved out
of the garbage collector's way (`gc.freeze`) and young objects are collected less often (see
there).

`notify_every` runs `leko-bookings notify --every SECONDS` beside the server, a process of its
own started before the server and stopped after it: the cron a demo or a single host would
otherwise need (notifications are delivered by notify runs only).
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client import multiprocess as prometheus_multiprocess
from uvicorn.supervisors import multiprocess

from leko_bookings import metrics
from leko_bookings.server_limits import ServerLimits

YOUNG_OBJECTS = 10_000
"""Allocations between two collections of the youngest generation (CPython's default: 700)."""


def served_app() -> FastAPI:
    """`create_app()` as a server process runs it (`serve`'s factory): `frozen_once_started`.
    Imported here, not at the top: a worker process imports this module before it listens."""
    from leko_bookings.app import create_app

    return frozen_once_started(create_app())


def frozen_once_started(app: FastAPI) -> FastAPI:
    """`app`, tuned for a server process's garbage collector. Once the app has started
    (modules, schema, compiled plans, the pool), everything alive is frozen (`gc.freeze`: the
    cyclic collector no longer scans it; CPython's documented use, for objects that live as
    long as the process) and the youngest generation is collected every `YOUNG_OBJECTS`
    allocations instead of 700: a calendar request makes a few thousand short-lived objects,
    which with 700 were scanned about once per request while still in use, and the older
    generations rescanned the whole process (about 20% of a calendar request's CPU in the
    bench). Memory is still freed by reference counting as before; only cycles made before the
    freeze stay until the process ends. Not in `create_app`: tests build many apps in one
    process, which freezing would keep. The bench's baseline is served the same way."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            gc.collect()
            gc.freeze()
            gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
            yield state

    app.router.lifespan_context = lifespan
    return app


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Worker(multiprocess.Process):
    """A uvicorn worker that listens on a SO_REUSEPORT socket of its own."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        sock = _reuse_port_socket(self.config.host, self.config.port)
        sock.listen(self.config.backlog)
        super().target([sock])

    def join(self) -> None:
        """Wait for the worker to exit (every exit, restart or stop, comes through here), then
        drop its live gauges from the metrics (`mark_process_dead`; its counts stay)."""
        super().join()
        folder = metrics.multiprocess_dir()
        if folder is not None and self.pid is not None:
            prometheus_multiprocess.mark_process_dead(self.pid, folder)


class _Supervisor(multiprocess.Multiprocess):
    def run(self) -> None:
        # uvicorn's supervisor creates its workers from this module-level name (init and
        # restarts alike); this process exists only to supervise them.
        multiprocess.Process = _Worker  # type: ignore[misc]
        super().run()


@contextmanager
def _metrics(host: str, workers: int, metrics_port: int | None) -> Iterator[None]:
    """Several workers count into files of a fresh directory (prometheus-client's multiprocess
    mode; set before they start, removed after), which every scrape adds up; `metrics_port`
    serves the metrics from this process on a port of their own."""
    folder = None
    if workers > 1:
        folder = tempfile.mkdtemp(prefix="leko-metrics-")
        os.environ[metrics.MULTIPROC_DIR] = folder  # inherited by the workers
    try:
        stop = metrics.start_metrics_server(host, metrics_port) if metrics_port else None
        try:
            yield
        finally:
            if stop is not None:
                stop()
    finally:
        if folder is not None:
            os.environ.pop(metrics.MULTIPROC_DIR, None)
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _notify_runs(every: float | None) -> Iterator[None]:
    """`leko-bookings notify --every SECONDS` while the server runs (nothing when `every` is
    None). It also stops by itself within a second once this process is gone
    (`--stop-with-parent`): uvicorn ends a process stopped by a signal with that signal again,
    so this block's end is not always reached."""
    if not every:
        yield
        return
    command = [sys.executable, "-m", "leko_bookings.cli", "notify", "--every", f"{every:g}"]
    runs = subprocess.Popen([*command, "--stop-with-parent"])
    try:
        yield
    finally:
        runs.terminate()
        try:
            runs.wait(timeout=10)
        except subprocess.TimeoutExpired:
            runs.kill()
            runs.wait()


def run(
    app: str,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    log_config: dict[str, Any] | None = None,
    metrics_port: int | None = None,
    limits: ServerLimits | None = None,
    notify_every: float | None = None,
) -> None:
    """Serve `app` (an import string of a factory) as `uvicorn.run(..., factory=True)` does,
    without uvicorn's access log (the app writes its own, `observability.py`), within `limits`
    (server_limits.py; uvicorn's defaults without), with a notify run every `notify_every`
    seconds when given."""
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": log_level,
        "proxy_headers": True,
        "access_log": False,
    }
    if log_config is not None:
        options["log_config"] = log_config
    if limits is not None:
        options |= limits.uvicorn_options()  # header size, keep-alive, shutdown, connections
    with _metrics(host, workers, metrics_port), _notify_runs(notify_every):
        _run(app, options, host, port, workers)


def _run(app: str, options: dict[str, Any], host: str, port: int, workers: int) -> None:
    if workers <= 1:
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(app, **options)
    try:
        # Held, bound but not listening, while the workers run: the port is taken at once (an
        # error here, not in every worker, if another program has it), and no connection is
        # ever queued on this socket.
        reserved = _reuse_port_socket(host, port)
    except OSError as exc:
        sys.exit(f"cannot listen on {host}:{port}: {exc}")
    try:
        _Supervisor(config, sockets=[]).run()
    finally:
        reserved.close()
