"""The API channel, inbound: a shop's backend posts signed customer messages to its webhook address."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest

from frontdesk.desk.models import Conversation, Customer, Message, RawInbound, RawState, Status
from frontdesk.desk.worker.runner import run_ready_tasks, sweep_raw_inbound
from tests.channels.conftest import message
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_a_signed_message_opens_a_conversation_and_answers_its_number(backend, tenant):
    response = backend.post(message(text="Gdzie jest moja paczka?"))

    assert response.status_code == 201
    body = response.json()
    assert body["conversation"] == 1
    assert body["duplicate"] is False
    conversation = Conversation.objects.get(tenant=tenant, number=1)
    assert conversation.status == Status.NEW
    assert conversation.messages.get().pk == body["message"]
    assert conversation.customer.name == "Jan Kowalski"
    assert RawInbound.objects.get().state == RawState.PROCESSED


def test_the_same_idempotency_key_again_is_a_duplicate_and_still_one_message(backend):
    first = backend.post(message(key="k-1"))
    again = backend.post(message(key="k-1"))

    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert Message.objects.count() == 1
    assert list(RawInbound.objects.order_by("id").values_list("state", flat=True)) == [
        RawState.PROCESSED,
        RawState.DUPLICATE,
    ]


def test_the_idempotency_key_may_come_in_a_header(backend):
    body = message()
    del body["idempotency_key"]

    first = backend.post(body, headers={"Idempotency-Key": "hdr-1"})
    again = backend.post(body, headers={"Idempotency-Key": "hdr-1"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert Message.objects.count() == 1


def test_a_message_without_any_idempotency_key_is_refused(backend):
    body = message()
    del body["idempotency_key"]

    response = backend.post(body)

    assert response.status_code == 422
    assert "idempotency_key" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "missing", "expired", "from the future", "body changed"],
)
def test_a_bad_signature_is_refused_with_401_and_the_payload_is_kept(backend, case):
    body = message()
    if case == "wrong secret":
        response = backend.post(body, secret="whsec_guessed")
    elif case == "missing":
        response = backend.post(body, signed=False)
    elif case == "expired":
        response = backend.post(body, timestamp=int(time.time()) - 301)
    elif case == "from the future":
        response = backend.post(body, timestamp=int(time.time()) + 400)
    else:
        from frontdesk.channels.signing import sign

        good = sign(backend.channel.secrets["signing_secret"], b'{"text": "original"}')
        response = backend.post(body, signed=False, headers={"X-Frontdesk-Signature": good})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert Message.objects.count() == 0
    raw = RawInbound.objects.get()
    assert raw.state == RawState.REJECTED
    assert bytes(raw.body).startswith(b"{")


def test_malformed_json_gets_400(backend):
    response = backend.post(b'{"idempotency_key": "k", "text": ')

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert RawInbound.objects.get().state == RawState.REJECTED


def test_a_json_array_is_not_a_message(backend):
    response = backend.post(b"[1, 2]")

    assert response.status_code == 400


def test_an_unknown_field_gets_422_naming_it(backend):
    response = backend.post(message(txet="typo"))

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["fields"] == {"txet": ["Unknown field"]}


def test_an_unknown_customer_field_is_named_with_its_path(backend):
    body = message()
    body["customer"]["mail"] = "jan@example.org"

    response = backend.post(body)

    assert response.status_code == 422
    assert "customer.mail" in response.json()["error"]["fields"]


def test_an_invalid_email_gets_422_naming_the_field(backend):
    body = message()
    body["customer"]["email"] = "jan(at)example"

    response = backend.post(body)

    assert response.status_code == 422
    assert "customer.email" in response.json()["error"]["fields"]
    assert Customer.objects.count() == 0


def test_an_invalid_phone_gets_422_naming_the_field(backend):
    body = message()
    body["customer"]["phone"] = "+48 12"

    response = backend.post(body)

    assert response.status_code == 422
    assert "customer.phone" in response.json()["error"]["fields"]


def test_a_national_phone_number_is_stored_in_e164_for_the_shops_country(backend):
    body = message()
    body["customer"] = {"phone": "601 234 567", "name": "Ola"}

    assert backend.post(body).status_code == 201

    customer = Customer.objects.get()
    assert customer.identity("phone").address == "+48601234567"


def test_a_message_without_a_customer_identity_gets_422(backend):
    body = message()
    body["customer"] = {"name": "Nobody"}

    response = backend.post(body)

    assert response.status_code == 422


def test_a_local_time_without_offset_gets_422(backend):
    response = backend.post(message(sent_at="2025-05-01T10:00:00"))

    assert response.status_code == 422
    assert "sent_at" in response.json()["error"]["fields"]


def test_a_wrong_content_type_gets_415(backend):
    response = backend.post(message(), content_type="text/plain")

    assert response.status_code == 415
    assert RawInbound.objects.get().state == RawState.REJECTED


def test_a_json_content_type_with_a_charset_is_fine(backend):
    response = backend.post(message(), content_type="application/json; charset=utf-8")

    assert response.status_code == 201


def test_a_body_over_the_limit_gets_413_and_is_not_read(backend, settings):
    settings.FRONTDESK_MAX_BODY_BYTES = 1000

    response = backend.post(message(text="x" * 2000))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert RawInbound.objects.count() == 0


def test_an_attachment_over_the_limit_gets_413_naming_it(backend, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 100
    data = base64.b64encode(b"x" * 101).decode()

    response = backend.post(
        message(
            attachments=[{"filename": "invoice.pdf", "content_type": "application/pdf", "data_base64": data}]
        )
    )

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "attachment_too_large"
    assert "invoice.pdf" in error["message"]
    assert "attachments.0.data_base64" in error["fields"]
    assert RawInbound.objects.get().state == RawState.REJECTED


def test_too_many_attachments_get_422(backend, settings):
    settings.FRONTDESK_MAX_ATTACHMENTS = 1
    one = {"filename": "a.txt", "content_type": "text/plain", "data_base64": "aGk="}

    response = backend.post(message(attachments=[one, one]))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_attachments"


def test_an_attachment_that_is_not_base64_gets_422(backend):
    response = backend.post(message(attachments=[{"filename": "a.txt", "data_base64": "not base64!"}]))

    assert response.status_code == 422
    assert "attachments.0.data_base64" in response.json()["error"]["fields"]


def test_an_attachment_within_the_limits_is_stored_with_the_message(backend):
    data = base64.b64encode(b"%PDF-1.4 invoice").decode()

    response = backend.post(
        message(
            attachments=[{"filename": "invoice.pdf", "content_type": "application/pdf", "data_base64": data}]
        )
    )

    assert response.status_code == 201
    attachment = Message.objects.get().attachments.get()
    assert (attachment.filename, attachment.size) == ("invoice.pdf", 16)


def test_an_unknown_channel_gets_404_in_the_error_shape(client):
    response = client.post(
        "/hooks/0b5c7a9e-7a43-4c39-9d2c-3f1c8f3b1a11/", b"{}", content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert RawInbound.objects.count() == 0


def test_a_malformed_channel_id_gets_404(client):
    response = client.post("/hooks/not-a-uuid/", b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_disabled_channel_gets_404(backend):
    backend.channel.disabled = True
    backend.channel.save(update_fields=["disabled"])

    response = backend.post(message())

    assert response.status_code == 404
    assert RawInbound.objects.count() == 0


def test_another_shops_secret_does_not_open_this_shops_channel(backend, other_tenant):
    """Cross-tenant: a channel of another shop signs with its own secret, which is worthless here."""
    theirs = ChannelFactory(tenant=other_tenant, kind="api")
    theirs.secrets = theirs.adapter.generate_secrets()
    theirs.save()

    response = backend.post(message(), secret=theirs.secrets["signing_secret"])

    assert response.status_code == 401
    assert Conversation.objects.count() == 0


def test_get_gets_405(backend, client):
    response = client.get(backend.url)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_address_without_a_trailing_slash_works_too(backend):
    response = backend.post(message(), url=backend.url.rstrip("/"))

    assert response.status_code == 201


def test_a_crash_while_processing_is_accepted_and_processed_later_by_the_sweeper(backend, monkeypatch):
    import frontdesk.desk.actions.inbound as inbound

    real = inbound.find_or_create_customer

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(inbound, "find_or_create_customer", broken)

    response = backend.post(message(key="crash-1"))

    assert response.status_code == 202
    raw = RawInbound.objects.get()
    assert response.json() == {"status": "accepted", "stored": raw.pk}
    assert raw.state == RawState.FAILED
    assert Message.objects.count() == 0

    monkeypatch.setattr(inbound, "find_or_create_customer", real)
    # Later than the signature's tolerance: the sweeper still verifies it as of its receipt.
    later = raw.received_at + dt.timedelta(minutes=10)
    assert sweep_raw_inbound(now=later) == 1
    run_ready_tasks()

    raw.refresh_from_db()
    assert raw.state == RawState.PROCESSED
    assert Message.objects.get().provider_id == "api:crash-1"
    # And the shop retrying the original post now learns it is already there.
    assert backend.post(message(key="crash-1")).json()["duplicate"] is True


def test_a_crash_while_marking_the_payload_processed_keeps_no_half_and_the_sweeper_does_it_once(
    backend, monkeypatch
):
    import frontdesk.desk.actions.inbound as inbound

    real = inbound._finish_raw
    crashes = []

    def crashing_once(raw, state, error):  # type: ignore[no-untyped-def]
        if state == RawState.PROCESSED and not crashes:
            crashes.append(raw.pk)
            raise RuntimeError("the process died here")
        real(raw, state, error)

    monkeypatch.setattr(inbound, "_finish_raw", crashing_once)

    assert backend.post(message(key="half-1")).status_code == 202
    raw = RawInbound.objects.get()
    assert raw.state == RawState.FAILED
    assert Message.objects.count() == 0  # not a message whose payload says it was never processed

    assert sweep_raw_inbound(now=raw.received_at + dt.timedelta(minutes=10)) == 1
    run_ready_tasks()

    raw.refresh_from_db()
    assert raw.state == RawState.PROCESSED  # the payload that brought it, not a duplicate of itself
    assert Message.objects.get().provider_id == "api:half-1"


def test_the_same_customer_writing_again_continues_their_open_conversation(backend):
    first = backend.post(message(key="k-1", text="Where is my parcel?")).json()
    second = backend.post(message(key="k-2", text="Any news?")).json()

    assert second["conversation"] == first["conversation"]
    assert Conversation.objects.get().messages.count() == 2


def test_a_thread_id_keeps_separate_threads_of_one_customer_apart(backend):
    a1 = backend.post(message(key="k-1", thread_id="order-1")).json()
    b1 = backend.post(message(key="k-2", thread_id="order-2")).json()
    a2 = backend.post(message(key="k-3", thread_id="order-1")).json()

    assert a2["conversation"] == a1["conversation"]
    assert b1["conversation"] != a1["conversation"]
    assert Conversation.objects.get(number=a1["conversation"]).external_thread_id == "order-1"


def test_a_conversation_number_threads_into_that_conversation_of_the_same_customer(backend):
    first = backend.post(message(key="k-1")).json()
    Conversation.objects.filter(number=first["conversation"]).update(status=Status.RESOLVED)

    again = backend.post(message(key="k-2", conversation_number=first["conversation"])).json()

    assert again["conversation"] == first["conversation"]
    assert Conversation.objects.get(number=first["conversation"]).status == Status.OPEN


def test_a_conversation_number_of_another_customer_is_not_followed(backend):
    first = backend.post(message(key="k-1")).json()
    stranger = message(key="k-2", conversation_number=first["conversation"])
    stranger["customer"] = {"external_id": "cust-99", "email": "eve@example.org"}

    response = backend.post(stranger).json()

    assert response["conversation"] != first["conversation"]


def test_too_many_posts_get_429_with_retry_after(backend, settings):
    settings.FRONTDESK_RATE_HOOK_PER_IP = (2, 60)

    codes = [backend.post(message(key=f"k-{i}")).status_code for i in range(3)]

    assert codes[:2] == [201, 201]
    last = backend.post(message(key="k-9"))
    assert last.status_code == 429
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    assert last.json()["error"]["code"] == "rate_limited"


def test_the_webhook_needs_no_csrf_token(shop_api):
    from django.test import Client

    from tests.channels.conftest import ShopBackend

    strict = ShopBackend(Client(enforce_csrf_checks=True), shop_api)

    assert strict.post(message()).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_webhook_works_through_the_asgi_handler_the_server_runs(shop_api):
    import json

    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from frontdesk.channels.signing import sign

    raw = json.dumps(message(key="asgi-1")).encode()
    post = async_to_sync(AsyncClient().post)

    response = post(
        f"/hooks/{shop_api.public_id}/",
        raw,
        content_type="application/json",
        headers={"X-Frontdesk-Signature": sign(shop_api.secrets["signing_secret"], raw)},
    )

    assert response.status_code == 201
    assert Message.objects.get().provider_id == "api:asgi-1"
