"""`Prefer: respond-async` on the inbound webhook: checked and stored, answered 202, processed behind.

The posts go to the whole ASGI application (frontdesk.asgi), as uvicorn hands them over; the
receiving thread stores with its own database connection, so these tests commit for real.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.test import Client

from frontdesk.asgi import application, webhook_receiver
from frontdesk.channels.base import RawPayload
from frontdesk.channels.respond_async import Arrival, Receiver, RespondAsync
from frontdesk.channels.signing import SIGNATURE_HEADER, sign
from frontdesk.desk.models import Conversation, Message, RawInbound, RawState
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.conftest import message
from tests.factories import ChannelFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(autouse=True)
def _stop_the_receiver() -> Iterator[None]:
    yield
    # Its connection must not outlive the test (PostgreSQL drops the test database at the end).
    webhook_receiver.stop()


def signed(channel: Any, body: dict[str, Any] | bytes, **headers: str) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {
        "content": raw,
        "headers": {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(channel.secrets["signing_secret"], raw, int(time.time())),
            **headers,
        },
    }


def post_all(url: str, requests: list[dict[str, Any]], app: Any = application) -> list[httpx.Response]:
    """Send the requests at once through the ASGI application, as concurrent clients would."""

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return list(await asyncio.gather(*(client.post(url, **r) for r in requests)))

    # In a thread of its own: a browser test earlier in this process may run an event loop here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=60)


def post(url: str, request: dict[str, Any]) -> httpx.Response:
    return post_all(url, [request])[0]


def hook(channel: Any) -> str:
    return f"/hooks/{channel.public_id}/"


def test_a_signed_message_is_answered_202_when_stored_and_becomes_a_conversation_behind(shop_api):
    response = post(hook(shop_api), signed(shop_api, message(text="Gdzie jest paczka?"), **ASYNC))

    assert response.status_code == 202
    assert response.headers["Preference-Applied"] == "respond-async"
    raw = RawInbound.objects.get(pk=response.json()["stored"])
    assert response.json() == {"status": "accepted", "stored": raw.pk}
    assert raw.state == RawState.RECEIVED
    assert not Message.objects.exists()

    assert run_ready_tasks() == 1

    conversation = Conversation.objects.get(tenant=shop_api.tenant)
    assert conversation.messages.get().text == "Gdzie jest paczka?"
    assert conversation.customer.name == "Jan Kowalski"
    raw.refresh_from_db()
    assert raw.state == RawState.PROCESSED


def test_a_hundred_posts_at_once_are_each_stored_once_and_become_a_hundred_messages(shop_api):
    requests = [
        signed(shop_api, message(key=f"k-{i}", text=f"Pytanie {i}", thread_id=f"order-{i}"), **ASYNC)
        for i in range(100)
    ]

    responses = post_all(hook(shop_api), requests)

    assert {r.status_code for r in responses} == {202}
    stored = [r.json()["stored"] for r in responses]
    assert len(set(stored)) == 100
    assert RawInbound.objects.filter(pk__in=stored, state=RawState.RECEIVED).count() == 100
    run_ready_tasks()
    assert Message.objects.count() == 100
    assert Conversation.objects.count() == 100
    by_raw = dict(RawInbound.objects.values_list("pk", "body"))
    assert [json.loads(by_raw[pk])["text"] for pk in stored] == [f"Pytanie {i}" for i in range(100)]


def test_the_same_key_sent_twice_is_stored_twice_and_still_one_message(shop_api):
    first = post(hook(shop_api), signed(shop_api, message(key="k-1"), **ASYNC))
    again = post(hook(shop_api), signed(shop_api, message(key="k-1"), **ASYNC))

    assert (first.status_code, again.status_code) == (202, 202)
    run_ready_tasks()
    assert Message.objects.count() == 1
    assert list(RawInbound.objects.order_by("id").values_list("state", flat=True)) == [
        RawState.PROCESSED,
        RawState.DUPLICATE,
    ]


BAD_REQUESTS = {
    "bad signature": lambda ch: {**signed(ch, message()), "headers": {SIGNATURE_HEADER: "t=1,v1=00"}},
    "malformed JSON": lambda ch: signed(ch, b"{not json"),
    "wrong content type": lambda ch: {
        **signed(ch, message()),
        "headers": {**signed(ch, message())["headers"], "Content-Type": "text/plain"},
    },
    "unknown field": lambda ch: signed(ch, message(txet="typo")),
    "invalid email": lambda ch: signed(ch, message(customer={"email": "jan(at)example", "name": "Jan"})),
    "no idempotency key": lambda ch: signed(
        ch, {k: v for k, v in message().items() if k != "idempotency_key"}
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_a_bad_request_gets_the_same_refusal_as_without_the_preference_and_is_kept_rejected(shop_api, case):
    request = BAD_REQUESTS[case](shop_api)
    synchronous = Client().post(
        hook(shop_api),
        request["content"],
        content_type=request["headers"].get("Content-Type", "application/octet-stream"),
        headers={k: v for k, v in request["headers"].items() if k != "Content-Type"},
    )

    answered = post(hook(shop_api), {**request, "headers": {**request["headers"], **ASYNC}})

    assert 400 <= answered.status_code < 500
    assert (answered.status_code, answered.json()) == (synchronous.status_code, synchronous.json())
    assert "Preference-Applied" not in answered.headers
    assert list(RawInbound.objects.values_list("state", flat=True)) == [RawState.REJECTED] * 2
    assert run_ready_tasks() == 0
    assert not Message.objects.exists()


def test_a_refusal_is_in_the_language_the_sender_accepts(shop_api):
    request = signed(shop_api, b"[]", **ASYNC, **{"Accept-Language": "pl-PL,pl;q=0.9"})

    response = post(hook(shop_api), request)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Treść musi być obiektem JSON"


@pytest.mark.parametrize("address", ["unknown", "disabled", "chat", "malformed"])
def test_no_channel_at_the_address_is_404_and_nothing_is_stored(shop_api, address):
    if address == "disabled":
        shop_api.disabled = True
        shop_api.save()
    url = {
        "unknown": "/hooks/00000000-0000-4000-8000-000000000000/",
        "malformed": "/hooks/not-a-uuid",
        "chat": hook(ChannelFactory(tenant=shop_api.tenant, kind="chat")),
    }.get(address, hook(shop_api))

    response = post(url, signed(shop_api, message(), **ASYNC))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not RawInbound.objects.exists()


def test_another_shops_secret_does_not_open_this_shops_channel(shop_api):
    other = ChannelFactory(tenant=TenantFactory(), kind="api")
    other.secrets = other.adapter.generate_secrets()
    other.save()

    response = post(hook(shop_api), signed(other, message(), **ASYNC))

    assert response.status_code == 401
    assert RawInbound.objects.get().tenant_id == shop_api.tenant_id
    assert not RawInbound.objects.filter(tenant_id=other.tenant_id).exists()


def test_over_the_rate_limit_the_sender_is_told_when_to_retry(shop_api, settings):
    settings.FRONTDESK_RATE_HOOK_PER_IP = (2, 60)
    requests = [signed(shop_api, message(key=f"k-{i}"), **ASYNC) for i in range(3)]

    statuses = [post(hook(shop_api), r) for r in requests]

    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert statuses[2].json()["error"]["code"] == "rate_limited"
    assert RawInbound.objects.count() == 2


def test_a_body_over_the_limit_is_refused_before_it_is_read(shop_api, settings):
    from frontdesk import asgi

    limit = asgi.application.application_mapping["http"].limit
    request = signed(shop_api, message(text="x" * (limit + 1)), **ASYNC)

    response = post(hook(shop_api), request)

    assert response.status_code == 413
    assert not RawInbound.objects.exists()


def test_without_the_preference_the_message_is_processed_before_the_answer(shop_api):
    response = post(hook(shop_api), signed(shop_api, message()))

    assert response.status_code == 201
    assert response.json()["conversation"] == 1
    assert Message.objects.get().pk == response.json()["message"]


def test_the_preference_may_come_with_others_and_in_any_case(shop_api):
    request = signed(shop_api, message(), Prefer="return=minimal, Respond-Async; wait=10")

    response = post(hook(shop_api), request)

    assert response.status_code == 202


def test_the_stored_payload_keeps_the_headers_to_verify_it_again_but_no_credentials(shop_api):
    request = signed(shop_api, message(), **ASYNC, Authorization="Bearer secret", Cookie="a=b")

    post(hook(shop_api), request)

    headers = RawInbound.objects.get().headers
    assert SIGNATURE_HEADER.lower() in headers
    assert headers["prefer"] == "respond-async"
    assert "authorization" not in headers
    assert "cookie" not in headers
    assert RawInbound.objects.get().remote_addr == "203.0.113.7"


def test_when_too_many_requests_wait_the_sender_is_told_to_retry_in_a_second(shop_api):
    receiver = Receiver(max_waiting=1)
    app = RespondAsync(application, receiver)
    held = threading.Event()
    release = threading.Event()
    first = Arrival(str(shop_api.public_id), RawPayload(b"{}", "application/json"))

    def hold(_answer: Any) -> None:
        held.set()
        release.wait(10)

    # The receiving thread takes the first arrival and is held answering it; a second one takes
    # the only place in the queue.
    assert receiver.submit(first, hold)
    assert held.wait(10)
    assert receiver.submit(first, lambda _answer: None)
    try:
        response = post_all(hook(shop_api), [signed(shop_api, message(), **ASYNC)], app=app)[0]
    finally:
        release.set()
        receiver.stop()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "busy"
    assert not Message.objects.exists()
