"""The customer's status page: a signed link, no login, shows the conversation's progress and its
public messages, takes more messages (once, through the normal inbound path) and the customer's
choice of how the answer comes."""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from frontdesk.channels import registry
from frontdesk.channels.base import Capabilities, ChannelAdapter
from frontdesk.desk.actions.acknowledge import when_words
from frontdesk.desk.actions.conversations import do_add_note, do_merge, do_reply, do_set_status
from frontdesk.desk.actions.status import LINK_SALT, status_token, status_url
from frontdesk.desk.models import (
    Attachment,
    AuthorKind,
    Callback,
    CallbackState,
    Conversation,
    CustomerIdentity,
    Delivery,
    Event,
    Message,
    Status,
)
from tests.factories import ChannelFactory, receive

from .conftest import text_of

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


class StandInSmsAdapter(ChannelAdapter):
    """An SMS provider's adapter as the core sees it (none is built yet): sends to phone numbers."""

    kind = "test-sms"
    label = "SMS"
    capabilities = Capabilities(recipient_kind="phone", max_length=1600)


@pytest.fixture
def sms_kind(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(registry.ADAPTERS, "test-sms", f"{__name__}:StandInSmsAdapter")
    registry.get_adapter.cache_clear()
    yield "test-sms"
    registry.get_adapter.cache_clear()


@pytest.fixture
def email_channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="email", name="Support mailbox")


@pytest.fixture
def conversation(email_channel) -> Conversation:  # type: ignore[no-untyped-def]
    return receive(email_channel, "Where is my bike 4411?", email="jan@example.org", language="en")


def page_of(conversation: Conversation) -> str:
    return f"/s/{status_token(conversation)}/"


def post_message(client: Client, conversation: Conversation, text: str, client_id: str, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        page_of(conversation), {"action": "message", "text": text, "client_id": client_id, **extra}
    )


def choose(client: Client, conversation: Conversation, **data: str):  # type: ignore[no-untyped-def]
    return client.post(page_of(conversation), {"action": "reply", **data})


def test_a_valid_link_shows_reference_who_promise_and_public_messages_but_not_notes(
    client, conversation, agent
):
    conversation.assignee = agent
    conversation.promised_by = timezone.now() + dt.timedelta(days=3)
    conversation.save()
    do_reply(agent, conversation, "We are checking with the courier.")
    do_add_note(agent, conversation, "Customer was rude last time, careful")

    response = client.get(page_of(conversation))

    assert response.status_code == 200
    page = text_of(response)
    assert f"#{conversation.number}" in page
    assert "Anna Agent" in page
    zone = ZoneInfo(conversation.tenant.time_zone)
    assert when_words(conversation.promised_by, timezone.now(), zone, "en") in page
    assert "Where is my bike 4411?" in page
    assert "We are checking with the courier." in page
    assert "rude" not in page
    assert response["Cache-Control"].count("no-store") == 1
    assert response["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.content.decode()


def test_the_status_url_is_the_shops_base_url_with_the_page(conversation, settings):
    settings.FRONTDESK_BASE_URL = "https://desk.example.com"
    assert status_url(conversation) == f"https://desk.example.com{page_of(conversation)}"


def test_forged_tampered_and_expired_links_get_404_and_leak_nothing(client, conversation, monkeypatch):
    token = status_token(conversation)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    forged = signing.dumps({"t": conversation.tenant_id, "c": conversation.pk}, salt="another.salt")
    with monkeypatch.context() as past:
        # Signed 181 days ago: one day past the link's life.
        long_ago = time.time() - 181 * 24 * 3600
        past.setattr(signing.time, "time", lambda: long_ago)
        expired = status_token(conversation)
    for bad in ("nonsense", tampered, forged, expired):
        response = client.get(f"/s/{bad}/")
        assert response.status_code == 404, bad
        assert "bike" not in response.content.decode()
        assert str(conversation.number) not in text_of(response)
    assert client.post(f"/s/{expired}/", {"action": "message", "text": "hi"}).status_code == 404
    assert Message.objects.filter(text="hi").count() == 0


def test_a_link_of_a_merged_conversation_opens_the_one_it_went_into(
    client, conversation, email_channel, owner
):
    other = receive(email_channel, "And the helmet?", email="jan@example.org", language="en")
    do_merge(owner, other, conversation)
    response = client.get(page_of(other))
    assert response.status_code == 200
    assert f"#{conversation.number}" in text_of(response)


def test_a_link_of_another_shops_conversation_never_shows_this_shops(client, conversation, other_tenant):
    theirs = receive(
        ChannelFactory(tenant=other_tenant, kind="email"), "Other shop question", email="eve@example.org"
    )
    page = text_of(client.get(page_of(theirs)))
    assert "Other shop question" in page
    assert "bike" not in page and "Sklep Rowerowy" not in page
    # Even a correctly signed link naming one shop with another shop's conversation opens nothing.
    mixed = signing.dumps({"t": other_tenant.pk, "c": conversation.pk}, salt=LINK_SALT)
    assert client.get(f"/s/{mixed}/").status_code == 404


def test_a_message_posted_twice_with_the_same_client_id_is_stored_once_and_reopens_the_conversation(
    client, conversation, agent
):
    do_set_status(agent, conversation, Status.RESOLVED)

    first = post_message(client, conversation, "It still has not arrived.", "double-submit-1")
    second = post_message(client, conversation, "It still has not arrived.", "double-submit-1")

    assert first.status_code == second.status_code == 302
    assert first["Location"].endswith("?sent=1#messages")
    stored = Message.objects.filter(conversation=conversation, text="It still has not arrived.")
    assert stored.count() == 1
    assert stored.get().author_kind == AuthorKind.CUSTOMER
    assert stored.get().customer_id == conversation.customer_id
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert Event.objects.filter(kind="message.created", data__message=stored.get().pk).exists()
    assert "Thank you, we have your message." in text_of(client.get(first["Location"]))


def test_a_message_can_carry_files_within_the_limits(client, conversation, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 20
    photo = SimpleUploadedFile("receipt.txt", b"paid 1999 PLN", content_type="text/plain")
    assert (
        post_message(client, conversation, "Receipt attached", "with-file-1", files=photo).status_code == 302
    )
    assert Attachment.objects.get(message__text="Receipt attached").filename == "receipt.txt"

    huge = SimpleUploadedFile("scan.pdf", b"x" * 21, content_type="application/pdf")
    response = post_message(client, conversation, "Scan attached", "with-file-2", files=huge)
    assert response.status_code == 422
    assert "File too large." in text_of(response)
    assert not Message.objects.filter(text="Scan attached").exists()


def test_an_empty_message_gets_a_field_error(client, conversation):
    response = post_message(client, conversation, "   ", "empty-0001")
    assert response.status_code == 422
    assert "Write a message or attach a file." in text_of(response)


def test_posting_too_often_through_one_link_is_slowed_down(client, conversation, settings):
    settings.FRONTDESK_RATE_STATUS_PER_LINK = (2, 600)
    assert post_message(client, conversation, "one", "rate-0001").status_code == 302
    assert post_message(client, conversation, "two", "rate-0002").status_code == 302
    response = post_message(client, conversation, "three", "rate-0003")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert not Message.objects.filter(text="three").exists()


def test_choosing_sms_with_a_bad_phone_gives_a_field_error_and_changes_nothing(
    client, conversation, tenant, sms_kind
):
    ChannelFactory(tenant=tenant, kind=sms_kind, name="SMS gateway")
    response = choose(client, conversation, reply_via="sms", phone="12")

    assert response.status_code == 422
    assert "This is not a valid phone number." in text_of(response)
    phone_input = re.search(r'<input type="tel"[^>]*>', response.content.decode())
    assert phone_input is not None and 'aria-invalid="true"' in phone_input.group()
    assert 'aria-describedby="help-phone error-phone"' in phone_input.group()
    conversation.refresh_from_db()
    assert conversation.reply_channel is None
    assert conversation.customer.preferred_reply_channel is None
    assert not CustomerIdentity.objects.filter(kind="phone").exists()
    assert not Event.objects.filter(kind="conversation.reply_channel_changed").exists()


def test_choosing_sms_stores_the_number_in_e164_and_the_choice_on_conversation_and_customer(
    client, conversation, tenant, sms_kind
):
    sms = ChannelFactory(tenant=tenant, kind=sms_kind, name="SMS gateway")
    assert "Text message (SMS)" in text_of(client.get(page_of(conversation)))

    response = choose(client, conversation, reply_via="sms", phone="601 234 567")

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.reply_channel == sms
    assert conversation.customer.preferred_reply_channel == sms
    phone = CustomerIdentity.objects.get(customer=conversation.customer, kind="phone")
    assert (phone.address, phone.verified) == ("+48601234567", False)
    changed = Event.objects.get(kind="conversation.reply_channel_changed", conversation=conversation)
    assert changed.data["reply_via"] == "sms" and changed.data["chosen_by"] == "customer"
    assert "Thank you, we will answer the way you chose." in text_of(client.get(response["Location"]))


def test_a_newly_chosen_number_is_where_the_answer_goes_not_the_old_one(
    client, conversation, tenant, sms_kind, agent
):
    sms = ChannelFactory(tenant=tenant, kind=sms_kind, name="SMS gateway")
    CustomerIdentity.objects.create(
        tenant=tenant, customer=conversation.customer, kind="phone", address="+48500100200"
    )

    choose(client, conversation, reply_via="sms", phone="601 234 567")

    conversation.refresh_from_db()
    reply = do_reply(agent, conversation, "Paczka wyjechała dziś rano.")
    assert reply.channel == sms
    assert Delivery.objects.get(message=reply).recipient == "+48601234567"


def test_a_number_of_another_customer_is_not_taken_for_sms(
    client, conversation, tenant, sms_kind, email_channel
):
    ChannelFactory(tenant=tenant, kind=sms_kind)
    someone = receive(email_channel, "Hi", email="ola@example.org").customer
    CustomerIdentity.objects.create(tenant=tenant, customer=someone, kind="phone", address="+48601234567")
    response = choose(client, conversation, reply_via="sms", phone="+48 601 234 567")
    assert response.status_code == 422
    conversation.refresh_from_db()
    assert conversation.reply_channel is None


def test_choosing_a_call_creates_a_callback_in_the_customers_time_zone(client, conversation, tenant):
    tenant.service = {"offer_call": True}
    tenant.save()
    customer = conversation.customer
    customer.time_zone = "America/New_York"
    customer.save()
    day = (timezone.now().astimezone(NEW_YORK) + dt.timedelta(days=2)).date()

    response = choose(
        client,
        conversation,
        reply_via="call",
        phone="+1 212 555 0123",
        call_date=day.isoformat(),
        call_from="10:00",
        call_until="12:30",
    )

    assert response.status_code == 302
    callback = Callback.objects.get(conversation=conversation)
    assert callback.window_start == dt.datetime.combine(day, dt.time(10), tzinfo=NEW_YORK)
    assert callback.window_end == dt.datetime.combine(day, dt.time(12, 30), tzinfo=NEW_YORK)
    assert callback.due_at == callback.window_start
    assert (callback.state, callback.phone) == (CallbackState.SCHEDULED, "+12125550123")
    assert Event.objects.filter(kind="callback.requested", data__callback=callback.pk).exists()
    assert "We will call you" in text_of(client.get(page_of(conversation)))


def test_a_call_window_can_be_a_preset_and_must_make_sense(client, conversation, tenant):
    tenant.service = {"offer_call": True}
    tenant.save()
    base = {"reply_via": "call", "phone": "+48601234567"}
    backwards = choose(
        client, conversation, **base, call_date="2099-01-01", call_from="12:00", call_until="11:00"
    )
    assert backwards.status_code == 422
    assert "The window must end at least 15 minutes after it starts." in text_of(backwards)
    assert not Callback.objects.exists()

    assert choose(client, conversation, **base, call_preset="tomorrow_evening").status_code == 302
    callback = Callback.objects.get()
    local = callback.window_start.astimezone(ZoneInfo(tenant.time_zone))
    assert (local.hour, callback.window_end.astimezone(local.tzinfo).hour) == (18, 21)


def test_a_kind_the_shop_lacks_is_neither_offered_nor_accepted(client, conversation):
    page = text_of(client.get(page_of(conversation)))
    assert "Email" in page
    assert (
        "Text message (SMS)" not in page and "A phone call" not in page and "Chat on the website" not in page
    )

    for kind in ("sms", "call", "chat", "fax"):
        response = choose(client, conversation, reply_via=kind, phone="+48601234567")
        assert response.status_code == 422, kind
        assert "This way of answering is not available." in text_of(response)
    conversation.refresh_from_db()
    assert conversation.reply_channel is None
    assert not Callback.objects.exists()


def test_choosing_email_keeps_the_known_address_when_none_is_typed(client, conversation, email_channel):
    assert choose(client, conversation, reply_via="email").status_code == 302
    conversation.refresh_from_db()
    assert conversation.reply_channel == email_channel
    assert conversation.customer.preferred_reply_channel == email_channel
    assert CustomerIdentity.objects.filter(kind="email").count() == 1


def test_the_page_speaks_the_customers_language_and_clock(client, email_channel):
    conversation = receive(email_channel, "Gdzie jest mój rower?", email="ola@example.org", language="pl")
    customer = conversation.customer
    customer.time_zone = "America/New_York"
    customer.save()
    conversation.promised_by = timezone.now() + dt.timedelta(days=1)
    conversation.save()

    response = client.get(page_of(conversation))

    assert '<html lang="pl">' in response.content.decode()
    page = text_of(response)
    assert when_words(conversation.promised_by, timezone.now(), NEW_YORK, "pl") in page
    assert "America/New_York" in page
    written = conversation.messages.get().created_at.astimezone(NEW_YORK)
    assert f"{written:%Y-%m-%d %H:%M}" in page


def test_the_agents_composer_replies_the_way_the_customer_chose_and_says_so(
    client, conversation, tenant, sms_kind, agent
):
    from .conftest import signed_in

    sms = ChannelFactory(tenant=tenant, kind=sms_kind, name="SMS gateway")
    choose(client, conversation, reply_via="sms", phone="601 234 567")

    html = signed_in(agent).get(f"/t/{tenant.slug}/c/{conversation.number}/").content.decode()

    selected = re.search(r'<option value="(\d+)" selected>([^<]*)</option>', html)
    assert selected is not None and selected.group(1) == str(sms.pk)
    assert "+48601234567" in selected.group(2)
    assert 'data-testid="customer-choice"' in html
