"""Live chat as agents see it: read receipts both ways, the hand-over notice, the visitor in the side
panel, the visitors on the site (and starting a chat with one), the chat channel's settings page.

Visitors talk to the widget's own endpoints (/chat/<id>/…) the way widget.js does; agents use the
workspace pages."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.models import Channel, ChatVisitor, Conversation, Direction, Event, Message
from tests.desk.views.conftest import HTMX, signed_in, text_of
from tests.factories import ChannelFactory, MembershipFactory, receive

pytestmark = pytest.mark.django_db

SITE = "https://rowery.example"


def chat_channel(tenant, name: str = "Chat on the site") -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="chat", name=name, config={"allowed_origins": [SITE]})


@pytest.fixture
def chat(tenant) -> Channel:  # type: ignore[no-untyped-def]
    return chat_channel(tenant)


@pytest.fixture
def email_channel(tenant) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Email",
        config={"address": "obsluga@rowery.example"},
        inbound_address="obsluga@rowery.example",
    )


class Visitor:
    """One browser on the shop's site with the chat widget."""

    def __init__(self, channel: Channel, title: str = "Gravel bikes", path: str = "/rowery/gravel") -> None:
        self.channel = channel
        self.client = Client(HTTP_ORIGIN=SITE)
        body = {"page": {"url": f"{SITE}{path}", "title": title, "referrer": ""}}
        response = self.post("session", body)
        assert response.status_code == 200, response.content
        self.token = response.json()["token"]
        self.public_id = response.json()["visitor"]

    def post(self, name: str, body: dict[str, Any]) -> Any:
        headers = {"HTTP_X_FRONTDESK_VISITOR": self.token} if hasattr(self, "token") else {}
        return self.client.post(
            f"/chat/{self.channel.public_id}/{name}",
            json.dumps(body),
            content_type="application/json",
            **headers,
        )

    def say(self, text: str) -> dict[str, Any]:
        response = self.post("messages", {"client_id": uuid.uuid4().hex, "text": text})
        assert response.status_code == 201, response.content
        return response.json()["message"]

    def messages(self) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/chat/{self.channel.public_id}/messages", {"after": 0}, HTTP_X_FRONTDESK_VISITOR=self.token
        )
        assert response.status_code == 200, response.content
        return response.json()["messages"]

    @property
    def row(self) -> ChatVisitor:
        return ChatVisitor.objects.get(public_id=self.public_id)

    def leave(self, minutes: int = 5) -> None:
        """The visitor closed the tab: the widget has been silent since."""
        ChatVisitor.objects.filter(public_id=self.public_id).update(
            last_seen_at=timezone.now() - dt.timedelta(minutes=minutes)
        )


def words(markup: str) -> str:
    """A piece of a page as a reader sees it."""
    return text_of(HttpResponse(markup))


def conversation_page(client: Client, number: int) -> Any:
    response = client.get(f"/t/rowery/c/{number}/")
    assert response.status_code == 200
    return response


# --- Read receipts ------------------------------------------------------------------------------------


def test_opening_a_chat_conversation_marks_the_visitors_messages_read_and_records_it(
    chat, agent, agent_client
):
    visitor = Visitor(chat)
    sent = visitor.say("Is the Gravel 3 available in size M?")
    number = sent["conversation"]

    conversation_page(agent_client, number)

    assert Message.objects.get(pk=sent["id"]).read_at is not None
    event = Event.objects.get(kind="message.read")
    assert event.actor == agent
    assert event.data == {"by": "agent", "up_to": sent["id"]}
    assert [m["read"] for m in visitor.messages()] == [True]


def test_an_email_conversation_is_not_marked_read_when_opened(agent_client, email_channel):
    conversation = receive(email_channel, "Czy rower jest dostępny?", email="jan@example.org")

    conversation_page(agent_client, conversation.number)

    assert conversation.messages.get().read_at is None
    assert not Event.objects.filter(kind="message.read").exists()


def test_a_live_refresh_marks_new_messages_read_only_when_the_page_is_in_view(chat, agent_client):
    visitor = Visitor(chat)
    number = visitor.say("Hello?")["conversation"]
    conversation_page(agent_client, number)
    later = visitor.say("Anyone there?")

    hidden = agent_client.get(f"/t/rowery/c/{number}/regions/", **HTMX)
    assert hidden.status_code == 200
    assert Message.objects.get(pk=later["id"]).read_at is None

    agent_client.get(f"/t/rowery/c/{number}/regions/?visible=1", **HTMX)
    assert Message.objects.get(pk=later["id"]).read_at is not None


def test_the_timeline_shows_read_on_an_agent_message_the_visitor_has_read(chat, agent, agent_client):
    visitor = Visitor(chat)
    number = visitor.say("Do you ship to Gdańsk?")["conversation"]
    conversation = Conversation.objects.get(number=number)
    answer = do_reply(agent, conversation, "Yes, in two days.")
    before = text_of(agent_client.get(f"/t/rowery/c/{number}/timeline/"))
    assert "Read" not in before

    assert visitor.post("read", {"up_to": answer.pk}).status_code == 204

    timeline = agent_client.get(f"/t/rowery/c/{number}/timeline/").content.decode()
    receipt = re.search(r'data-testid="read-receipt"[^>]*>([^<]+)<', timeline)
    assert receipt is not None and receipt.group(1).startswith("Read")
    assert Event.objects.filter(kind="message.read", data__by="customer").exists()


def test_a_read_receipt_changes_the_messages_version_so_a_live_refresh_replaces_it(chat, agent, agent_client):
    visitor = Visitor(chat)
    number = visitor.say("Do you ship to Gdańsk?")["conversation"]
    answer = do_reply(agent, Conversation.objects.get(number=number), "Yes.")

    def version() -> str:
        page = agent_client.get(f"/t/rowery/c/{number}/timeline/").content.decode()
        found = re.search(rf'id="message-{answer.pk}"[^>]*data-version="([^"]+)"', page)
        assert found is not None
        return found.group(1)

    unread = version()
    visitor.post("read", {"up_to": answer.pk})

    assert version() != unread


# --- The conversation page of a chat --------------------------------------------------------------------


def test_the_composer_shows_the_handover_notice_for_a_visitor_who_left_and_gave_an_email(
    chat, email_channel, agent_client
):
    visitor = Visitor(chat)
    number = visitor.say("Is the Gravel 3 available?")["conversation"]
    assert visitor.post("contact", {"email": "jan@example.org"}).status_code == 200
    notice = (
        "The visitor has left the site: your reply goes by email to jan@example.org, with the chat so far."
    )

    assert notice not in text_of(conversation_page(agent_client, number))

    visitor.leave()
    assert notice in text_of(conversation_page(agent_client, number))


def test_no_handover_notice_for_a_visitor_who_left_without_an_email(chat, email_channel, agent_client):
    visitor = Visitor(chat)
    number = visitor.say("Is the Gravel 3 available?")["conversation"]
    visitor.leave()

    assert "The visitor has left the site" not in text_of(conversation_page(agent_client, number))


def test_a_live_refresh_brings_the_handover_notice_when_the_visitor_has_left(
    chat, email_channel, agent_client
):
    visitor = Visitor(chat)
    number = visitor.say("Is the Gravel 3 available?")["conversation"]
    visitor.post("contact", {"email": "jan@example.org"})
    visitor.leave()

    regions = agent_client.get(f"/t/rowery/c/{number}/regions/", **HTMX).content.decode()

    assert 'id="chat-handover"' in regions
    assert "your reply goes by email to jan@example.org" in regions


def test_the_side_panel_shows_the_visitor_on_the_site_their_page_and_their_unverified_contact(
    chat, agent_client
):
    visitor = Visitor(chat, title="Koszyk – Rowerownia", path="/koszyk")
    number = visitor.say("Problem with my cart")["conversation"]
    visitor.post("contact", {"name": "Jan Kowalski", "phone": "+48 601 234 567"})

    response = conversation_page(agent_client, number)
    panel = response.content.decode().split('data-testid="visitor-panel"', 1)[1].split("</section>", 1)[0]
    text = words(panel)

    assert "On the site now" in text
    assert "Koszyk – Rowerownia" in text
    assert f"{SITE}/koszyk" in text
    assert "Jan Kowalski not verified" in text
    assert "+48601234567 not verified" in text


def test_the_side_panel_says_when_the_visitor_is_no_longer_on_the_site(chat, agent_client):
    visitor = Visitor(chat)
    number = visitor.say("Hello")["conversation"]
    visitor.leave()

    text = text_of(conversation_page(agent_client, number))

    assert "Not on the site (last seen" in text
    assert "On the site now" not in text


def test_the_page_of_a_chat_is_marked_for_live_typing_and_other_pages_are_not(
    chat, agent_client, conversation
):
    number = Visitor(chat).say("Hello")["conversation"]

    chat_page = conversation_page(agent_client, number).content.decode()
    other_page = conversation_page(agent_client, conversation.number).content.decode()

    assert 'data-chat="true"' in chat_page and 'data-testid="typing-indicator"' in chat_page
    assert 'data-chat="true"' not in other_page and 'data-testid="typing-indicator"' not in other_page


# --- Visitors on the site --------------------------------------------------------------------------------


def test_the_visitors_page_lists_who_is_on_the_site_now_with_page_and_time_on_site(
    tenant, chat, agent_client, outsider
):
    here = Visitor(chat, title="Gravel bikes", path="/rowery/gravel")
    ChatVisitor.objects.filter(public_id=here.public_id).update(
        visit_started_at=timezone.now() - dt.timedelta(minutes=12)
    )
    gone = Visitor(chat, title="Old page they left")
    gone.leave(minutes=5)
    elsewhere = Visitor(chat_channel(outsider.tenant, "Their chat"), title="Another shop's page")

    response = agent_client.get("/t/rowery/visitors/")

    assert response.status_code == 200
    rows = response.content.decode().split('data-testid="visitor-row"')[1:]
    assert len(rows) == 1
    text = words(rows[0])
    assert "Gravel bikes" in text
    assert f"{SITE}/rowery/gravel" in text
    assert "12 min" in text
    assert "New visitor" in text
    page = text_of(response)
    assert "Old page they left" not in page
    assert "Another shop's page" not in page
    assert elsewhere.public_id not in response.content.decode()


def test_a_returning_visitor_is_marked_with_their_visit_and_their_name_when_known(chat, agent_client):
    visitor = Visitor(chat)
    visitor.post("contact", {"name": "Jan Kowalski"})
    ChatVisitor.objects.filter(public_id=visitor.public_id).update(visits=3)

    text = text_of(agent_client.get("/t/rowery/visitors/"))

    assert "Jan Kowalski" in text
    assert "Returning (visit 3)" in text


def test_a_page_address_is_a_link_only_when_it_is_http_and_titles_are_shown_as_text(chat, agent_client):
    Visitor(chat, title="<script>alert(1)</script>", path="/promo")
    odd = Visitor(chat, title="Odd")
    ChatVisitor.objects.filter(public_id=odd.public_id).update(page_url="javascript:alert(2)")

    page = agent_client.get("/t/rowery/visitors/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'href="{SITE}/promo" target="_blank" rel="noopener noreferrer nofollow"' in page
    assert 'href="javascript:' not in page
    assert "javascript:alert(2)" in html.unescape(page)


def test_the_visitors_list_alone_is_sent_for_its_refresh(chat, agent_client):
    Visitor(chat, title="Gravel bikes")

    fragment = agent_client.get("/t/rowery/visitors/", **HTMX).content.decode()

    assert fragment.startswith('<div id="visitor-list"')
    assert "Gravel bikes" in fragment
    assert "<html" not in fragment


def test_starting_a_chat_creates_the_conversation_with_the_agents_message_and_redirects(
    chat, agent, agent_client
):
    visitor = Visitor(chat)

    response = agent_client.post(
        f"/t/rowery/visitors/{visitor.public_id}/start/", {"text": "Hi! Looking for a gravel bike?"}
    )

    conversation = Conversation.objects.get(channel=chat)
    assert response.status_code == 302
    assert response["Location"] == f"/t/rowery/c/{conversation.number}/"
    assert conversation.assignee == agent
    assert conversation.customer_id == visitor.row.customer_id
    message = conversation.messages.get()
    assert (message.direction, message.author, message.text) == (
        Direction.OUT,
        agent,
        "Hi! Looking for a gravel bike?",
    )
    assert [(m["from"], m["text"]) for m in visitor.messages()] == [
        ("agent", "Hi! Looking for a gravel bike?")
    ]


def test_starting_a_chat_without_a_message_shows_the_error_at_the_visitors_form(chat, agent_client):
    visitor = Visitor(chat)

    response = agent_client.post(f"/t/rowery/visitors/{visitor.public_id}/start/", {"text": "  "})

    assert response.status_code == 422
    row = response.content.decode().split(f'id="visitor-{visitor.public_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Write a message." in row
    assert not Conversation.objects.exists()


def test_an_outsider_gets_404_for_the_visitors_page_and_for_starting_a_chat(chat, outsider_client, outsider):
    visitor = Visitor(chat)
    chat_channel(outsider.tenant, "Their chat")

    assert outsider_client.get("/t/rowery/visitors/").status_code == 404
    assert (
        outsider_client.post(f"/t/rowery/visitors/{visitor.public_id}/start/", {"text": "Hi"}).status_code
        == 404
    )
    # In their own shop, with this shop's visitor: not found either.
    assert (
        outsider_client.post(f"/t/other/visitors/{visitor.public_id}/start/", {"text": "Hi"}).status_code
        == 404
    )
    assert not Conversation.objects.exists()


def test_a_shop_without_a_chat_channel_is_told_how_to_get_one(agent_client):
    text = text_of(agent_client.get("/t/rowery/visitors/"))

    assert "There is no live chat yet" in text


def test_the_navigation_links_to_the_visitors_page(agent_client):
    page = agent_client.get("/t/rowery/").content.decode()

    assert re.search(r'<a href="/t/rowery/visitors/"[^>]*>Visitors</a>', page)


# --- Notifications ---------------------------------------------------------------------------------------


def test_my_chats_names_the_chat_channels_and_the_chats_assigned_to_me(
    chat, agent, agent_client, api_channel
):
    mine = Visitor(chat)
    agent_client.post(f"/t/rowery/visitors/{mine.public_id}/start/", {"text": "Hi!"})
    colleague = MembershipFactory(tenant=agent.tenant)
    theirs = Visitor(chat)
    signed_in(colleague).post(f"/t/rowery/visitors/{theirs.public_id}/start/", {"text": "Hello"})
    receive(api_channel, "Not a chat")

    data = agent_client.get("/t/rowery/me/chats/").json()

    assert data["member"] == agent.pk
    assert data["channels"] == [chat.pk]
    assert data["mine"] == [Conversation.objects.get(customer_id=mine.row.customer_id).number]


def test_the_inbox_offers_to_enable_notifications_and_loads_the_script(agent_client):
    page = agent_client.get("/t/rowery/").content.decode()

    assert 'data-testid="notify-toggle"' in page
    assert "desk/notify" in page


# --- Settings --------------------------------------------------------------------------------------------


def test_a_new_chat_channel_shows_its_snippet_and_its_identity_secret_once(tenant, owner):
    client = signed_in(owner)
    form = client.get("/t/rowery/settings/channels/new/chat/").content.decode()
    assert [html.unescape(t) for t in re.findall(r"<legend>([^<]+)</legend>", form)] == [
        "Appearance",
        "Pre-chat form",
        "When nobody is available",
        "Routing",
        "Files",
        "Sites",
        "Invitations",
    ]

    response = client.post(
        "/t/rowery/settings/channels/new/chat/",
        {
            "name": "Chat",
            "config-title": "Rowerownia",
            "config-color": "#0b6bcb",
            "config-position": "right",
            "config-greeting__en": "Hello! How can we help?",
            "config-launcher_text__en": "Chat",
            "config-prechat_name": "optional",
            "config-prechat_email": "required",
            "config-prechat_phone": "off",
            "config-offer_email": "on",
            "config-reoffer_seconds": "60",
            "config-max_upload_mb": "10",
            "config-upload_types": "image/*\napplication/pdf",
            "config-allowed_origins": SITE,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    channel = Channel.objects.get(kind="chat")
    assert channel.config["greeting"] == {"en": "Hello! How can we help?"}
    assert channel.config["prechat_email"] == "required"
    first = client.get(response["Location"]).content.decode()
    assert re.search(
        rf'<script src="https?://[^"]+/chat/{channel.public_id}/widget\.js" async></script>',
        html.unescape(first),
    )
    secret = channel.secrets["identity_secret"]
    assert secret in first
    assert "HMAC-SHA256" in words(first)
    again = client.get(response["Location"]).content.decode()
    assert secret not in again
    assert f"/chat/{channel.public_id}/widget.js" in html.unescape(again)


def test_a_chat_channel_open_to_any_site_is_warned_about(tenant, owner):
    channel = ChannelFactory(tenant=tenant, kind="chat", name="Chat", config={})

    text = text_of(signed_in(owner).get(f"/t/rowery/settings/channels/{channel.pk}/"))

    assert "Allowed sites is empty" in text
