"""The append-only booking history: writing entries, reading many bookings' at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from leko_bookings.models import BookingHistory
from leko_bookings.store.sql import insert
from leko_bookings.store.views import HistoryEntryView


async def append(entries: Sequence[BookingHistory]) -> None:
    await insert(entries)


async def history_of(booking_ids: list[UUID]) -> dict[UUID, list[HistoryEntryView]]:
    """The history of many bookings at once, oldest first (one query)."""
    grouped: dict[UUID, list[HistoryEntryView]] = defaultdict(list)
    for h in await BookingHistory.filter(booking_id__in=booking_ids).order_by("at", "id"):
        grouped[UUID(str(h.booking_id))].append(
            HistoryEntryView(
                at=h.at,
                actor_id=h.actor_id,
                actor_role=h.actor_role,
                action=h.action,
                from_status=h.from_status,
                to_status=h.to_status,
                detail=h.detail,
            )
        )
    return grouped
