"""Logs: one JSON object per line (`LEKO_LOG_FORMAT=json`, the default when stderr is not a
terminal) or one text line (`text`, the default at a terminal), every record of a request carrying
its request id, method, route template and caller (`RequestLog`, set by
`observability.ObservabilityMiddleware`).

A JSON record is `{"time", "level", "logger", "message", ...}` plus the request's fields
(`requestId`, `method`, `route`, `userId`, GraphQL's `operation`/`operationType`) and what the
call passed in `extra=` (the access line's `status` and `durationMs`); an exception's traceback
is one string field (`exception`): a record is never more than one line. The caller's token is
never logged, only their user id.
"""

from __future__ import annotations

import logging
import logging.config
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import orjson

LogFormat = Literal["json", "text"]

# uvicorn's level names (`serve --log-level`), `trace` included.
LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}

# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# uvicorn's colored copy of its own message (`extra={"color_message": ...}`).
_DROPPED = frozenset({"color_message"})


@dataclass(slots=True)
class RequestLog:
    """The request being answered, as every log record written while answering it shows it.
    Mutable: the route is known once routed, the caller once authenticated."""

    request_id: str
    method: str
    route: str | None = None
    user_id: UUID | None = None
    operation: str | None = None  # GraphQL: the operation's name
    operation_type: str | None = None  # GraphQL: query, mutation or subscription

    def fields(self) -> dict[str, Any]:
        found: dict[str, Any] = {"requestId": self.request_id, "method": self.method}
        if self.route is not None:
            found["route"] = self.route
        if self.user_id is not None:
            found["userId"] = str(self.user_id)
        if self.operation_type is not None:
            found["operation"] = self.operation
            found["operationType"] = self.operation_type
        return found


REQUEST: ContextVar[RequestLog | None] = ContextVar("leko_request_log", default=None)


def note_request_id(request_id: str) -> None:
    """The request's id is known (`http.RequestIdMiddleware`)."""
    current = REQUEST.get()
    if current is not None:
        current.request_id = request_id


def note_caller(user_id: UUID) -> None:
    """The request's caller is known (its token checked): its records carry the user id."""
    current = REQUEST.get()
    if current is not None:
        current.user_id = user_id


def note_operation(name: str | None, kind: str) -> None:
    """The request runs this GraphQL operation."""
    current = REQUEST.get()
    if current is not None:
        current.operation, current.operation_type = name, kind


_NOT_EXTRA = _STANDARD | _DROPPED


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    found = record.__dict__
    return {k: found[k] for k in found.keys() - _NOT_EXTRA}


def _time(record: logging.LogRecord) -> str:
    """`2026-06-01T09:00:00.123Z` (UTC, milliseconds)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request := REQUEST.get()) is not None:
            entry |= request.fields()
        entry |= _extras(record)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger>: <message> key=value ...` (request fields and extras), for a
    person at a terminal; a traceback follows on the next lines, as Python prints it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request = REQUEST.get()
        fields = (request.fields() if request is not None else {}) | _extras(record)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def default_format(stream: Any = None) -> LogFormat:
    """`text` when the logs go to a terminal, else `json`."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def logging_config(log_format: LogFormat | None, level: str = "info") -> dict[str, Any]:
    """The `logging.config.dictConfig` of a process of the service (uvicorn's workers take it as
    `log_config`): every record, uvicorn's and the libraries' too, through one handler on stderr
    in the chosen format. uvicorn's access log is off (`serve` answers `access_log=False`); the
    service writes its own (`leko_bookings.access`)."""
    formatter = JsonFormatter if (log_format or default_format()) == "json" else TextFormatter
    numeric = LEVELS.get(level.lower(), logging.INFO)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": numeric},
        "loggers": {
            # uvicorn's own loggers: no handler of theirs, through the root's.
            "uvicorn": {"handlers": [], "propagate": True, "level": numeric},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": numeric},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": logging.WARNING},
            "tortoise": {"level": max(numeric, logging.WARNING)},
            "aiosqlite": {"level": max(numeric, logging.WARNING)},
        },
    }


def configure(log_format: LogFormat | None, level: str = "info") -> None:
    """Configure this process's logging (the CLI's commands; `serve` hands the same to uvicorn)."""
    logging.config.dictConfig(logging_config(log_format, level))
