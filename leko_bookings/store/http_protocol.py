"""uvicorn's HTTP protocol with the server's limits (`server_limits.py` says which and why):
`LimitedHttpToolsProtocol`, uvicorn's httptools protocol extended through its internals, which
live here and nowhere else. uvicorn is pinned exactly (pyproject.toml) and
tests/test_private_api.py touches each name of `PRIVATE_API`, so an upgrade that renames or drops
one fails there first."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import httptools
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from leko_bookings.errors import ErrorCode
from leko_bookings.server_limits import (
    HEAD_FRAMING_BYTES,
    LINGER_SECONDS,
    over_capacity,
    refusal,
    unavailable,
)

log = logging.getLogger("leko_bookings.server")

PRIVATE_API = (
    "uvicorn._types",  # the ASGI type aliases of the protocol's signatures
    "uvicorn.protocols.http.httptools_impl.HttpToolsProtocol._unset_keepalive_if_required",
    "uvicorn.protocols.http.httptools_impl.HttpToolsProtocol._should_upgrade",
    "uvicorn.protocols.http.httptools_impl.HttpToolsProtocol._unsupported_upgrade_warning",
)


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head over the limit."""


def answered_if_cancelled(app: ASGI3Application) -> ASGI3Application:
    """`app`, answering 503 (and closing the connection) when a request is cancelled, which
    uvicorn does to the requests still running when the graceful shutdown's time is up (it
    would log the cancellation as an error with its traceback, and answer a plain text 500)."""

    async def run(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        try:
            await app(scope, receive, send)
        except asyncio.CancelledError:
            log.warning("Cancelled a request still running at the end of the graceful shutdown.")
            cycle = getattr(send, "__self__", None)  # uvicorn's: `send` is the cycle's method
            if isinstance(cycle, RequestResponseCycle) and cycle.response_started:
                cycle.disconnected = True  # too late for an answer: the connection is closed
                cycle.transport.close()
                return
            # uvicorn's ASGI types, the same mappings as Starlette's that `unavailable` takes
            await unavailable(
                cast(Any, scope), cast(Any, send), "The server is shutting down; retry shortly."
            )

    return run


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the limits of the module's docstring.

    A head's size is counted twice. Exactly, once it is complete, from what the parser handed
    over (the request target and each header field as `name: value` CRLF): past
    `max_head_bytes`, 431. And as raw bytes received while it is incomplete, after each chunk
    read (at most 256 KiB), so that a head that never ends is refused rather than buffered
    whole. Bytes of a chunk that also held the end of a previous request are not counted
    (where the new head starts in it is unknown), so the raw count is a lower bound.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes: int = config.h11_max_incomplete_event_size or 16 * 1024
        self.max_connections: int | None = config.limit_concurrency
        self.limit_concurrency = None  # the cap is applied here (`on_headers_complete`)
        self.service = answered_if_cancelled(self.app)
        self.reading_head = True  # waiting for a request, or reading its head
        self.raw_head_bytes = 0  # received while the head is incomplete (a lower bound)
        self.chunk_is_head = False  # every byte of the chunk being parsed is the head's
        self.draining = False  # refused: what comes is dropped until the connection closes

    # -- idle connections ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_request()  # a connection that never sends a request is idle too

    def _wait_for_request(self) -> None:
        """Arm the idle timer, unless a response is under way (its end arms it: uvicorn)."""
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    # -- reading -------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """uvicorn's, plus the head limit and the idle timer while waiting for a request."""
        self._unset_keepalive_if_required()
        if self.draining:
            return
        self.chunk_is_head = self.reading_head
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadTooLarge):
                self.refuse_head()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self.reading_head:
            if self.chunk_is_head:
                self.raw_head_bytes += len(data)
            if self.raw_head_bytes > self.max_head_bytes + HEAD_FRAMING_BYTES:
                self.refuse_head()
                return
            self._wait_for_request()

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.raw_head_bytes = 0
        # The request target and the fields as `name: value` CRLF (values without their
        # trailing blanks, as uvicorn keeps them).
        size = len(self.url) + sum(len(n) + len(v) for n, v in self.headers) + 4 * len(self.headers)
        if size > self.max_head_bytes:
            raise HeadTooLarge
        self.app = self.service
        if not (self.parser.should_upgrade() and self._should_upgrade()) and self._over_cap():
            log.warning("Connection limit (%d) reached: answered 503.", self.max_connections)
            self.app = over_capacity
        super().on_headers_complete()

    def _over_cap(self) -> bool:
        """Past the cap: more connections than it (this one included), or as many requests
        running as it allows."""
        cap = self.max_connections
        return cap is not None and (len(self.connections) > cap or len(self.tasks) >= cap)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head = True
        self.raw_head_bytes = 0
        self.chunk_is_head = False  # the next head may start anywhere in this chunk

    # -- refusing ------------------------------------------------------------------------------

    def refuse_head(self) -> None:
        """431 (the head is over the limit), then close; a response already under way on the
        connection (a pipelined request before) cannot be followed by another: just close."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        path, method = self._request_line()
        message = f"The request's headers are larger than {self.max_head_bytes} bytes."
        body, request_id = refusal(path, method, ErrorCode.validation, message)
        lines = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        for name, value in self.server_state.default_headers:
            lines += [name, b": ", value, b"\r\n"]
        lines += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"x-request-id: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(lines))
        self.close_after_refusal()

    def _request_line(self) -> tuple[str, str]:
        """(path, method) of the head read so far, as far as they are known."""
        try:
            path = httptools.parse_url(self.url).path.decode("ascii", "replace")
        except (httptools.HttpParserInvalidURLError, AttributeError):
            path = ""
        try:
            method = self.parser.get_method().decode("ascii", "replace")
        except Exception:  # the parser has not read the method (or is in error)
            method = ""
        return path, method

    def close_after_refusal(self) -> None:
        """Send FIN after the answer and drop what the client still sends (closing with unread
        data would reset the connection, and the client might never read the answer), for at
        most LINGER_SECONDS."""
        self.draining = True
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:  # pragma: no cover - TCP transports can
            self.transport.close()
            return
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
