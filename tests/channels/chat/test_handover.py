"""When the visitor is gone: the agent's answer goes to the email address they gave, through the
shop's mailbox, with the chat so far under it; while they are on the site it stays in the chat.
And what the visitor chose: answers by email, or a call back at a time that suits them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from frontdesk.channels.base import RawPayload
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import receive_raw
from frontdesk.desk.models import Conversation, DeliveryStatus, Event
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.smtp_peer import SmtpPeer
from tests.factories import ChannelFactory

from .conftest import Browser, left_the_site, visitor_of


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    """The shop's mail server, on 127.0.0.1."""
    server = SmtpPeer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(tenant, peer):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support mailbox",
        config=peer.config(),
        inbound_address="support@rowery.example",
    )


def chat_so_far(browser: Browser, agent) -> Conversation:  # type: ignore[no-untyped-def]
    """The visitor asked, the agent answered while they were there, and the visitor left an email."""
    assert browser.say("Czy macie gravel w rozmiarze M?").status_code == 201
    conversation = Conversation.objects.get()
    do_reply(agent, conversation, "Sprawdzam w magazynie, chwileczkę.")
    run_ready_tasks()
    assert browser.post("contact", {"name": "Jan", "email": "jan@example.org"}).status_code == 200
    conversation.refresh_from_db()
    return conversation


def test_the_answer_to_a_visitor_who_left_goes_by_email_with_the_chat_so_far(browser, agent, mailbox, peer):
    conversation = chat_so_far(browser, agent)
    left_the_site(browser, minutes=2)

    reply = do_reply(agent, conversation, "Jest, wyślemy jutro rano.")

    delivery = reply.deliveries.get()
    assert (delivery.channel, delivery.recipient) == (mailbox, "jan@example.org")
    run_ready_tasks()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    [mail] = peer.received
    assert mail.rcpt_tos == ["jan@example.org"]
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert "Jest, wyślemy jutro rano." in text
    # The shop and the visitor speak Polish: "Our chat so far:" in Polish.
    assert "Nasza dotychczasowa rozmowa na czacie:" in text
    transcript = text.split("Nasza dotychczasowa rozmowa na czacie:", 1)[1]
    assert "Jan (" in transcript and "): Czy macie gravel w rozmiarze M?" in transcript
    assert "Anna Agent (" in transcript and "): Sprawdzam w magazynie, chwileczkę." in transcript
    # The answer being sent is not part of the chat "so far".
    assert "wyślemy jutro" not in transcript
    # Back on the site, the visitor finds the answer in the chat too.
    assert [m["text"] for m in browser.messages()][-1] == "Jest, wyślemy jutro rano."


def test_while_the_visitor_is_on_the_site_the_answer_stays_in_the_chat(browser, agent, mailbox, peer):
    conversation = chat_so_far(browser, agent)

    reply = do_reply(agent, conversation, "Jest, wyślemy jutro rano.")
    run_ready_tasks()

    delivery = reply.deliveries.get()
    assert delivery.channel == conversation.channel
    assert delivery.recipient == browser.session["visitor"]
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == f"chat-{reply.pk}"
    reply.refresh_from_db()
    assert reply.provider_id == f"chat-{reply.pk}"
    assert peer.received == []


def test_a_visitor_who_left_no_email_finds_the_answer_in_the_chat_when_back(browser, agent, mailbox, peer):
    browser.say("Hello?")
    left_the_site(browser, minutes=10)

    reply = do_reply(agent, Conversation.objects.get(), "Sorry for the wait!")
    run_ready_tasks()

    assert reply.deliveries.get().channel.kind == "chat"
    assert peer.received == []
    assert browser.messages()[-1]["text"] == "Sorry for the wait!"


def test_without_a_mailbox_the_answer_stays_in_the_chat(browser, agent):
    browser.say("Hello?")
    browser.post("contact", {"email": "jan@example.org"})
    left_the_site(browser, minutes=10)

    reply = do_reply(agent, Conversation.objects.get(), "Sorry for the wait!")

    assert reply.deliveries.get().channel.kind == "chat"


def test_a_visitor_who_asked_for_answers_by_email_gets_them_by_email_at_once(browser, agent, mailbox, peer):
    browser.say("Nobody there? Please write to me.")
    response = browser.post("contact", {"email": "jan@example.org", "reply_via": "email"})
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.reply_channel == mailbox

    reply = do_reply(agent, conversation, "Here is the answer.")
    run_ready_tasks()

    assert reply.deliveries.get().channel == mailbox
    [mail] = peer.received
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert "Here is the answer." in text
    assert "Nasza dotychczasowa rozmowa na czacie:" in text and "Nobody there? Please write to me." in text
    event = Event.objects.get(kind="conversation.reply_channel_changed")
    assert event.data["reply_via"] == "email"
    assert event.data["address"] == "jan@example.org"


def test_the_customer_answering_that_email_continues_the_same_conversation(browser, agent, mailbox, peer):
    conversation = chat_so_far(browser, agent)
    left_the_site(browser)
    reply = do_reply(agent, conversation, "Jest, wyślemy jutro rano.")
    run_ready_tasks()
    reply.refresh_from_db()
    message_id = peer.received[0].message["Message-ID"]

    answer = (
        "From: Jan <jan@example.org>\r\nTo: support@rowery.example\r\nSubject: Re: gravel\r\n"
        f"Message-ID: <answer-1@example.org>\r\nIn-Reply-To: {message_id}\r\n\r\nSuper, dziekuje!\r\n"
    )
    _raw, [result] = receive_raw(mailbox, RawPayload(body=answer.encode()))

    assert result.conversation == conversation
    assert result.message.customer == visitor_of(browser).customer
    assert browser.messages()[-1]["text"].startswith("Super, dziekuje!")


def test_a_call_back_request_is_recorded_with_the_number_and_the_time(browser, agent):
    assert "call" in browser.session["config"]["reply_options"]
    browser.say("Can someone call me?")

    response = browser.post(
        "contact", {"phone": "601 234 567", "reply_via": "call", "call_window": "weekdays 16-18"}
    )

    assert response.status_code == 200
    assert response.json()["reply_via"] == "call"
    conversation = Conversation.objects.get()
    event = Event.objects.get(kind="callback.requested")
    assert event.conversation == conversation
    assert event.data == {"phone": "+48601234567", "window": "weekdays 16-18"}
    customer = visitor_of(browser).customer
    assert customer.preferred_contact_hours == "weekdays 16-18"
    assert customer.identity("phone").address == "+48601234567"


def test_a_call_back_needs_a_phone_number(browser, agent):
    browser.say("Can someone call me?")

    response = browser.post("contact", {"reply_via": "call"})

    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not Event.objects.filter(kind="callback.requested").exists()


def test_a_shop_that_offers_no_call_back_refuses_it(browser, agent, chat_channel):
    chat_channel.config = {**chat_channel.config, "offer_call": False}
    chat_channel.save()
    assert "call" not in browser.start().json()["config"]["reply_options"]
    browser.say("Can someone call me?")

    response = browser.post("contact", {"phone": "601 234 567", "reply_via": "call"})

    assert response.status_code == 400
    assert "reply_via" in response.json()["error"]["fields"]


def test_a_polling_widgets_heartbeat_keeps_the_answer_in_the_chat(browser, agent, mailbox, peer):
    conversation = chat_so_far(browser, agent)
    left_the_site(browser, minutes=2)

    beat = browser.post("page", {"url": "https://rowery.example/koszyk", "title": "Koszyk"})
    reply = do_reply(agent, conversation, "Still here?")

    assert beat.status_code == 204
    assert visitor_of(browser).page_url == "https://rowery.example/koszyk"
    assert reply.deliveries.get().channel == conversation.channel


def test_an_email_address_of_another_customer_keeps_the_answer_in_the_chat_and_says_so(
    browser, agent, mailbox, peer
):
    from tests.factories import CustomerFactory

    CustomerFactory(tenant=agent.tenant, email="jan@example.org")
    browser.say("Please write to me at jan@example.org")

    response = browser.post("contact", {"email": "jan@example.org", "reply_via": "email"})

    assert response.status_code == 200
    assert response.json()["reply_via"] == "chat"  # the widget confirms an answer in the chat
    conversation = Conversation.objects.get()
    assert conversation.reply_channel is None
    event = Event.objects.get(kind="conversation.reply_channel_changed")
    assert (event.data["requested"], event.data["reply_via"]) == ("email", "chat")
    assert do_reply(agent, conversation, "Answer").deliveries.get().channel == browser.channel
