"""SQL statements per request of the service, counted from Tortoise's query log.

The service's app runs in this process (as the tests run it) on the bench database; one request
of each scenario goes through it and every statement Tortoise sends is counted (BEGIN and COMMIT
of a transaction are not logged by Tortoise, so they are not counted). Each statement is kept
with its parameter values, so that `bench.plans` can replay it under EXPLAIN.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from tortoise import Tortoise

from bench.scenarios import Scenario
from leko_bookings.app import create_app
from leko_bookings.db import tortoise_config
from leko_bookings.settings import Settings

SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


Statement = tuple[str, list[Any]]  # (SQL, parameter values) as Tortoise sent them


class StatementCounter(logging.Handler):
    """The SQL statements Tortoise sends (it logs each at DEBUG on `tortoise.db_client`, as
    `"%s: %s", query, values`; connection set-up and pool messages are not statements)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []
        self.sent: list[Statement] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().lstrip()
        words = text.split(None, 1)
        if words and words[0].upper().lstrip("(") in SQL_VERBS:
            self.statements.append(text)
            args = record.args
            query, values = args if isinstance(args, tuple) and len(args) == 2 else (text, None)
            self.sent.append((str(query), list(values or [])))


@contextmanager
def counting_statements() -> Iterator[StatementCounter]:
    """Count the statements Tortoise sends meanwhile (also used by the tests)."""
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate


async def count(
    url: str, secret: str, scenarios: list[Scenario]
) -> tuple[dict[str, Any], dict[str, list[Statement]]]:
    """{scenario: {"statements": n, "kinds": [...]}} for the first request of each scenario,
    and {scenario: the statements it sent, with their values}."""
    await Tortoise.init(config=tortoise_config(url))
    app = create_app(Settings(database_url=url, jwt_secret=secret), manage_database=False)
    result: dict[str, Any] = {}
    sent: dict[str, list[Statement]] = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for scenario in scenarios:
                request = scenario.requests[0]
                with counting_statements() as counter:
                    answer = await client.request(
                        request["method"],
                        request["path"],
                        headers={**request["headers"], "Content-Type": "application/json"},
                        content=request["body"],
                    )
                kinds = [text.split(None, 1)[0].upper() for text in counter.statements]
                result[scenario.name] = {
                    "status": answer.status_code,
                    "statements": len(kinds),
                    "kinds": kinds,
                }
                sent[scenario.name] = counter.sent
    finally:
        await Tortoise.close_connections()
    return result, sent
