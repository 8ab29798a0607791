"""What a polling widget and a visitor in another language get: agent typing, the shop's own widget
texts, refusals in the visitor's language, an invitation answered with a file."""

from __future__ import annotations

from frontdesk.desk.actions.chat import set_agent_typing
from frontdesk.desk.models import AuthorKind, Conversation, Message

from .conftest import Browser, upload, visitor_of


def test_a_polling_widget_sees_that_an_agent_is_typing_until_they_stop(browser):
    browser.say("Czy rower jest dostępny?")
    customer = visitor_of(browser).customer
    number = Conversation.objects.get().number

    set_agent_typing(customer.pk, number, "Anna Agent", True)
    typing = browser.client.get(browser.url("messages"), **browser.headers()).json()["typing"]
    set_agent_typing(customer.pk, number, "Anna Agent", False)
    stopped = browser.client.get(browser.url("messages"), **browser.headers()).json()["typing"]

    assert typing == {"conversation": number, "name": "Anna Agent", "state": True}
    assert stopped is None


def test_the_shop_rewords_the_widget_in_a_language_it_added(chat_channel):
    chat_channel.config = {**chat_channel.config, "widget_texts": {"de": {"send": "Senden"}}}
    chat_channel.save()
    german = Browser(chat_channel)
    polish = Browser(chat_channel)

    german.start(language="de")
    polish.start(language="pl")

    assert german.session["config"]["texts"] == {"send": "Senden"}
    assert polish.session["config"]["texts"] == {}


def test_a_polish_visitor_reads_refusals_in_polish(chat_channel):
    polish = Browser(chat_channel)
    polish.start(language="pl")

    refused = polish.post("contact", {"email": "zofia@"})

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Sprawdź zaznaczone pola."


def test_a_file_sent_in_answer_to_an_invitation_opens_with_the_invitation(chat_channel):
    chat_channel.config = {
        **chat_channel.config,
        "invitations": [{"id": "koszyk", "trigger": "cart", "text": {"pl": "Pomóc z zamówieniem?"}}],
    }
    chat_channel.save()
    visitor = Browser(chat_channel)
    visitor.start(language="pl")

    sent = upload(visitor, "koszyk.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png", invitation="koszyk")

    assert sent.status_code == 201, sent.content
    first, second = Message.objects.order_by("id")
    assert (first.author_kind, first.text) == (AuthorKind.BOT, "Pomóc z zamówieniem?")
    assert second.attachments.get().filename == "koszyk.png"
