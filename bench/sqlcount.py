"""SQL statements per request of the service, counted from Tortoise's query log.

The service's app runs in this process (as the tests run it) on the bench database; one request
of each scenario goes through it and every statement Tortoise sends is counted (BEGIN and COMMIT
of a transaction are not logged by Tortoise, so they are not counted).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tortoise import Tortoise

from bench.scenarios import Scenario
from leko_bookings.app import create_app
from leko_bookings.db import tortoise_config
from leko_bookings.settings import Settings

SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        first = args[0] if isinstance(args, tuple) and args else record.msg
        if isinstance(first, str) and first.lstrip().upper().startswith(SQL_VERBS):
            self.statements.append(first.split(None, 1)[0].upper())


async def count(url: str, secret: str, scenarios: list[Scenario]) -> dict[str, Any]:
    """{scenario: {"statements": n, "kinds": [...]}} for the first request of each scenario."""
    await Tortoise.init(config=tortoise_config(url))
    logger = logging.getLogger("tortoise.db_client")
    level, propagate = logger.level, logger.propagate
    counter = _Counter()
    app = create_app(Settings(database_url=url, jwt_secret=secret), manage_database=False)
    result: dict[str, Any] = {}
    try:
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for scenario in scenarios:
                request = scenario.requests[0]
                counter.statements.clear()
                answer = await client.request(
                    request["method"],
                    request["path"],
                    headers={**request["headers"], "Content-Type": "application/json"},
                    content=request["body"],
                )
                result[scenario.name] = {
                    "status": answer.status_code,
                    "statements": len(counter.statements),
                    "kinds": list(counter.statements),
                }
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate
        await Tortoise.close_connections()
    return result
