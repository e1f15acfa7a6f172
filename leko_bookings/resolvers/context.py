"""What every resolver receives: who is calling and what time it is (injected, never read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leko_bookings.auth import Principal
from leko_bookings.settings import Settings


@dataclass(slots=True)
class Context:
    principal: Principal
    now: datetime
    settings: Settings
