"""Receiving customer messages: customers, threading, dedupe, status changes."""

from __future__ import annotations

import pytest

from frontdesk.channels.base import InboundContact, InboundMessage
from frontdesk.desk.actions.conversations import do_set_status
from frontdesk.desk.actions.inbound import do_receive_inbound
from frontdesk.desk.errors import Invalid
from frontdesk.desk.models import Conversation, Customer, Event, Message, Status
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db


def test_a_first_message_opens_a_new_conversation_numbered_per_tenant(api_channel, other_tenant):
    first = receive(api_channel, "Gdzie jest moja paczka?")
    second = receive(api_channel, "Chcę zwrócić rower", email="ola@example.org", name="Ola")
    elsewhere = receive(ChannelFactory(tenant=other_tenant), "Hello")

    assert (first.number, second.number) == (1, 2)
    assert elsewhere.number == 1
    assert first.status == Status.NEW
    assert first.subject == "Gdzie jest moja paczka?"


def test_the_same_dedupe_key_twice_creates_one_message(api_channel):
    receive(api_channel, "Hello", key="abc")
    receive(api_channel, "Hello", key="abc")

    assert Message.objects.filter(channel=api_channel).count() == 1
    assert Conversation.objects.count() == 1


def test_the_same_person_by_email_is_one_customer_across_channels(tenant, api_channel):
    other_channel = ChannelFactory(tenant=tenant, kind="form")
    receive(api_channel, email="Jan@Example.org")
    receive(other_channel, email="jan@example.org")

    assert Customer.objects.filter(tenant=tenant).count() == 1


def test_the_same_email_in_two_shops_is_two_customers(api_channel, other_tenant):
    receive(api_channel, email="jan@example.org")
    receive(ChannelFactory(tenant=other_tenant), email="jan@example.org")

    assert Customer.objects.count() == 2


def test_a_chat_like_channel_continues_the_customers_open_conversation(api_channel):
    first = receive(api_channel, "one")
    again = receive(api_channel, "two")

    assert again.pk == first.pk
    assert first.messages.count() == 2


def test_a_form_opens_a_new_conversation_each_time(tenant):
    form = ChannelFactory(tenant=tenant, kind="form")
    assert receive(form, "one").pk != receive(form, "two").pk


def test_a_customer_reply_reopens_a_conversation_waiting_on_them(api_channel, agent):
    conversation = receive(api_channel, "one")
    do_set_status(agent, conversation, Status.PENDING)

    receive(api_channel, "two")

    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert Event.objects.filter(conversation=conversation, kind="conversation.status_changed").count() == 2


def test_writing_to_a_closed_conversation_opens_a_linked_new_one(api_channel, agent):
    closed = receive(api_channel, "one")
    do_set_status(agent, closed, Status.CLOSED)

    new = receive(api_channel, "two", conversation_number=closed.number)

    assert new.pk != closed.pk
    assert new.previous == closed


def test_a_conversation_number_of_another_customer_is_not_followed(api_channel):
    jans = receive(api_channel, "one", email="jan@example.org")
    olas = receive(api_channel, "hi", email="ola@example.org", name="Ola", conversation_number=jans.number)

    assert olas.pk != jans.pk
    assert olas.customer != jans.customer


def test_a_reply_to_an_earlier_message_joins_its_conversation(tenant):
    form = ChannelFactory(tenant=tenant, kind="form")
    first = receive(form, "one", key="<m1@example.org>")
    reply = receive(form, "two", in_reply_to=["<m1@example.org>"])

    assert reply.pk == first.pk


def test_an_invalid_email_is_refused_with_the_field_named(api_channel):
    with pytest.raises(Invalid) as exc:
        do_receive_inbound(
            api_channel,
            InboundMessage(dedupe_key="x", contact=InboundContact(email="not-an-email"), text="hi"),
        )
    assert "email" in exc.value.fields
    assert Message.objects.count() == 0


def test_html_from_customers_is_sanitised(api_channel):
    conversation = receive(api_channel, "hi", html='<p onclick="x()">Hi<script>alert(1)</script></p>')

    html = conversation.messages.get().html
    assert "<script" not in html and "onclick" not in html
    assert "Hi" in html


def test_a_receiver_that_loses_a_race_for_a_new_customer_tries_again(api_channel, monkeypatch):
    """Two first messages of one new customer at once: the loser's identity insert collides."""
    from django.db import IntegrityError

    from frontdesk.desk.actions.inbound import find_or_create_customer

    calls = []

    def racing(tenant, contact):  # type: ignore[no-untyped-def]
        calls.append(contact.email)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint identity_unique")
        return find_or_create_customer(tenant, contact)

    monkeypatch.setattr("frontdesk.desk.actions.inbound.find_or_create_customer", racing)

    conversation = receive(api_channel, "hello", email="new@example.org")

    assert len(calls) == 2
    assert conversation.messages.get().text == "hello"


def test_mail_from_the_shops_own_address_is_refused_as_a_loop(tenant, api_channel):
    ChannelFactory(tenant=tenant, kind="form", inbound_address="support@rowery.example")

    with pytest.raises(Invalid) as exc:
        receive(api_channel, "echo", email="Support@Rowery.example")

    assert exc.value.code == "own_address"
    assert not Conversation.objects.exists()


def test_an_automatic_answer_does_not_bring_a_waiting_conversation_back(api_channel, agent):
    conversation = receive(api_channel, "one", external_id="c-1")
    do_set_status(agent, conversation, Status.PENDING)
    conversation.refresh_from_db()
    waiting_since = conversation.waiting_since

    receive(api_channel, "I am out of office until Monday", external_id="c-1", is_auto_reply=True)

    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING
    assert conversation.waiting_since == waiting_since
    assert conversation.messages.filter(is_auto_reply=True).count() == 1


def test_a_bounce_marks_the_reply_it_reports_on_as_failed(api_channel, agent):
    from frontdesk.channels.base import BounceReport
    from frontdesk.desk.actions.conversations import do_reply
    from frontdesk.desk.models import DeliveryState

    conversation = receive(api_channel, "Where is my order?", external_id="c-1")
    reply = do_reply(agent, conversation, "It ships today.")
    Message.objects.filter(pk=reply.pk).update(provider_id="<reply-1@shop.example>", delivery_state="sent")

    bounce = receive(
        api_channel,
        "Delivery to the following recipient failed permanently",
        email="mailer-daemon@example.org",
        name="Mail Delivery System",
        bounce=BounceReport(
            original_message_ids=["<reply-1@shop.example>"],
            recipients=["jan@example.org"],
            status="5.1.1",
            diagnostic="550 5.1.1 User unknown",
        ),
    )

    reply.refresh_from_db()
    assert bounce.pk == conversation.pk
    assert reply.delivery_state == DeliveryState.FAILED
    assert "5.1.1" in reply.delivery_error
    assert not Customer.objects.filter(identities__address="mailer-daemon@example.org").exists()
    assert conversation.messages.filter(author_kind="system", is_auto_reply=True).count() == 1
