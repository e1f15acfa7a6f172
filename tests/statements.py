"""Counting the SQL statements the service runs (Tortoise logs each at DEBUG on
`tortoise.db_client`; connection set-up and pool messages are not statements)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

STATEMENT_KEYWORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class StatementCounter(logging.Handler):
    """The SQL statements Tortoise sends (it logs each at DEBUG on tortoise.db_client)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().lstrip()
        words = text.split(None, 1)
        if words and words[0].upper().lstrip("(") in STATEMENT_KEYWORDS:
            self.statements.append(text)


@contextmanager
def counting_statements() -> Iterator[StatementCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
