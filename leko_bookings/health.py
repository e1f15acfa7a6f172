"""The probes: `GET /healthz` (the process answers; the database is not asked) and `GET /readyz`
(the database answers within `LEKO_READY_TIMEOUT_SECONDS` and every migration of this version
is applied; else 503 with the reason). No token, no rate limit, no access log line, not in the
OpenAPI document (outside `/v1`, `include_in_schema=False`)."""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from leko_bookings.db import APP, migrations_dir
from leko_bookings.settings import Settings
from leko_bookings.store.health import applied_migrations

router = APIRouter(include_in_schema=False)
log = logging.getLogger("leko_bookings.health")

NO_STORE = {"Cache-Control": "no-store"}


@cache
def expected_migrations(dialect: str) -> frozenset[str]:
    """The migration files this version ships for the dialect (aerich records their names)."""
    return frozenset(p.name for p in (migrations_dir(dialect) / APP).glob("*.py"))


async def readiness(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """(ready, the answer's body)."""
    timeout = settings.ready_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            applied = await applied_migrations(APP)
    except TimeoutError:
        reason = f"the database did not answer within {timeout:g} s"
        return False, {"status": "unavailable", "reason": reason}
    except Exception as exc:
        log.warning("readiness: the database cannot be reached: %r", exc)
        reason = f"the database cannot be reached ({type(exc).__name__})"
        return False, {"status": "unavailable", "reason": reason}
    pending = sorted(expected_migrations(settings.dialect) - applied)
    if pending:
        reason = f"{len(pending)} migration(s) not applied: run `leko-bookings migrate`"
        return False, {"status": "unavailable", "reason": reason, "pendingMigrations": pending}
    return True, {"status": "ready"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    ready, body = await readiness(request.app.state.settings)
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)
