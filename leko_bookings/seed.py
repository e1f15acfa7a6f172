"""A realistic demo catalog: several coaches and sports over the next two weeks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

NAMESPACE = UUID("6c0b5c57-8f1e-4c3e-9d0a-1e5b2a7c9d41")
SPORTS = ["tennis", "boxing", "yoga", "swimming", "climbing", "running"]
COACHES = ["anna", "boris", "chen", "dmitri", "elena", "farid"]
HOURS = [7, 9, 11, 14, 17, 19]


@dataclass(frozen=True)
class DemoCatalog:
    events: list[dict[str, Any]]
    coaches: list[UUID]
    athlete: UUID


def _id(*parts: object) -> UUID:
    return uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def demo_catalog(now: datetime, days: int = 14) -> DemoCatalog:
    """Deterministic ids (re-seeding upserts the same events), times moving with `now`."""
    rng = random.Random(42)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[dict[str, Any]] = []
    for c, coach in enumerate(COACHES):
        sport = SPORTS[c % len(SPORTS)]
        for day in range(1, days + 1):
            for hour in rng.sample(HOURS, 2):
                start = today + timedelta(days=day, hours=hour)
                minutes = rng.choice([45, 60, 90])
                end = start + timedelta(minutes=minutes)
                private = rng.random() < 0.2
                events.append(
                    {
                        "eventId": str(_id("event", coach, day, hour)),
                        "coachId": str(_id("coach", coach)),
                        "sportId": str(_id("sport", sport)),
                        "startAt": start.isoformat(),
                        "endAt": end.isoformat(),
                        "eventStatus": "Scheduled",
                        "timeslot": {
                            "timeSlotId": str(_id("slot", coach, day, hour)),
                            "startTime": time(start.hour, start.minute).isoformat() + "+00:00",
                            "endTime": time(end.hour, end.minute).isoformat() + "+00:00",
                            "numberOfParticipants": 1 if private else rng.choice([4, 8, 12]),
                            "slotType": rng.choice(["Offline", "Offline", "Online"]),
                            "ageFrom": 18,
                            "ageTo": rng.choice([45, 60, 99]),
                            "duration": minutes,
                            "price": rng.choice([800, 1200, 1500, 2500]),
                            "priceCurrency": "RUB",
                            "paymentMethod": "Cash",
                            "public": not private,
                            "level": rng.choice(["Any", "Beginner", "Medium", "Pro"]),
                            "eligibility": "All",
                        },
                    }
                )
    return DemoCatalog(events, [_id("coach", c) for c in COACHES], _id("athlete", "demo"))
