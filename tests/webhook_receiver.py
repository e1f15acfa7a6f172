"""A real HTTP server on loopback that receives webhook notifications and checks signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    secret: str
    status: int = 204
    delay: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, header: str, body: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        expected = hmac.new(
            self.secret.encode(), f"{parts.get('t', '')}.".encode() + body, hashlib.sha256
        )
        fresh = abs(time.time() - int(parts.get("t", "0"))) < 300
        return fresh and hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))

    def ids(self) -> Counter:
        with self.lock:
            return Counter(b["id"] for b in self.bodies)


@contextmanager
def webhook_receiver(secret: str, host: str = "127.0.0.1") -> Iterator[tuple[str, Received]]:
    received = Received(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if received.delay:
                time.sleep(received.delay)  # the receiver is slow: the sender's timeout decides
            with received.lock:
                if not received.verify(self.headers.get("X-Leko-Signature", ""), body):
                    received.bad_signatures += 1
                if received.status < 300:
                    received.bodies.append(json.loads(body))
            self.send_response(received.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    class Server(ThreadingHTTPServer):
        request_queue_size = 512  # the listen backlog: many senders at once

    server = Server((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
