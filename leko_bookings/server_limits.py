"""The HTTP server's own limits (issue 15), set by `serve` options or their settings:

- a request head (request line and header fields) over `max_header_bytes` is answered 431 and
  its connection closed, before it is buffered whole;
- a connection waiting for a request (a new one, or between keep-alive requests) is closed after
  `keep_alive_seconds` without a byte;
- on SIGTERM, requests in flight get `graceful_shutdown_seconds` to finish; then each is
  cancelled and answered 503 (if its answer had not started), and the process exits, closing
  every connection;
- a worker serves at most `max_connections_per_worker` connections at once: a request on one
  more is answered 503 with Retry-After, and that connection closed.

uvicorn's HTTP protocol (httptools, its default when installed) accepts a request head of any size
(its h11 protocol has a bound, but answers 400), and its concurrency limit answers a plain text 503
and counts the connection asking, so it serves one fewer than its number. `store/http_protocol.py:
LimitedHttpToolsProtocol` is its httptools protocol with these limits, answering in JSON in the
shape of the path's transport (a GraphQL error on /graphql, the contract's `Errors` body elsewhere).
It reads its limits from uvicorn's `Config`, which reaches every worker process.
"""

from __future__ import annotations

import argparse
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.types import Receive, Scope, Send

from leko_bookings.errors import ErrorCode
from leko_bookings.settings import Settings

GRAPHQL_PATH = "/graphql"
RETRY_AFTER_SECONDS = 1  # a connection refused at the cap: as for an unreachable dependency
# Allowance for what the raw byte count of a head holds besides the request target and the
# header fields (method, version, separators), so that the raw guard does not refuse a head
# the exact count lets through (unless it is padded with a kilobyte of blanks).
HEAD_FRAMING_BYTES = 1024
MAX_ECHOED_PATH = 200  # characters of the path an answer names (a long target is refused too)
LINGER_SECONDS = 2.0  # after a refusal, reading (and dropping) what the client still sends


def http_protocol() -> type:
    """The protocol that applies these limits (store/http_protocol.py: uvicorn's internals)."""
    from leko_bookings.store.http_protocol import LimitedHttpToolsProtocol

    return LimitedHttpToolsProtocol


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits of one `serve`; the fields are the settings' (LEKO_<FIELD>)."""

    max_header_bytes: int
    graceful_shutdown_seconds: float
    keep_alive_seconds: float
    max_connections_per_worker: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)})

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn's `Config` options for these limits (and the protocol that applies them)."""
        return {
            "http": http_protocol(),
            # h11's name, read by LimitedHttpToolsProtocol too: the largest request head.
            "h11_max_incomplete_event_size": self.max_header_bytes,
            "timeout_keep_alive": self.keep_alive_seconds,
            "timeout_graceful_shutdown": self.graceful_shutdown_seconds,
            "limit_concurrency": self.max_connections_per_worker,
        }


# --- `serve` options ----------------------------------------------------------------------------

OPTIONS: dict[str, str] = {
    "max_header_bytes": "largest request line + headers; larger: 431 and the connection closed",
    "graceful_shutdown_seconds": "on SIGTERM, how long requests in flight may finish; then they "
    "are cancelled and every connection closed",
    "keep_alive_seconds": "an idle connection (new, or between requests) is closed after this; "
    "keep it above the load balancer's idle timeout (often 60 s)",
    "max_connections_per_worker": "connections one worker serves at once; a request on one "
    "more is answered 503 with Retry-After",
}
FLAGS = {"max_connections_per_worker": "--max-connections"}  # else --<field with dashes>


def _checked(field: str) -> Callable[[str], Any]:
    """An argparse type: the text as the setting reads it, within the setting's bounds."""
    info = Settings.model_fields[field]
    constrained: Any = Annotated[info.annotation, *info.metadata]  # the field's bounds
    adapter: TypeAdapter[Any] = TypeAdapter(constrained)

    def convert(text: str) -> Any:
        try:
            return adapter.validate_strings(text)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise argparse.ArgumentTypeError(f"{text!r}: {reason}") from None

    return convert


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """The limits' options of `serve`; each defaults to its setting (LEKO_<FIELD>)."""
    for field, text in OPTIONS.items():
        default = Settings.model_fields[field].default
        serve.add_argument(
            FLAGS.get(field, "--" + field.replace("_", "-")),
            type=_checked(field),
            dest=field,
            metavar="N",
            help=f"{text} (default: LEKO_{field.upper()}, else {default:g})",
        )


def from_args(args: argparse.Namespace, settings: Settings) -> ServerLimits:
    """The limits to serve with: each option given, else its setting."""
    given = {f: v for f in OPTIONS if (v := getattr(args, f, None)) is not None}
    return dataclasses.replace(ServerLimits.from_settings(settings), **given)


# --- The protocol -------------------------------------------------------------------------------


def refusal(
    path: str, method: str, code: ErrorCode, message: str, retry_after: int | None = None
) -> tuple[bytes, str]:
    """(JSON body, request id) of an answer the server gives without the app: a GraphQL error
    on /graphql, the contract's `Errors` body elsewhere."""
    request_id = uuid.uuid4().hex
    body: dict[str, Any]
    if path == GRAPHQL_PATH:
        extensions: dict[str, Any] = {"code": code.value, "requestId": request_id}
        if retry_after is not None:
            extensions["retryAfter"] = retry_after
        body = {"errors": [{"message": message, "extensions": extensions}]}
    else:
        endpoint = f"{method} {path[:MAX_ECHOED_PATH]}".strip()
        error = {"code": code.value, "message": message, "endpoint": endpoint}
        body = {"errors": [error | {"requestId": request_id}]}
    return orjson.dumps(body), request_id


async def unavailable(scope: Scope, send: Send, message: str) -> None:
    """503 `unexpected` with Retry-After, and the connection closed."""
    assert scope["type"] == "http"
    body, request_id = refusal(
        scope["path"], scope["method"], ErrorCode.unexpected, message, RETRY_AFTER_SECONDS
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"x-request-id", request_id.encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def over_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request on a connection past the worker's cap."""
    await unavailable(
        scope, send, "The server is serving as many connections as it may; retry shortly."
    )
