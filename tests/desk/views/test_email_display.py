"""How email reads in the agent's conversation page: the customer's new words first with the
quoted history folded away, automatic replies marked, and a bounce shown as a delivery notice next
to the reply it concerns."""

from __future__ import annotations

import re

import pytest
from django.core import mail as django_mail

from frontdesk.channels.base import BounceReport, InboundContact, InboundMessage
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import do_receive_inbound
from frontdesk.desk.models import Channel, Conversation, DeliveryState, Message, Status
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.desk.views.conftest import text_of
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

QUOTE = "On Mon, 23 Nov 2026 at 10:00, Rowery <support@rowery.example> wrote:\n> Your bike ships on Friday."


@pytest.fixture
def mailbox(tenant) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support mail",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )


def timeline(client, conversation: Conversation) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/t/{conversation.tenant.slug}/c/{conversation.number}/")
    assert response.status_code == 200
    return response.content.decode()


def message_html(page: str, message: Message) -> str:
    match = re.search(rf'<li class="[^"]*" id="message-{message.pk}".*?</li>\s*(?=<li|</ol>)', page, re.S)
    assert match, f"message {message.pk} not on the page"
    return match[0]


def test_quoted_history_is_folded_under_a_toggle_that_works_without_javascript(agent_client, mailbox):
    conversation = receive(mailbox, "Thanks, but it is Saturday already.", quoted_text=QUOTE)
    message = conversation.messages.get()

    item = message_html(timeline(agent_client, conversation), message)

    assert "Thanks, but it is Saturday already." in item
    folded = item[item.index('<details class="msg-quoted"') :]
    assert "<details" in folded and "open" not in folded.split(">", 1)[0]
    assert "Show quoted text" in folded
    assert "&gt; Your bike ships on Friday." in folded
    # The new words come before the folded history.
    assert item.index("Saturday already") < item.index("Your bike ships on Friday")


def test_a_message_without_quoted_history_has_no_toggle(agent_client, mailbox):
    conversation = receive(mailbox, "Hello, one question.")

    assert "Show quoted text" not in timeline(agent_client, conversation)


def test_an_automatic_reply_is_marked_and_muted(agent_client, mailbox):
    conversation = receive(mailbox, "Where is my bike?")
    auto = do_receive_inbound(
        mailbox,
        InboundMessage(
            dedupe_key="<ooo-1@example.org>",
            contact=InboundContact(name="Jan Kowalski", email="jan@example.org"),
            text="I am out of office until Monday.",
            subject="Automatic reply: Where is my bike?",
            in_reply_to=[conversation.messages.get().provider_id],
            is_auto_reply=True,
        ),
    ).message

    page = timeline(agent_client, conversation)

    item = message_html(page, auto)
    assert "msg-auto" in item.split(">", 1)[0]
    assert 'data-testid="auto-reply-badge"' in item and "Automatic reply" in item
    first = message_html(page, conversation.messages.order_by("id").first())  # type: ignore[arg-type]
    assert "Automatic reply" not in first


def bounce_of(channel: Channel, original: Message, *, status: str = "5.1.1") -> Message:
    return do_receive_inbound(
        channel,
        InboundMessage(
            dedupe_key="<dsn-1@mx.example.org>",
            contact=InboundContact(name="Mail Delivery System", email="mailer-daemon@mx.example.org"),
            subject="Undelivered Mail Returned to Sender",
            text="This is the mail system at host mx.example.org.\n\n<jan@example.org>: user unknown",
            is_auto_reply=True,
            bounce=BounceReport(
                original_message_ids=[original.provider_id],
                recipients=["jan@example.org"],
                status=status,
                diagnostic="550 5.1.1 <jan@example.org>: Recipient address rejected: User unknown",
            ),
        ),
    ).message


def test_a_bounce_shows_as_a_delivery_notice_and_the_reply_as_not_delivered(agent_client, agent, mailbox):
    conversation = receive(mailbox, "Where is my bike?")
    reply = do_reply(agent, conversation, "It ships on Friday.")
    run_ready_tasks()  # sent through the installation's mail backend: it gets its Message-ID
    reply.refresh_from_db()
    assert reply.provider_id.startswith("<") and len(django_mail.outbox) == 1

    notice = bounce_of(mailbox, reply)

    page = timeline(agent_client, conversation)
    item = message_html(page, notice)
    assert "msg-bounce" in item.split(">", 1)[0]
    assert "Mail delivery system" in item and 'data-testid="bounce-badge"' in item
    assert "A mail server reports a problem delivering a reply of this conversation." in item
    # The report itself is there, folded; the customer's name is not put on it.
    assert "Show the mail server's report" in item and "user unknown" in item
    assert "Jan Kowalski" not in item
    failed = message_html(page, reply)
    assert 'data-state="failed"' in failed
    text = text_of(agent_client.get(f"/t/{conversation.tenant.slug}/c/{conversation.number}/timeline/"))
    # The server's answer once, not its status code twice.
    assert (
        "Not delivered: 550 5.1.1 <jan@example.org>: Recipient address rejected: User unknown Retry" in text
    )
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING  # a bounce is not the customer writing back


def test_another_shops_agent_sees_none_of_it(outsider_client, mailbox):
    conversation = receive(mailbox, "Private question", quoted_text=QUOTE)

    response = outsider_client.get(f"/t/{conversation.tenant.slug}/c/{conversation.number}/")

    assert response.status_code == 404
    assert b"Your bike ships" not in response.content
