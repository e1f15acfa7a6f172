"""Serving the app with uvicorn: one process, or several workers each listening on a socket of
its own (SO_REUSEPORT), so the kernel spreads new connections evenly over them.

uvicorn's own multi-worker mode hands every worker one shared listening socket: whichever worker
wakes first accepts, and a client opening its keep-alive connections at once can land all of them
on one worker (measured by the bench: one worker at 94% of a core, the other at 0.1%). With a
socket per worker, the kernel assigns each connection by its address hash instead. uvicorn's
supervisor still starts, watches and restarts the workers; only the socket each one listens on
changes (`_Worker`).
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess


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


class _Supervisor(multiprocess.Multiprocess):
    def run(self) -> None:
        # uvicorn's supervisor creates its workers from this module-level name (init and
        # restarts alike); this process exists only to supervise them.
        multiprocess.Process = _Worker  # type: ignore[misc]
        super().run()


def run(app: str, *, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve `app` (an import string of a factory) as `uvicorn.run(..., factory=True)` does."""
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": log_level,
        "proxy_headers": True,
    }
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
