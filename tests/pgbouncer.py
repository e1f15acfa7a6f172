"""A real PgBouncer (Debian's /usr/sbin/pgbouncer) in front of the harness's PostgreSQL, for the
tests that prove the service behind one (issue 15).

`pgbouncer(pool_mode)` starts one on a free loopback port in a temporary directory (trust auth:
the user names are listed in its auth file, as PgBouncer requires), waits until it accepts
connections and stops it afterwards. PgBouncer refuses to run as root: as root (CI) it is started
with `-u postgres` (or `nobody`), the directory handed to that user. Skipped where the binary is
absent outside CI; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.conftest import PG_ADMIN_URL
from tests.live_server import free_port, requires_program, stop_server

PGBOUNCER = Path("/usr/sbin/pgbouncer")
requires_pgbouncer = requires_program(PGBOUNCER, "pgbouncer")
# Connections to PostgreSQL per database and user: fewer than the clients the tests open (two
# workers x maxsize 20), so that server connections are really shared between clients.
POOL_SIZE = 10


@dataclass(frozen=True)
class Bouncer:
    port: int
    pool_mode: str
    log: Path

    def url(self, database: str, *, host: str = "127.0.0.1", **query: str | int) -> str:
        """A `postgres://` URL of `database` through this PgBouncer (at `host`, one of the
        addresses it listens on), as LEKO_DATABASE_URL."""
        upstream = urlsplit(PG_ADMIN_URL)
        user = upstream.username or "postgres"
        tail = f"?{urlencode(query)}" if query else ""
        return f"postgres://{user}@{host}:{self.port}/{database}{tail}"


def _run_as() -> str | None:
    """The user PgBouncer switches to (`-u`) when started as root; None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root with neither a postgres nor a nobody user for pgbouncer")


def _config(
    directory: Path,
    port: int,
    pool_mode: str,
    pool_size: int,
    listen: Sequence[str],
    aliases: Mapping[str, str],
) -> str:
    upstream = urlsplit(PG_ADMIN_URL)
    server = f"host={upstream.hostname or '127.0.0.1'} port={upstream.port or 5432}"
    named = "".join(f"{alias} = {server} {options}\n" for alias, options in aliases.items())
    return f"""\
[databases]
{named}* = {server}

[pgbouncer]
listen_addr = {",".join(listen)}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 1000
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
"""


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def pgbouncer(
    pool_mode: str = "transaction",
    *,
    pool_size: int = POOL_SIZE,
    start_timeout: float = 15.0,
    listen: Sequence[str] = ("127.0.0.1",),
    aliases: Mapping[str, str] | None = None,
) -> Iterator[Bouncer]:
    """A running PgBouncer in `pool_mode` in front of the harness's PostgreSQL, listening on the
    `listen` addresses. `aliases` adds database entries (name -> PgBouncer options such as
    `dbname=x pool_mode=session`) before the catch-all one."""
    if not PGBOUNCER.exists():
        raise RuntimeError(f"{PGBOUNCER} is missing: apt-get install pgbouncer (.ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="leko-pgbouncer-"))
    port = free_port()
    users = {urlsplit(PG_ADMIN_URL).username or "postgres", "postgres", "root"}
    (directory / "users.txt").write_text("".join(f'"{u}" ""\n' for u in sorted(users)))
    config = directory / "pgbouncer.ini"
    config.write_text(_config(directory, port, pool_mode, pool_size, listen, aliases or {}))
    command = [str(PGBOUNCER), "-q"]
    user = _run_as()
    if user is not None:
        shutil.chown(directory, user)
        for path in directory.iterdir():
            shutil.chown(path, user)
        command += ["-u", user]
    proc = subprocess.Popen(
        [*command, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    bouncer = Bouncer(port, pool_mode, directory / "pgbouncer.log")
    try:
        deadline = time.monotonic() + start_timeout
        while not _accepts(listen[0], port):  # a bounded wait for the process to come up
            if proc.poll() is not None or time.monotonic() > deadline:
                log = bouncer.log.read_text() if bouncer.log.exists() else ""
                raise RuntimeError(f"pgbouncer did not start (exit {proc.poll()}):\n{log}")
            time.sleep(0.05)
        yield bouncer
    finally:
        stop_server(proc)  # SIGTERM: PgBouncer's immediate shutdown
        shutil.rmtree(directory, ignore_errors=True)
