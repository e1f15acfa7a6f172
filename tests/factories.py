"""Plain async factories with keyword defaults (events go through the catalog resolver)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from leko_bookings.auth import Principal, Role
from leko_bookings.resolvers.catalog import parse_events, upsert_events
from leko_bookings.resolvers.context import Context
from leko_bookings.settings import Settings


def event_json(
    *,
    coach: uuid.UUID,
    start: datetime,
    minutes: int = 60,
    capacity: int = 5,
    public: bool | None = True,
    status: str = "Scheduled",
    event_id: uuid.UUID | None = None,
    sport: uuid.UUID | None = None,
    price: int = 1500,
) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    slot: dict[str, Any] = {
        "timeSlotId": str(uuid.uuid4()),
        "startTime": start.strftime("%H:%M:%S+00:00"),
        "endTime": end.strftime("%H:%M:%S+00:00"),
        "numberOfParticipants": capacity,
        "slotType": "Offline",
        "ageFrom": 18,
        "ageTo": 65,
        "duration": minutes,
        "price": price,
        "priceCurrency": "RUB",
        "paymentMethod": "Cash",
        "level": "Any",
    }
    if public is not None:
        slot["public"] = public
    return {
        "eventId": str(event_id or uuid.uuid4()),
        "coachId": str(coach),
        "sportId": str(sport or uuid.uuid4()),
        "startAt": start.isoformat(),
        "endAt": end.isoformat(),
        "eventStatus": status,
        "timeslot": slot,
    }


async def create_event(settings: Settings, now: datetime, **kwargs: Any) -> uuid.UUID:
    data = event_json(**kwargs)
    ctx = Context(Principal(uuid.uuid4(), frozenset({Role.admin})), now, settings)
    await upsert_events(ctx, parse_events([data]))
    return uuid.UUID(data["eventId"])


async def coached_events(
    settings: Settings,
    users: Any,
    count: int,
    *,
    first: int = 0,
    hours: int = 13,
    public: Any = lambda i: True,
) -> list[uuid.UUID]:
    """Events `first`..`first + count - 1` of the users' two coaches in turn, `hours` apart from
    the day after NOW, priced 1000 + their number (`public(i)`: their slot's `public`)."""
    from tests.conftest import NOW

    day = NOW.replace(hour=6) + timedelta(days=1)
    coaches = [users.coach, users.other_coach]
    return [
        await create_event(
            settings,
            NOW,
            coach=coaches[i % 2],
            start=day + timedelta(hours=hours * i),
            public=public(i),
            price=1000 + i,
        )
        for i in range(first, first + count)
    ]


def order_body(
    user: uuid.UUID, *events: uuid.UUID, payment: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "userId": str(user),
        "eventIds": [str(e) for e in events],
        "paymentMethod": payment or {"type": "Cash"},
    }


async def book(
    client: httpx.AsyncClient, headers: dict[str, str], user: uuid.UUID, *events: uuid.UUID
) -> httpx.Response:
    return await client.post("/v1/bookings", json=order_body(user, *events), headers=headers)


async def gql(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()
