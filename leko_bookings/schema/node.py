"""Global object identification (Relay): `interface Node { id: ID! }` and its opaque ids.

An id is `base64url("<Type>:<uuid>")`: stable, opaque to clients, and enough to find the object
again (`Query.node`). Clients' caches (Apollo, urql, Relay) normalise on it without per-type
configuration.
"""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

import strawberry

NODE_TYPES = ("Booking", "BookingOrder", "Event", "Notification")


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


def global_id(type_name: str, object_id: UUID) -> strawberry.ID:
    raw = f"{type_name}:{object_id}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def parse_global_id(value: str) -> tuple[str, UUID] | None:
    """(type name, uuid) of an id this service issued, or None (no such object)."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        type_name, object_id = raw.split(":", 1)
        return (type_name, UUID(object_id)) if type_name in NODE_TYPES else None
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
