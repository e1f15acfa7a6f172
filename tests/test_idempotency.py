"""Idempotency-Key on POST /v1/bookings and on GraphQL bookEvents(idempotencyKey) (issue 17, 1).

Every rule on SQLite and PostgreSQL, through both transports; every REST answer is checked
against the served document (the contract plus the header and its 409/422) by the client's hook.
Across processes (20 simultaneous orders with one key, 2 workers): tests/test_concurrency.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from leko_bookings.auth import Principal, Role
from leko_bookings.models import Booking, IdempotencyKey, Order
from leko_bookings.resolvers import idempotency, ordering
from leko_bookings.resolvers.context import Context
from leko_bookings.resolvers.idempotency import LEASE, IdempotencyKeyInUse, Keyed
from tests.conftest import NOW
from tests.factories import create_event, gql, order_body
from tests.test_erasure import rows_holding

IN_A_DAY = NOW + timedelta(days=1)
KEY = "order-7f3c1a"
ENDPOINT = "POST /bookings"

BOOK = """
mutation Book($userId: UUID!, $eventIds: [UUID!]!, $type: PaymentType!, $key: String) {
  bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: {type: $type},
             idempotencyKey: $key) {
    __typename
    ... on BookingOrder { orderId status bookings { bookingId bookingStatus } }
    ... on BookingRefused { code message errors { eventId bookingError } }
    ... on Error { code message }
  }
}
"""


async def post(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    key: str | None = KEY,
) -> httpx.Response:
    extra = {} if key is None else {"Idempotency-Key": key}
    return await client.post("/v1/bookings", json=body, headers={**headers, **extra})


async def graphql_book(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    user: uuid.UUID,
    *events: uuid.UUID,
    key: str | None = KEY,
    payment: str = "Cash",
) -> httpx.Response:
    variables = {"userId": str(user), "eventIds": [str(e) for e in events], "type": payment}
    r = await client.post(
        "/graphql", json={"query": BOOK, "variables": variables | {"key": key}}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r


async def event(settings: Any, users: Any, **kwargs: Any) -> uuid.UUID:
    """An event of the coach, a day ahead unless `start` says otherwise."""
    return await create_event(settings, NOW, **{"coach": users.coach, "start": IN_A_DAY, **kwargs})


LATER = IN_A_DAY + timedelta(hours=3)


async def orders_of(user: uuid.UUID) -> int:
    return await Order.filter(user_id=user).count()


def assert_errors_body(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The contract's `Errors` body (the client's hook has validated its shape)."""
    assert r.status_code == status, r.text
    [error] = r.json()["errors"]
    assert error["code"] == code
    assert error["endpoint"] == ENDPOINT
    assert error["requestId"] == r.headers["x-request-id"]
    assert "idempotent-replayed" not in r.headers
    return error


# --- REST: the first answer, kept and given again --------------------------------------------


async def test_the_same_key_and_body_answers_the_first_201_again_and_books_nothing(
    client, users, settings, clock
):
    e = await event(settings, users)
    body = order_body(users.athlete, e)
    first = await post(client, users.as_athlete, body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    clock.advance(minutes=5)
    again = await post(client, users.as_athlete, body)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # byte for byte (createdAt is the first request's)
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await orders_of(users.athlete) == 1
    assert await Booking.filter(event_id=e).count() == 1


async def test_the_body_is_compared_parsed_not_as_sent(client, users, settings):
    """Fields in another order, other spacing, an absent methodId or a null one: the same body."""
    e = await event(settings, users)
    first = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert first.status_code == 201
    respelled = json.dumps(
        {
            "paymentMethod": {"methodId": None, "type": "Cash"},
            "eventIds": [str(e)],
            "userId": str(users.athlete).upper(),
        },
        indent=3,
    )
    headers = {**users.as_athlete, "Idempotency-Key": KEY, "Content-Type": "application/json"}
    again = await client.post("/v1/bookings", content=respelled, headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.content == first.content
    assert await orders_of(users.athlete) == 1


async def test_a_refusal_is_kept_and_answered_again_even_once_it_would_book(
    client, users, settings, clock
):
    e = await event(settings, users, capacity=1)
    taken = await post(client, users.as_other_athlete, order_body(users.other_athlete, e), None)
    assert taken.status_code == 201
    body = order_body(users.athlete, e)
    first = await post(client, users.as_athlete, body)
    assert first.status_code == 400
    assert first.json()["errors"] == [{"eventId": str(e), "bookingError": "overbooked"}]
    # The seat frees up; the key still answers its first answer, and books nothing.
    cancel = """mutation($id: UUID!) { cancelBooking(bookingId: $id, reasonCode: NoTime) {
      __typename } }"""
    seat = taken.json()["bookings"][0]["bookingId"]
    assert (await gql(client, users.as_other_athlete, cancel, id=seat))["data"]
    clock.advance(minutes=1)
    again = await post(client, users.as_athlete, body)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (400, "true")
    assert again.content == first.content
    assert await orders_of(users.athlete) == 0
    fresh = await post(client, users.as_athlete, body, "another-key")
    assert fresh.status_code == 201  # a new key is a new order


async def test_the_same_key_with_another_body_is_422_and_books_nothing(client, users, settings):
    a, b = await event(settings, users), await event(settings, users, start=LATER)
    assert (await post(client, users.as_athlete, order_body(users.athlete, a))).status_code == 201
    r = await post(client, users.as_athlete, order_body(users.athlete, b))
    error = assert_errors_body(r, 422, "validation")
    assert "different body" in error["message"]
    assert await Booking.filter(event_id=b).count() == 0
    # The key still answers its own order.
    again = await post(client, users.as_athlete, order_body(users.athlete, a))
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")


async def test_a_key_is_the_callers_own(client, users, settings):
    """Two callers with the same key string place two orders; an admin's key is the admin's."""
    e = await event(settings, users, capacity=3)
    mine = await post(client, users.as_athlete, order_body(users.athlete, e))
    theirs = await post(client, users.as_other_athlete, order_body(users.other_athlete, e))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["orderId"] != theirs.json()["orderId"]
    # The admin orders for the athlete with the athlete's key: the admin's own key, a new order
    # (the athlete now holds two seats in the event: no conflict rule across one event).
    other = await event(settings, users, start=IN_A_DAY + timedelta(days=1))
    r = await post(client, users.as_admin, order_body(users.athlete, other))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    assert await IdempotencyKey.filter(key=KEY).count() == 3


# --- answers that keep nothing ----------------------------------------------------------------


async def test_no_token_forbidden_and_invalid_requests_keep_nothing(client, users, settings):
    e = await event(settings, users)
    no_token = await client.post(
        "/v1/bookings", json=order_body(users.athlete, e), headers={"Idempotency-Key": KEY}
    )
    assert no_token.status_code == 401
    forbidden = await post(client, users.as_athlete, order_body(users.other_athlete, e))
    assert_errors_body(forbidden, 403, "forbidden")
    card = await post(
        client, users.as_athlete, order_body(users.athlete, e, payment={"type": "Card"})
    )
    assert card.status_code == 400
    assert card.json()["errors"] == []  # a validation, no refusals
    unknown = await post(client, users.as_athlete, order_body(users.athlete, uuid.uuid4()))
    assert unknown.status_code == 400
    assert "Unknown event" in unknown.json()["message"]
    assert await IdempotencyKey.all().count() == 0
    # The key was never taken: the next request with it places its order.
    r = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


async def test_a_rate_limited_request_keeps_nothing(client, users, settings, clock):
    settings.order_rate_limit_per_minute = 1
    settings.order_rate_limit_burst = 1
    e = await event(settings, users)
    f = await event(settings, users, start=LATER)
    assert (
        await post(client, users.as_athlete, order_body(users.athlete, e), None)
    ).status_code == 201
    limited = await post(client, users.as_athlete, order_body(users.athlete, f))
    assert limited.status_code == 429
    assert await IdempotencyKey.all().count() == 0
    clock.advance(minutes=1)
    r = await post(client, users.as_athlete, order_body(users.athlete, f))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


async def test_a_failure_lets_the_key_go(app, users, settings, monkeypatch):
    """A 500 keeps nothing: the order rolled back, the key free for the retry. (A client without
    the contract hook: the contract gives POST /bookings no 500.)"""
    e = await event(settings, users)
    real = ordering.booking_rows.create

    async def broken(bookings: Any) -> None:
        raise RuntimeError("the disk is full")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        monkeypatch.setattr(ordering.booking_rows, "create", broken)
        failed = await post(client, users.as_athlete, order_body(users.athlete, e))
        assert_errors_body(failed, 500, "internal")
        assert await IdempotencyKey.all().count() == 0
        assert await orders_of(users.athlete) == 0
        monkeypatch.setattr(ordering.booking_rows, "create", real)
        r = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("", False),
        ("k" * 255, True),
        ("k" * 256, False),
        ("a b~!", True),
        ("café", False),
        ("tab\there", False),
    ],
)
async def test_the_key_is_1_to_255_printable_ascii_characters(client, users, settings, key, ok):
    e = await event(settings, users)
    headers = {**users.as_athlete, "Idempotency-Key": key.encode("latin-1")}
    r = await client.post("/v1/bookings", json=order_body(users.athlete, e), headers=headers)
    if ok:
        assert r.status_code == 201, r.text
    else:  # the order's 400 body (BookEventErrorResponse), no refusals
        assert r.status_code == 400, r.text
        body = r.json()
        assert (body["code"], body["errors"]) == ("validation", [])
        assert "Idempotency-Key" in body["message"]
        assert await IdempotencyKey.all().count() == 0


async def test_clients_without_a_key_see_no_change(client, users, settings):
    e = await event(settings, users, capacity=2)
    body = order_body(users.athlete, e)
    first = await post(client, users.as_athlete, body, None)
    second = await post(client, users.as_athlete, body, None)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The second order is refused as before: the athlete already holds a seat then.
    assert second.json()["errors"] == [
        {"eventId": str(e), "bookingError": "conflictingUserSchedules"}
    ]
    assert await IdempotencyKey.all().count() == 0


# --- in flight, a dead holder, a lost lease ---------------------------------------------------


def ctx_of(settings: Any, clock: Any, user: uuid.UUID) -> Context:
    return Context(Principal(user, frozenset({Role.athlete})), clock(), settings)


def data_of(user: uuid.UUID, *events: uuid.UUID) -> ordering.BookEventsInput:
    return ordering.BookEventsInput.model_validate(order_body(user, *events))


async def hold(settings: Any, clock: Any, user: uuid.UUID, *events: uuid.UUID) -> Any:
    """Another request's claim on the key, as it holds it while its order runs."""
    data = data_of(user, *events)
    body = idempotency.fingerprint(data.model_dump(mode="json", by_alias=True))
    held = await idempotency.claim(ctx_of(settings, clock, user), Keyed(KEY), body, user)
    assert isinstance(held, idempotency.Claim)
    return held


async def test_a_key_still_being_answered_is_409_with_retry_after(client, users, settings, clock):
    e = await event(settings, users)
    await hold(settings, clock, users.athlete, e)
    r = await post(client, users.as_athlete, order_body(users.athlete, e))
    error = assert_errors_body(r, 409, "tooManyRequests")
    assert r.headers["retry-after"] == "1"
    assert "still being processed" in error["message"]
    assert await orders_of(users.athlete) == 0
    # GraphQL: a GraphQL error with the code, the status and retryAfter, and the header.
    g = await graphql_book(client, users.as_athlete, users.athlete, e)
    [gerror] = g.json()["errors"]
    extensions = gerror["extensions"]
    assert (extensions["code"], extensions["status"], extensions["retryAfter"]) == (
        "tooManyRequests",
        409,
        1,
    )
    assert g.headers["retry-after"] == "1"
    assert g.json()["data"] is None


async def test_a_holder_that_died_is_taken_over_after_its_lease(client, users, settings, clock):
    """The process answering the first request died: its key is held for LEASE, then the
    retry places the order (the first one wrote nothing: its transaction never committed)."""
    e = await event(settings, users)
    await hold(settings, clock, users.athlete, e)
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert (await post(client, users.as_athlete, order_body(users.athlete, e))).status_code == 409
    clock.advance(seconds=1)
    r = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    again = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == r.content
    assert await orders_of(users.athlete) == 1


async def test_a_holder_that_lost_its_lease_books_nothing(client, users, settings, clock):
    """A first request still alive after its lease (taken over meanwhile) cannot keep an answer:
    its order is rolled back with it, and it answers 409."""
    e, f = await event(settings, users), await event(settings, users, start=LATER)
    slow = await hold(settings, clock, users.athlete, e)
    clock.advance(seconds=LEASE.total_seconds())
    taken = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert taken.status_code == 201
    # The slow request comes to place its order (an order that passes every rule) only now.
    ctx = ctx_of(settings, clock, users.athlete)
    with pytest.raises(IdempotencyKeyInUse):
        await ordering._place(ctx, data_of(users.athlete, f), slow)
    assert await orders_of(users.athlete) == 1
    assert await Booking.filter(event_id=f).count() == 0


# --- expiry: the notify run purges ------------------------------------------------------------


async def test_a_key_answers_for_its_ttl_then_is_new_and_the_notify_run_purges_it(
    client, users, settings, clock
):
    e = await event(settings, users, capacity=3, start=NOW + timedelta(days=3))
    body = order_body(users.athlete, e)
    first = await post(client, users.as_athlete, body)
    assert first.status_code == 201
    clock.advance(hours=settings.idempotency_ttl_hours, seconds=-1)
    assert (await post(client, users.as_athlete, body)).headers["idempotent-replayed"] == "true"
    run = "mutation { notifyBookings { ... on NotifySummary { purgedIdempotencyKeys } } }"
    assert (await gql(client, users.as_scheduler, run))["data"]["notifyBookings"] == {
        "purgedIdempotencyKeys": 0
    }
    clock.advance(seconds=1)
    assert (await gql(client, users.as_scheduler, run))["data"]["notifyBookings"] == {
        "purgedIdempotencyKeys": 1
    }
    assert await IdempotencyKey.all().count() == 0
    # Expired (purged or not): the key is new again; here the athlete's seat conflicts.
    r = await post(client, users.as_athlete, body)
    assert r.status_code == 400
    assert "idempotent-replayed" not in r.headers
    assert r.json()["errors"][0]["bookingError"] == "conflictingUserSchedules"


async def test_an_expired_key_not_yet_purged_starts_over(client, users, settings, clock):
    a = await event(settings, users)
    b = await event(settings, users, start=LATER)
    assert (await post(client, users.as_athlete, order_body(users.athlete, a))).status_code == 201
    clock.advance(hours=settings.idempotency_ttl_hours)
    r = await post(client, users.as_athlete, order_body(users.athlete, b))  # another body: fine
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    assert await IdempotencyKey.all().count() == 1


async def test_the_rest_notify_run_purges_too(client, users, settings, clock):
    e = await event(settings, users)
    assert (await post(client, users.as_athlete, order_body(users.athlete, e))).status_code == 201
    clock.advance(hours=settings.idempotency_ttl_hours)
    r = await client.post("/v1/bookings/notify", headers=users.as_scheduler)
    assert r.status_code == 204
    assert await IdempotencyKey.all().count() == 0


# --- erasure ----------------------------------------------------------------------------------


async def test_erasing_an_athlete_deletes_their_keys_and_keys_of_orders_for_them(
    client, users, settings
):
    a = await event(settings, users)
    b = await event(settings, users, start=LATER)
    assert (await post(client, users.as_athlete, order_body(users.athlete, a))).status_code == 201
    by_admin = await post(client, users.as_admin, order_body(users.athlete, b), "admin-key")
    assert by_admin.status_code == 201
    kept = await post(client, users.as_other_athlete, order_body(users.other_athlete, a))
    assert kept.status_code == 201
    erase = await client.delete(
        "/v1/users", headers={**users.as_athlete, "x-current-user-id": str(users.athlete)}
    )
    assert erase.status_code == 204, erase.text
    assert await rows_holding(users.athlete) == []
    assert await IdempotencyKey.filter(user_id=users.other_athlete).count() == 1


async def test_erasing_a_coach_deletes_the_kept_answers_that_name_them(client, users, settings):
    e = await event(settings, users)
    assert (await post(client, users.as_athlete, order_body(users.athlete, e))).status_code == 201
    erase = await client.delete(
        "/v1/users", headers={**users.as_coach, "x-current-user-id": str(users.coach)}
    )
    assert erase.status_code == 204, erase.text
    assert await rows_holding(users.coach) == []
    assert await IdempotencyKey.all().count() == 0


async def test_a_user_holding_only_keys_can_be_erased(client, users, settings):
    e = await event(settings, users, start=NOW + timedelta(minutes=5))
    refused = await post(client, users.as_athlete, order_body(users.athlete, e))
    assert refused.status_code == 400  # kept: too close; no order, no booking
    erase = await client.delete(
        "/v1/users", headers={**users.as_athlete, "x-current-user-id": str(users.athlete)}
    )
    assert erase.status_code == 204, erase.text
    assert await IdempotencyKey.all().count() == 0


# --- GraphQL ----------------------------------------------------------------------------------


async def test_graphql_the_same_key_gives_the_same_order_again(client, users, settings):
    e = await event(settings, users)
    first = await graphql_book(client, users.as_athlete, users.athlete, e)
    again = await graphql_book(client, users.as_athlete, users.athlete, e)
    one, two = first.json()["data"]["bookEvents"], again.json()["data"]["bookEvents"]
    assert one["__typename"] == "BookingOrder"
    assert two == one
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await orders_of(users.athlete) == 1


async def test_graphql_a_refusal_is_given_again(client, users, settings):
    e = await event(settings, users, start=NOW + timedelta(minutes=10))
    first = (await graphql_book(client, users.as_athlete, users.athlete, e)).json()
    again = await graphql_book(client, users.as_athlete, users.athlete, e)
    assert first["data"]["bookEvents"]["__typename"] == "BookingRefused"
    assert again.json() == first
    assert again.headers["idempotent-replayed"] == "true"
    assert first["data"]["bookEvents"]["errors"] == [
        {"eventId": str(e), "bookingError": "tooCloseToEventStart"}
    ]


async def test_graphql_another_body_is_an_error_with_the_code(client, users, settings):
    a, b = await event(settings, users), await event(settings, users, start=LATER)
    await graphql_book(client, users.as_athlete, users.athlete, a)
    r = await graphql_book(client, users.as_athlete, users.athlete, b)
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "validation"
    assert error["extensions"]["status"] == 422
    assert "different body" in error["message"]
    assert await Booking.filter(event_id=b).count() == 0


async def test_graphql_an_invalid_key_is_a_validation_error(client, users, settings):
    e = await event(settings, users)
    r = await graphql_book(client, users.as_athlete, users.athlete, e, key="k" * 256)
    answer = r.json()["data"]["bookEvents"]
    assert (answer["__typename"], answer["code"]) == ("ValidationError", "validation")
    assert await IdempotencyKey.all().count() == 0


async def test_one_key_across_the_transports(client, users, settings):
    """REST first, then GraphQL: the same order; GraphQL first, then REST: the order as the
    contract shows it (no bytes were kept by GraphQL), marked replayed."""
    a = await event(settings, users)
    b = await event(settings, users, start=LATER)
    rest = await post(client, users.as_athlete, order_body(users.athlete, a))
    g = await graphql_book(client, users.as_athlete, users.athlete, a)
    assert g.json()["data"]["bookEvents"]["orderId"] == rest.json()["orderId"]
    assert g.headers["idempotent-replayed"] == "true"

    first = await graphql_book(client, users.as_athlete, users.athlete, b, key="graphql-first")
    order = first.json()["data"]["bookEvents"]
    r = await post(client, users.as_athlete, order_body(users.athlete, b), "graphql-first")
    assert (r.status_code, r.headers["idempotent-replayed"]) == (201, "true")
    assert r.json()["orderId"] == order["orderId"]
    read = await client.get(
        "/v1/bookings/orders", params={"userId": str(users.athlete)}, headers=users.as_athlete
    )
    assert r.json() in read.json()
    assert await orders_of(users.athlete) == 2


async def test_graphql_first_refusal_replayed_on_rest_has_the_contract_body(
    client, users, settings
):
    e = await event(settings, users, start=NOW - timedelta(hours=1))
    await graphql_book(client, users.as_athlete, users.athlete, e, key="g")
    r = await post(client, users.as_athlete, order_body(users.athlete, e), "g")
    assert (r.status_code, r.headers["idempotent-replayed"]) == (400, "true")
    body = r.json()
    assert body["errors"] == [{"eventId": str(e), "bookingError": "pastEventBookAttempt"}]
    assert (body["code"], body["endpoint"]) == ("validation", ENDPOINT)


# --- the served document ----------------------------------------------------------------------


async def test_the_served_document_shows_the_header_and_its_answers(client):
    served = (await client.get("/v1/openapi.json")).json()
    op = served["paths"]["/bookings"]["post"]
    [header] = [p for p in op["parameters"] if p.get("name") == "Idempotency-Key"]
    assert (header["in"], header["required"]) == ("header", False)
    assert header["schema"]["maxLength"] == 255
    errors = {"$ref": "#/components/schemas/Errors"}
    for code in ("409", "422"):
        assert op["responses"][code]["content"]["application/json"]["schema"] == errors
    assert "Retry-After" in op["responses"]["409"]["headers"]
    others = [o for path, item in served["paths"].items() for m, o in item.items() if o is not op]
    assert all("409" not in o["responses"] for o in others)
