"""The load generator: a separate process holding N keep-alive HTTP/1.1 connections on loopback.

    python -m bench.loadgen SPEC.json      # prints one JSON result on stdout

Kept lean because it shares the machine's cores with the servers and PostgreSQL: asyncio (uvloop
when installed) and a minimal HTTP/1.1 client over raw streams (requests are pre-encoded bytes;
Content-Length and chunked answers are read; nothing else is parsed). Each of `concurrency`
clients sends one request at a time on its own connection, picking requests at random (seeded)
from the spec's list, or taking them in turn from one shared pass over it (`"pick": "sequence"`,
for orders, which must not repeat); for `warmup` seconds (not counted), then for `duration`
seconds. A request counts when it completes inside the measured window (which a smoke run may
stretch until `min_completed` requests completed). It reports completed requests, statuses,
latencies (milliseconds) and, for order requests, the `bookingError` codes of 400 answers.

SPEC: {"host", "port", "concurrency", "duration", "warmup", "start_at" (epoch seconds, so
several generator processes start together), "seed", "requests": [{"method", "path", "headers",
"body"}], "pick": "random" | "sequence", "offset": int, "refusal_codes": bool,
"min_completed": int (default 0)}.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ERROR_BACKOFF = 0.05  # after a transport error, so a dead server does not spin the generator


def encode(host: str, port: int, request: dict[str, Any]) -> bytes:
    body = request.get("body")
    payload = body.encode() if isinstance(body, str) else b""
    lines = [f"{request['method']} {request['path']} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in request.get("headers", {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """(status, body, server closes) for one request."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = None, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            body = await self._chunks()
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        return status, body, close

    async def _chunks(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    all_statuses: Counter = field(default_factory=Counter)  # warm-up and late answers too
    refusals: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def sample(self, text: str) -> None:
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


class Window:
    """The measured window [begin, end]; `end` moves only while too few requests completed
    (`min_completed`, for smoke runs on a busy machine); clients stop once it is closed."""

    def __init__(self, begin: float, end: float) -> None:
        self.begin, self.end, self.closed = begin, end, False

    def counts(self, moment: float) -> bool:
        return self.begin <= moment <= self.end

    async def close(self, tally: Tally, min_completed: int, cap: float) -> None:
        while True:
            await asyncio.sleep(max(0.0, self.end - time.perf_counter()))
            if len(tally.latencies) >= min_completed or self.end >= cap:
                self.closed = True
                return
            self.end += 0.25


async def client(
    spec: dict[str, Any],
    raws: list[bytes],
    index: int,
    window: Window,
    tally: Tally,
    sequence: Iterator[int] | None,
) -> None:
    host, port = spec["host"], spec["port"]
    rng = random.Random(spec.get("seed", 0) * 1_000_003 + index)
    conn: Connection | None = None
    try:
        while not window.closed:
            raw = raws[next(sequence) % len(raws) if sequence else rng.randrange(len(raws))]
            try:
                if conn is None:
                    conn = await Connection.open(host, port)
                sent = time.perf_counter()
                status, body, close = await conn.exchange(raw)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as e:
                if conn is not None:
                    conn.close()
                conn = None
                if window.counts(time.perf_counter()):
                    tally.transport_errors += 1
                    tally.sample(repr(e))
                await asyncio.sleep(ERROR_BACKOFF)
                continue
            done = time.perf_counter()
            tally.all_statuses[status] += 1
            if close:
                conn.close()
                conn = None
            if not window.counts(done):
                continue
            tally.latencies.append((done - sent) * 1000.0)
            tally.statuses[status] += 1
            if status >= 500:
                tally.sample(f"{status} {body[:200]!r}")
            elif status == 400 and spec.get("refusal_codes"):
                refused = json.loads(body).get("errors") or []
                codes = [e.get("bookingError") for e in refused if isinstance(e, dict)]
                tally.refusals.update(c or "other" for c in codes or [None])
    finally:
        if conn is not None:
            conn.close()


STUCK = 30.0  # seconds after the window closes before an unanswered request counts as an error


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    raws = [encode(spec["host"], spec["port"], r) for r in spec["requests"]]
    await asyncio.sleep(max(0.0, spec.get("start_at", 0) - time.time()))
    start = time.perf_counter()
    window = Window(start + spec["warmup"], start + spec["warmup"] + spec["duration"])
    tally = Tally()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    # "sequence": the clients share one pass over the requests (each sent once until the list
    # is exhausted: orders must not repeat); "random" (default): each client picks at random.
    sequence = itertools.count(spec.get("offset", 0)) if spec.get("pick") == "sequence" else None
    tasks = [
        asyncio.ensure_future(client(spec, raws, i, window, tally, sequence))
        for i in range(spec["concurrency"])
    ]
    cap = window.end + spec.get("max_extension", 30.0)
    await window.close(tally, spec.get("min_completed", 0), cap)
    _, pending = await asyncio.wait(tasks, timeout=STUCK)
    for task in pending:  # stuck on a request that never came back
        task.cancel()
        tally.transport_errors += 1
        tally.sample(f"no answer {STUCK:.0f} s after the end")
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "duration": round(window.end - window.begin, 3),
        "concurrency": spec["concurrency"],
        "completed": len(tally.latencies),
        "latencies_ms": [round(x, 3) for x in tally.latencies],
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "all_statuses": {str(k): v for k, v in sorted(tally.all_statuses.items())},
        "refusals": dict(tally.refusals),
        "transport_errors": tally.transport_errors,
        "error_samples": tally.error_samples,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(time.perf_counter() - start, 3),
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
