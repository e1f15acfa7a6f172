"""The server's own limits (`serve` options, server_limits.py), against real `serve` processes:
request heads over `--max-header-bytes` are 431 in JSON and the server goes on serving; an idle
connection lives `--keep-alive-seconds` (longer than uvicorn's 5 s), then the server closes it;
SIGTERM waits at most `--graceful-shutdown-seconds` for a client stalled mid-body; a worker
serves `--max-connections` connections, a request on one more is 503 with Retry-After.

The protocol's byte counting is also checked without a server, chunk by chunk, where the chunks
are exactly the test's (a real socket may join or split them). Waits here are the server's own
timers (keep-alive, graceful shutdown) and bounded; nothing sleeps for correctness otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from leko_bookings.auth import mint_token
from leko_bookings.cli import build_parser
from leko_bookings.server_limits import ServerLimits, from_args
from leko_bookings.settings import Settings
from leko_bookings.store.http_protocol import LimitedHttpToolsProtocol
from tests.conftest import SECRET, create_pg_database, drop_pg_database, pg_url
from tests.live_server import CLI, NO_RATE_LIMITS, free_port, spawn_server, stop_server

KIB = 1024
KEEP_ALIVE = 2.0  # seconds: the served process's --keep-alive-seconds
GRACE = 1.0  # seconds: its --graceful-shutdown-seconds
CAP = 3  # its --max-connections


# --- Options and settings -----------------------------------------------------------------------


def test_defaults_are_16_kib_30_s_75_s_and_1000_connections():
    limits = ServerLimits.from_settings(Settings())
    assert limits == ServerLimits(16 * KIB, 30.0, 75.0, 1000)
    # Above the 60 s idle timeout of common load balancers (AWS ALB, GCP, nginx upstreams):
    # the balancer closes an idle connection first, never the service under its feet.
    assert limits.keep_alive_seconds > 60
    options = limits.uvicorn_options()
    assert options["http"] is LimitedHttpToolsProtocol
    assert options["timeout_keep_alive"] == 75.0
    assert options["timeout_graceful_shutdown"] == 30.0
    assert options["limit_concurrency"] == 1000
    assert options["h11_max_incomplete_event_size"] == 16 * KIB


def test_options_override_settings_which_override_defaults():
    settings = Settings(keep_alive_seconds=90, max_header_bytes=8 * KIB)
    args = build_parser().parse_args(
        ["serve", "--max-connections", "7", "--keep-alive-seconds", "2"]
    )
    assert from_args(args, settings) == ServerLimits(8 * KIB, 30.0, 2.0, 7)


@pytest.mark.parametrize(
    "option",
    [
        ["--max-header-bytes", "100"],
        ["--max-connections", "0"],
        ["--keep-alive-seconds", "0"],
        ["--graceful-shutdown-seconds", "-1"],
        ["--keep-alive-seconds", "soon"],
    ],
)
def test_out_of_range_options_are_refused(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["serve", *option])
    assert exit_.value.code == 2
    assert option[0] in capsys.readouterr().err


def test_each_option_s_help_names_its_setting_and_default():
    done = subprocess.run(
        [*CLI, "serve", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    text = " ".join(done.stdout.split())
    for option, setting, default in [
        ("--max-header-bytes", "LEKO_MAX_HEADER_BYTES", "16384"),
        ("--graceful-shutdown-seconds", "LEKO_GRACEFUL_SHUTDOWN_SECONDS", "30"),
        ("--keep-alive-seconds", "LEKO_KEEP_ALIVE_SECONDS", "75"),
        ("--max-connections", "LEKO_MAX_CONNECTIONS_PER_WORKER", "1000"),
    ]:
        assert f"{option} N" in text
        assert f"(default: {setting}, else {default})" in text


# --- Real servers -------------------------------------------------------------------------------


@dataclass
class Served:
    proc: subprocess.Popen
    host: str
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@contextmanager
def serving(database_url: str, log: Path, *args: str) -> Iterator[Served]:
    """`leko-bookings serve <args>` on `database_url` (migrated at start), once it answers."""
    port = free_port()
    env = {**os.environ, **NO_RATE_LIMITS, "LEKO_DATABASE_URL": database_url}
    env["LEKO_JWT_SECRET"] = SECRET
    with log.open("w") as out:
        proc = spawn_server(env, port, args, out)
    served = Served(proc, "127.0.0.1", port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited {proc.returncode}:\n{log.read_text()}"
            try:
                if httpx.get(f"{served.url}/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start:\n{log.read_text()}"
            time.sleep(0.05)  # polling for a process to come up
        yield served
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One worker on SQLite, default head limit (16 KiB), short keep-alive, a cap of CAP."""
    folder = tmp_path_factory.mktemp("limits")
    with serving(
        f"sqlite://{folder / 'limits.sqlite3'}",
        folder / "server.log",
        "--keep-alive-seconds",
        str(KEEP_ALIVE),
        "--max-connections",
        str(CAP),
    ) as served:
        yield served


def exchange(sock: socket.socket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one request on `sock` and read its answer (status, headers, body)."""
    sock.sendall(request)
    return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection; read so far: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def get(path: str = "/healthz", *extra: bytes, method: str = "GET") -> bytes:
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: test", *extra]
    return b"\r\n".join(head) + b"\r\n\r\n"


def padded(size: int) -> bytes:
    """One header field `X-Pad: aaa...` CRLF of exactly `size` bytes (as counted)."""
    return b"X-Pad: " + b"a" * (size - len(b"X-Pad: \r\n"))


def closed_by_server(sock: socket.socket, timeout: float) -> float:
    """Seconds until the server closes `sock` (EOF), waiting at most `timeout`."""
    sock.settimeout(timeout)
    started = time.monotonic()
    with suppress(ConnectionResetError):
        assert sock.recv(1) == b"", "the server sent something instead of closing"
    return time.monotonic() - started


# --- Request headers ----------------------------------------------------------------------------


def test_a_15_kib_header_is_served(server):
    with closing(server.connect()) as sock:
        status, _, body = exchange(sock, get("/healthz", padded(15 * KIB)))
    assert status == 200, body


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/healthz", [padded(17 * KIB)]),
        ("/v1/bookings", [b"X-Many-%d: %s" % (i, b"b" * 200) for i in range(100)]),  # 20 KiB
        ("/graphql", [padded(17 * KIB)]),
        ("/v1/" + "t" * 17 * KIB, []),
    ],
    ids=["one-17-kib-header", "many-small-headers", "graphql", "17-kib-target"],
)
def test_headers_over_16_kib_are_431_in_json_and_the_server_goes_on(server, path, fields):
    with closing(server.connect()) as sock:
        status, headers, body = exchange(sock, get(path, *fields))
        assert status == 431
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        assert closed_by_server(sock, 5) < 5
    [error] = orjson.loads(body)["errors"]
    if path == "/graphql":  # a GraphQL error, as /graphql answers its request errors
        assert error["extensions"]["code"] == "validation"
        assert error["extensions"]["requestId"] == headers["x-request-id"]
    else:  # the contract's Error
        assert error["code"] == "validation"
        assert error["endpoint"] == f"GET {path[:200]}"
        assert error["requestId"] == headers["x-request-id"]
    assert "16384 bytes" in error["message"]
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_a_64_mib_header_is_refused_without_reading_it_whole(server):
    """The header that once held a worker 4.4 s: refused after the first 17 KiB or so."""
    with closing(server.connect()) as sock:
        started = time.monotonic()
        head = get("/healthz", b"X-Huge: " + b"z" * (64 * KIB * KIB))
        # The server drops what follows its answer (or stops reading: the answer is there).
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        status, _, _ = read_response(sock)
        elapsed = time.monotonic() - started
    assert status == 431
    assert elapsed < 3, f"{elapsed:.2f} s"
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


# --- Keep-alive ---------------------------------------------------------------------------------


def test_an_idle_connection_lives_the_keep_alive_timeout_then_the_server_closes_it(server):
    """uvicorn's default closed it after 5 s without saying so (a balancer's 502s); here the
    timeout is the option's (75 s by default; KEEP_ALIVE here, to keep the test short)."""
    with (
        closing(server.connect()) as sock,
        closing(server.connect()) as silent,
        closing(server.connect()) as stalled,
    ):
        assert exchange(sock, get())[0] == 200
        stalled.sendall(b"GET /healthz HTTP/1.1\r\nHost: te")  # a head that stops coming
        time.sleep(KEEP_ALIVE / 2)  # idle, under the timeout: the waiting is the test
        assert exchange(sock, get())[0] == 200  # the same connection, reused
        # Idle past the timeout: the server closes it, as it does a connection that never sent
        # a request, and one whose request head stopped arriving.
        waited = closed_by_server(sock, KEEP_ALIVE + 3)
        assert KEEP_ALIVE * 0.9 <= waited <= KEEP_ALIVE + 1.5, f"{waited:.2f} s"
        assert closed_by_server(silent, 3) < 3
        assert closed_by_server(stalled, 3) < 3


# --- Connections per worker ---------------------------------------------------------------------


def test_a_request_past_the_connection_cap_is_503_with_retry_after(server):
    with (
        closing(server.connect()) as a,
        closing(server.connect()) as b,
        closing(server.connect()) as c,
    ):
        for sock in (a, b, c):  # CAP connections, each served
            assert exchange(sock, get())[0] == 200
        with closing(server.connect()) as extra:
            status, headers, body = exchange(extra, get("/v1/bookings"))
            assert status == 503
            assert headers["retry-after"] == "1"
            assert headers["connection"] == "close"
            [error] = orjson.loads(body)["errors"]
            assert error["code"] == "unexpected"
            assert error["requestId"] == headers["x-request-id"]
            assert closed_by_server(extra, 5) < 5
        assert exchange(a, get())[0] == 200  # those within the cap are served as before
    with closing(server.connect()) as again:  # the others closed: room again
        assert exchange(again, get())[0] == 200


# --- Graceful shutdown --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite-1-worker", "postgres-2-workers"])
async def shutdown_target(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Any:  # (database URL, serve arguments)
    if request.param.startswith("sqlite"):
        yield f"sqlite://{tmp_path / 'stop.sqlite3'}", ()
        return
    name = f"leko_limits_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await create_pg_database(name)
    try:
        yield pg_url(name), ("--workers", "2")
    finally:
        await drop_pg_database(name)


async def test_sigterm_waits_for_a_stalled_upload_at_most_the_graceful_time(
    shutdown_target, tmp_path
):
    """A client stalled mid-body held SIGTERM's shutdown forever (> 40 s measured); now the
    request gets GRACE seconds, then it is answered 503 and the process exits, closing every
    connection."""
    url, args = shutdown_target
    token = mint_token(Settings(jwt_secret=SECRET), uuid.uuid4(), ["athlete"])
    log = tmp_path / "server.log"
    with serving(url, log, "--graceful-shutdown-seconds", str(GRACE), *args) as served:
        stalled = served.connect()
        with closing(stalled), closing(served.connect()) as idle:
            assert exchange(idle, get())[0] == 200  # an idle keep-alive connection too
            head = get(
                "/graphql",
                f"Authorization: Bearer {token}".encode(),
                b"Content-Type: application/json",
                b"Content-Length: 1000",
                b"Expect: 100-continue",
                method="POST",
            )
            # "100 Continue" comes when the app reads the body: the request is in flight.
            stalled.sendall(head)
            assert stalled.recv(100).startswith(b"HTTP/1.1 100 Continue")
            stalled.sendall(b'{"query": "{ __typename ')  # ... and nothing more
            started = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(served.proc.wait, GRACE + 10)
            took = time.monotonic() - started
            # Answered 503 (retry elsewhere), and closed.
            status, headers, body = read_response(stalled)
            assert status == 503
            assert headers["retry-after"] == "1"
            assert orjson.loads(body)["errors"][0]["extensions"]["code"] == "unexpected"
            assert closed_by_server(stalled, 1) < 1
            assert closed_by_server(idle, 1) < 1
    assert GRACE * 0.9 <= took <= GRACE + 4, f"{took:.2f} s"  # waited for it, within bounds
    text = log.read_text()
    assert "timeout graceful shutdown exceeded" in text
    assert "Exception in ASGI application" not in text  # no traceback: a one-line warning


# --- The protocol, chunk by chunk ---------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    """What the protocol writes, and whether it closed or half-closed the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False
        self.eof_sent = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_sent = True

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def protocol(max_head: int = 4 * KIB) -> Iterator[tuple[LimitedHttpToolsProtocol, FakeTransport]]:
    options = ServerLimits(max_head, 1.0, 5.0, 100).uvicorn_options()
    config = Config(ok_app, log_config=None, **options)
    proto = LimitedHttpToolsProtocol(config, ServerState(), {})
    transport = FakeTransport()
    proto.connection_made(transport)
    try:
        yield proto, transport
    finally:
        proto.connection_lost(None)


def head_of(size: int, path: str = "/x") -> bytes:
    """A request head whose target and fields count `size` bytes."""
    return get(path, padded(size - len(path) - len(b"Host: test\r\n")))


async def settle() -> None:
    for _ in range(20):  # let the app's tasks answer
        await asyncio.sleep(0)


@pytest.mark.parametrize("pieces", [1, 2, 7, 64])
async def test_a_head_at_the_limit_passes_in_any_chunking(pieces):
    data = head_of(4 * KIB)
    with protocol() as (proto, transport):
        step = -(-len(data) // pieces)
        for i in range(0, len(data), step):
            proto.data_received(data[i : i + step])
        await settle()
    assert transport.written.startswith(b"HTTP/1.1 200 OK"), transport.written[:200]


@pytest.mark.parametrize("pieces", [1, 2, 7, 64])
async def test_a_head_one_byte_over_is_431_in_any_chunking(pieces):
    data = head_of(4 * KIB + 1)
    with protocol() as (proto, transport):
        step = -(-len(data) // pieces)
        for i in range(0, len(data), step):
            proto.data_received(data[i : i + step])
        await settle()
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert transport.eof_sent  # the answer, then FIN; what the client still sends is dropped


async def test_an_endless_header_is_refused_after_the_limit_and_its_framing():
    with protocol() as (proto, transport):
        proto.data_received(b"GET /x HTTP/1.1\r\nX-Endless: ")
        sent = 0
        while not transport.written:
            proto.data_received(b"e" * 512)
            sent += 512
        assert sent <= 4 * KIB + 1024 + 512  # the raw bound: the limit and HEAD_FRAMING_BYTES
        assert transport.written.startswith(b"HTTP/1.1 431 ")
        proto.data_received(b"e" * 65536)  # dropped, not parsed
        assert transport.written.count(b"HTTP/1.1") == 1


async def test_pipelined_requests_each_get_their_limit():
    """Requests in one chunk: a small one, then one at the limit, then one over it."""
    with protocol() as (proto, transport):
        proto.data_received(head_of(100, "/a") + head_of(4 * KIB, "/b"))
        await settle()
        proto.data_received(head_of(4 * KIB + 1, "/c"))
        await settle()
    answers = transport.written.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"200", b"431"]
