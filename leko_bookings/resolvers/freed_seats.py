"""Where freeing a seat is announced: the one hook for what a freed seat may set off.

Issue 17, part 3 (waitlists) promotes the earliest eligible waiting athletes here, in the same
transaction that freed the seat. Today only a reschedule calls it (the seat it leaves in the old
event); part 3 adds the other ways a seat frees (cancel, reject, erasure, a capacity raised).
"""

from __future__ import annotations

from collections.abc import Sequence

from leko_bookings.models import Event
from leko_bookings.resolvers.context import Context


async def seats_freed(ctx: Context, events: Sequence[Event]) -> None:
    """Inside the transaction that freed a seat in each of these events (their rows locked, in
    id order, and the caller's user lock held): nothing to do until waitlists exist (part 3
    promotes their athletes here)."""
    return None
