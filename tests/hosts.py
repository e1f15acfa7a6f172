"""Several service hosts on one machine behind a real load balancer, for tests/test_hosts.py.

Hosts are network namespaces, each joined to this one by a veth pair (its own /30: this side .1,
the host's side .2), made with `ip netns` and `ip link` as root: a host's services reach the
machine's PgBouncer and webhook receiver only through its link, and the balancer reaches the host
only through it. Where the machine refuses namespaces (not root, no `ip`, or the kernel says no),
the hosts are two loopback addresses (127.0.0.2, 127.0.0.3) instead, and `Hosts.kind` and a
warning say so (`LEKO_TEST_HOSTS=loopback` asks for them).

The balancer is Debian's HAProxy (`/usr/sbin/haproxy`, installed by `.ci/run` when missing):
round robin, an HTTP health check on `/healthz` every 200 ms, a connection refused is retried on
the other host (`retries`, `option redispatch`), each answer names its host in `X-Served-By`, and
the statistics page (CSV) tells which hosts are up.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.live_server import free_port, requires_program, stop_server

HAPROXY = Path("/usr/sbin/haproxy")
requires_haproxy = requires_program(HAPROXY, "haproxy")
SERVICE_PORT = 8000


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Host:
    """One service host: where it listens, how to reach this machine from it, how to run in it."""

    name: str
    address: str  # where its services listen (the balancer's backend address)
    gateway: str  # this machine's address as the host sees it (PgBouncer, webhook receiver)
    prefix: tuple[str, ...]  # runs a command on the host (`ip netns exec <ns>`), or nothing
    procs: list[subprocess.Popen] = field(default_factory=list)

    def spawn(self, command: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        """A long-running command on this host, in a process group of its own (so that `kill`
        takes its workers too), its output appended to `log`."""
        with open(log, "a") as out:
            self.procs.append(
                subprocess.Popen(
                    [*self.prefix, *command],
                    env=dict(env),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def kill(self) -> None:
        """The host dies: SIGKILL to every process group started on it, nothing shuts down."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


@dataclass(frozen=True)
class Hosts:
    kind: str  # "network namespaces" or "loopback addresses"
    members: tuple[Host, ...]

    @property
    def gateways(self) -> tuple[str, ...]:
        return tuple(sorted({h.gateway for h in self.members}))


def _namespaces_refused(reason: str) -> str:
    return f"network namespaces refused ({reason}): the hosts are loopback addresses"


@contextmanager
def _namespace_hosts(count: int) -> Iterator[Hosts]:
    tag = f"{os.getpid() % 100000:05d}"
    block = (os.getpid() % 8000) * 4 * count  # /30s of 10.213.0.0/16, apart per test process
    made: list[str] = []
    try:
        members = []
        for i in range(count):
            ns, here, there = f"leko-{tag}-h{i + 1}", f"lk{tag}a{i + 1}", f"lk{tag}b{i + 1}"
            base = block + 4 * i
            net = f"10.213.{base // 256}"
            gateway, address = f"{net}.{base % 256 + 1}", f"{net}.{base % 256 + 2}"
            _ip("netns", "add", ns)
            made.append(ns)
            _ip("link", "add", here, "type", "veth", "peer", "name", there)
            _ip("link", "set", there, "netns", ns)
            _ip("addr", "add", f"{gateway}/30", "dev", here)
            _ip("link", "set", here, "up")
            _ip("-n", ns, "addr", "add", f"{address}/30", "dev", there)
            _ip("-n", ns, "link", "set", there, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            members.append(Host(f"h{i + 1}", address, gateway, ("ip", "netns", "exec", ns)))
        yield Hosts("network namespaces", tuple(members))
    finally:
        for ns in made:  # deleting a namespace deletes its end of the veth pair, so both ends
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@contextmanager
def service_hosts(count: int = 2) -> Iterator[Hosts]:
    """`count` hosts: network namespaces where the machine allows them, else loopback addresses
    (with a warning saying why)."""
    reason = None
    if os.environ.get("LEKO_TEST_HOSTS") == "loopback":
        reason = "LEKO_TEST_HOSTS=loopback"
    elif os.geteuid() != 0:
        reason = "not root"
    elif shutil.which("ip") is None:
        reason = "no ip command"
    if reason is None:
        try:
            with _namespace_hosts(count) as hosts:
                yield hosts
            return
        except subprocess.CalledProcessError as exc:
            reason = f"{' '.join(exc.cmd)}: {exc.stderr.strip()}"
    warnings.warn(_namespaces_refused(reason), stacklevel=3)
    members = tuple(Host(f"h{i + 1}", f"127.0.0.{i + 2}", "127.0.0.1", ()) for i in range(count))
    yield Hosts("loopback addresses", members)


@dataclass(frozen=True)
class Balancer:
    url: str
    stats_url: str
    log: Path

    def states(self) -> dict[str, str]:
        """Each backend host's state as HAProxy sees it (`UP`, `DOWN`, ...)."""
        rows = csv.DictReader(io.StringIO(httpx.get(self.stats_url, timeout=5).text.lstrip("# ")))
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "service"}


def _haproxy_config(port: int, stats_port: int, hosts: Hosts) -> str:
    servers = "".join(
        f"    server {h.name} {h.address}:{SERVICE_PORT} check inter 200ms fall 2 rise 2\n"
        for h in hosts.members
    )
    return f"""\
global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    retries 3
    option redispatch 1

frontend leko
    bind 127.0.0.1:{port}
    default_backend service

backend service
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    http-response set-header X-Served-By %[srv_name]
{servers}
frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


@contextmanager
def haproxy(hosts: Hosts, *, start_timeout: float = 15.0) -> Iterator[Balancer]:
    """HAProxy on a free loopback port in front of every host's service port."""
    if not HAPROXY.exists():
        raise RuntimeError(f"{HAPROXY} is missing: apt-get install haproxy (.ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="leko-haproxy-"))
    port, stats_port = free_port(), free_port()
    config = directory / "haproxy.cfg"
    config.write_text(_haproxy_config(port, stats_port, hosts))
    log = directory / "haproxy.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    balancer = Balancer(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{stats_port}/stats;csv", log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:  # a bounded wait for the process to come up
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"haproxy did not start (exit {proc.poll()}):\n{log.read_text()}"
                )
            try:
                balancer.states()
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield balancer
    finally:
        stop_server(proc)
        shutil.rmtree(directory, ignore_errors=True)


def serve_on(host: Host, env: Mapping[str, str], log: Path, *args: str) -> None:
    """`leko-bookings serve` on `host`'s address and the service port (its own process group)."""
    command = [sys.executable, "-m", "leko_bookings.cli", "serve", "--host", host.address]
    host.spawn([*command, "--port", str(SERVICE_PORT), "--log-level", "warning", *args], env, log)


def wait_until_up(balancer: Balancer, hosts: Hosts, log: Path, timeout: float = 90.0) -> None:
    """Until the balancer's health checks find every host up (servers migrate, then serve)."""
    deadline = time.monotonic() + timeout
    while True:
        states = balancer.states()
        if all(states.get(h.name) == "UP" for h in hosts.members):
            return
        dead = [h.name for h in hosts.members for p in h.procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"hosts not up ({states}; exited: {dead}):\n{log.read_text()}")
        time.sleep(0.1)  # waiting for processes to come up, not for simulated time


@contextmanager
def stopping(hosts: Hosts) -> Iterator[None]:
    """Every process started on the hosts is stopped on the way out."""
    with ExitStack() as stack:
        for host in hosts.members:
            stack.callback(host.stop)
        yield
