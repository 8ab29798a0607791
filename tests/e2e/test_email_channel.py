"""The email channel end to end, in a real browser against a real server process: an admin sets
up a mailbox in the settings, and mail flows between a customer and an agent."""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from frontdesk.channels.email.addresses import conversation_from_address
from frontdesk.desk.models import Channel, Conversation, RawInbound, Role
from tests.channels.email.dovecot import PASSWORD, Dovecot, needs_dovecot, wait_for
from tests.channels.email.smtp_peer import SmtpPeer
from tests.factories import MembershipFactory

from .conftest import ServerProcess, mark_document, same_document

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    """This module's server: the same as every browser test's, with mail settings for 127.0.0.1."""
    with django_db_blocker.unblock():
        proc = ServerProcess(
            tmp_path_factory.mktemp("server"),
            # Mailboxes of new channels are picked up within 3 s (the pollers look every lease/3).
            extra_env={"FRONTDESK_MAILBOX_LEASE_SECONDS": "9"},
        )
    yield proc
    proc.stop()


@pytest.fixture
def admin(tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example", user__name="Adam"
    )


@pytest.fixture
def smtp_server() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(users={"support@rowery.example": "smtp-secret"}).start()
    yield peer
    peer.stop()


def test_an_admin_fills_in_a_provider_tests_the_sign_in_and_saves_a_password_never_shown_again(
    open_as, admin, smtp_server, watch
):
    page = open_as(admin)
    trouble = watch(page)
    page.goto(f"/t/{admin.tenant.slug}/settings/channels/new/email/")
    page.locator("#id_name").fill("Support")
    page.get_by_label("Email address").fill("support@rowery.example")

    # A preset fills in the provider's servers and the user names from the address.
    page.get_by_test_id("preset-microsoft365").click()
    expect(page.get_by_label("IMAP server")).to_have_value("outlook.office365.com")
    expect(page.get_by_label("SMTP server", exact=True)).to_have_value("smtp.office365.com")
    expect(page.get_by_label("IMAP user name")).to_have_value("support@rowery.example")
    expect(page.get_by_label("SMTP sign-in")).to_have_value("xoauth2")
    expect(page.get_by_label("Fetch mail over IMAP")).to_be_checked()
    expect(page.get_by_role("status").filter(has_text="tenant-id")).to_be_visible()
    page.get_by_test_id("preset-imap").click()
    expect(page.get_by_label("SMTP sign-in")).to_have_value("password")
    expect(page.get_by_label("IMAP server")).to_have_value("outlook.office365.com")  # theirs to type

    # The admin's own server: the test uses what is typed, before anything is saved.
    page.get_by_label("Fetch mail over IMAP").uncheck()
    page.get_by_label("SMTP server", exact=True).fill("127.0.0.1")
    page.get_by_label("SMTP port").fill(str(smtp_server.port))
    page.get_by_label("SMTP security").select_option("none")
    page.get_by_label("SMTP password").fill("wrong")
    mark_document(page)
    page.get_by_test_id("check-smtp").click()
    result = page.get_by_test_id("check-smtp-result")
    expect(result).to_have_attribute("data-state", "failed")
    expect(result).to_contain_text("535")
    page.get_by_label("SMTP password").fill("smtp-secret")
    page.get_by_test_id("check-smtp").click()
    expect(result).to_have_attribute("data-state", "ok")
    expect(result).to_contain_text("Signed in to 127.0.0.1")
    assert same_document(page)  # answered in place: what was typed is still there
    expect(page.get_by_label("SMTP password")).to_have_value("smtp-secret")
    assert not Channel.objects.exists()

    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_text("The channel Support is ready.")).to_be_visible()
    channel = Channel.objects.get(kind="email")
    assert channel.secrets == {"smtp_password": "smtp-secret"}
    secret = page.get_by_test_id("secret-smtp_password")
    expect(secret.get_by_test_id("secret-state")).to_have_text("set")
    expect(page.get_by_label("SMTP password")).to_have_value("")
    assert "smtp-secret" not in page.content()
    # Where to point an MX record or a forwarding rule (the web address's host when the operator
    # did not name the receiver's).
    expect(page.get_by_test_id("smtp-receiver")).to_contain_text(
        "rowery.example.  3600  IN  MX  10  127.0.0.1."
    )
    assert trouble.errors == [] and trouble.dialogs == []


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


CUSTOMER_MAIL = (
    "From: Zofia Nowak <zofia@example.org>\r\n"
    "To: Sklep Rowerowy <support@rowery.example>\r\n"
    "Subject: =?utf-8?q?Rower_nie_dotar=C5=82?=\r\n"
    "Message-ID: <zofia-1@example.org>\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Dzień dobry, zamówiłam rower RW-1234 tydzień temu i nadal go nie ma.\r\n"
).encode()


def answer_to(reply: email.message.EmailMessage) -> bytes:
    """What Zofia's mail program sends when she answers the shop's reply: to its Reply-To, with
    the threading headers, quoting it below her text."""
    quoted = "\r\n".join(f"> {line}" for line in reply.get_body(("plain",)).get_content().splitlines())
    return (
        "From: Zofia Nowak <zofia@example.org>\r\n"
        f"To: {reply['Reply-To']}\r\n"
        f"Subject: Re: {reply['Subject']}\r\n"
        "Message-ID: <zofia-2@example.org>\r\n"
        f"In-Reply-To: {reply['Message-ID']}\r\n"
        f"References: <zofia-1@example.org> {reply['Message-ID']}\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Dziękuję, czekam więc do piątku.\r\n"
        "\r\n"
        f"W dniu 23.11.2026 o 11:00, Sklep Rowerowy <support@rowery.example> pisze:\r\n{quoted}\r\n"
    ).encode()


@needs_dovecot
def test_a_mailbox_connected_in_the_settings_brings_mail_in_and_replies_go_out_threaded(
    open_as, admin, agent, dovecot, smtp_server, watch
):
    tenant = admin.tenant
    # The admin connects the shop's mailbox (Dovecot) and its SMTP server (aiosmtpd, which here
    # also stands for the customer's mail server: it records what reaches her).
    settings_page = open_as(admin)
    trouble = watch(settings_page)
    settings_page.goto(f"/t/{tenant.slug}/settings/channels/new/email/")
    settings_page.locator("#id_name").fill("Support")
    settings_page.get_by_label("Email address").fill("support@rowery.example")
    settings_page.get_by_label("Sender name").fill("Sklep Rowerowy")
    settings_page.get_by_test_id("preset-imap").click()
    settings_page.get_by_label("IMAP server").fill("127.0.0.1")
    settings_page.get_by_label("IMAP port").fill(str(dovecot.port))
    settings_page.get_by_label("IMAP security").select_option("none")
    settings_page.get_by_label("IMAP user name").fill(dovecot.user)
    settings_page.get_by_label("IMAP password").fill(PASSWORD)
    settings_page.get_by_test_id("check-imap").click()
    expect(settings_page.get_by_test_id("check-imap-result")).to_have_attribute("data-state", "ok")
    expect(settings_page.get_by_test_id("check-imap-result")).to_contain_text(
        "The folder INBOX holds 0 messages."
    )
    settings_page.get_by_label("SMTP server", exact=True).fill("127.0.0.1")
    settings_page.get_by_label("SMTP port").fill(str(smtp_server.port))
    settings_page.get_by_label("SMTP security").select_option("none")
    settings_page.get_by_label("SMTP user name").fill("support@rowery.example")
    settings_page.get_by_label("SMTP password").fill("smtp-secret")
    settings_page.get_by_test_id("check-smtp").click()
    expect(settings_page.get_by_test_id("check-smtp-result")).to_have_attribute("data-state", "ok")
    settings_page.get_by_role("button", name="Add channel").click()
    expect(settings_page.get_by_text("The channel Support is ready.")).to_be_visible()

    # Anna has the inbox open when Zofia's mail lands in the mailbox.
    inbox = open_as(agent)
    inbox.goto(f"/t/{tenant.slug}/?view=all")
    expect(inbox.get_by_test_id("inbox-empty")).to_be_visible()
    mark_document(inbox)
    dovecot.append(CUSTOMER_MAIL)
    row = inbox.get_by_test_id("inbox-row")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text("Zofia Nowak")
    expect(row).to_contain_text("Rower nie dotarł")
    assert same_document(inbox)  # it arrived live

    # She answers; the reply reaches Zofia's server threaded under her mail.
    row.click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("zamówiłam rower RW-1234")
    inbox.get_by_test_id("reply-text").fill("Rower wyjechał dziś, będzie w piątek.")
    inbox.get_by_test_id("send-button").click()
    reply_item = inbox.get_by_test_id("message").filter(has_text="Rower wyjechał dziś")
    expect(reply_item.get_by_test_id("delivery-state")).to_have_attribute(
        "data-state", "sent", timeout=20_000
    )
    [received] = wait_for(lambda: smtp_server.received, timeout=10, what="the reply at the SMTP server")
    reply = received.message
    conversation = Conversation.objects.get(tenant=tenant)
    assert received.rcpt_tos == ["zofia@example.org"]
    assert reply["In-Reply-To"] == "<zofia-1@example.org>"
    assert "<zofia-1@example.org>" in reply["References"]
    assert reply["Subject"] == f"Re: Rower nie dotarł [#{conversation.number}]"
    assert email.utils.parseaddr(reply["From"]) == ("Sklep Rowerowy", "support@rowery.example")
    reply_to = email.utils.parseaddr(reply["Reply-To"])[1]
    assert reply_to != "support@rowery.example"
    assert conversation_from_address(reply_to, tenant.pk) == conversation.number  # signed, this thread
    assert "Rower wyjechał dziś, będzie w piątek." in reply.get_body(("plain",)).get_content()

    # Zofia answers the reply: it joins the same conversation, her quote folded away.
    dovecot.append(answer_to(reply))
    answer = inbox.get_by_test_id("message").filter(has_text="Dziękuję, czekam więc do piątku.")
    expect(answer).to_be_visible(timeout=20_000)
    expect(answer.get_by_test_id("quoted-text")).not_to_have_attribute("open", "")
    expect(answer.get_by_text("Show quoted text")).to_be_visible()
    answer.get_by_text("Show quoted text").click()
    expect(answer.get_by_test_id("quoted-text")).to_contain_text("> Rower wyjechał dziś, będzie w piątek.")
    # The thread is redrawn in place after what Anna does next; the opened quote stays open.
    inbox.get_by_role("button", name="Assign to me").click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("Anna Agent took the conversation")
    expect(answer.get_by_text("Hide quoted text")).to_be_visible()
    assert Conversation.objects.filter(tenant=tenant).count() == 1
    assert conversation.messages.filter(direction="in").count() == 2
    assert RawInbound.objects.filter(channel__tenant=tenant).count() == 2
    assert trouble.errors == [] and trouble.dialogs == []
