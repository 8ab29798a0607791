"""The live-chat widget on a shop's own site, in a real browser, against a real server process.

The shop's pages (chat_site/) are served from another 127.0.0.1 port than Frontdesk's, so the
widget works cross-origin as on a real shop: CORS for its HTTP calls, the Origin check on its socket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from frontdesk.desk.models import Conversation, Message
from tests.channels.email.dovecot import wait_for
from tests.channels.email.smtp_peer import SmtpPeer
from tests.factories import ChannelFactory

from . import conftest
from .conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE = Path(__file__).parent / "chat_site"


class ShopSite:
    """The shop's own web server: the pages of chat_site/ with the widget's snippet pasted in."""

    def __init__(self) -> None:
        self.snippet = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                name = "index.html" if path == "/" else path.lstrip("/")
                page = SITE / name
                found = "/" not in name and name.endswith(".html") and page.exists()
                body = (
                    page.read_text().replace("<!--WIDGET-->", site.snippet) if found else "Not found"
                ).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="shop-site", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shop_site(server: ServerProcess) -> Iterator[Callable[[], ShopSite]]:
    """Start shop sites; `site.install(channel)` pastes that channel's snippet into their pages."""
    sites: list[ShopSite] = []

    def start() -> ShopSite:
        site = ShopSite()
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


def install(site: ShopSite, server: ServerProcess, channel, settings: dict | None = None) -> None:  # type: ignore[no-untyped-def,type-arg]
    """What the shop owner does: paste the snippet from the channel's settings page (and, for a
    signed-in customer, the window.FrontdeskChat settings before it)."""
    site.snippet = f'<script src="{server.url}/chat/{channel.public_id}/widget.js" async></script>'
    if settings is not None:
        data = json.dumps(settings).replace("<", "\\u003c")
        site.snippet = f"<script>window.FrontdeskChat = {data};</script>\n{site.snippet}"


def chat_channel(tenant, *, allowed: list[str], **config):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="chat",
        name="Chat on the site",
        config={"allowed_origins": allowed, "title": "Rowerownia", "color": "#0b6bcb", **config},
    )


def stored(log):  # type: ignore[no-untyped-def]
    """The visitor's messages the server has confirmed (no longer "Sending…")."""
    return log.locator(".row.visitor:not(.pending)")


def widget(page):  # type: ignore[no-untyped-def]
    """The widget's shadow root (open: Playwright's locators pierce it)."""
    return page.locator("frontdesk-chat")


def test_a_visitor_chats_with_an_agent_who_answers_from_the_inbox(
    new_page, open_as, agent, shop_site, server, watch
):
    shop = shop_site()
    channel = chat_channel(
        agent.tenant,
        allowed=[shop.url],
        greeting={"en": "Hello! How can we help?"},
        prechat_name="off",
        prechat_email="off",
    )
    install(shop, server, channel)
    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    expect(inbox.get_by_test_id("inbox-empty")).to_be_visible()

    visitor = new_page()
    trouble = watch(visitor)
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel).to_contain_text("Hello! How can we help?")
    expect(panel.get_by_role("status").first).to_have_text("We usually answer in about 2 minutes.")
    panel.get_by_label("Message", exact=True).fill("Does the Wisła come with a 56 cm frame?")
    panel.get_by_label("Message", exact=True).press("Enter")
    log = panel.get_by_role("log")
    expect(log).to_contain_text("Does the Wisła come with a 56 cm frame?")
    expect(panel.get_by_label("Message", exact=True)).to_have_value("")

    row = inbox.get_by_test_id("inbox-row")
    expect(row).to_have_count(1)
    row.click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("Does the Wisła come with a 56 cm frame?")
    inbox.get_by_test_id("reply-text").fill("Yes, 52, 56 and 60 cm.")
    inbox.get_by_test_id("send-button").click()

    answer = log.locator(".row.shop").filter(has_text="Yes, 52, 56 and 60 cm.")
    expect(answer).to_be_visible()
    expect(answer).to_contain_text("Anna Agent")
    expect(answer.locator(".avatar")).to_have_text("AA")
    conversation = Conversation.objects.get(tenant=agent.tenant)
    texts = list(
        Message.objects.filter(conversation=conversation).order_by("id").values_list("text", flat=True)
    )
    assert texts == ["Does the Wisła come with a 56 cm frame?", "Yes, 52, 56 and 60 cm."]
    assert trouble.errors == [] and trouble.dialogs == []


def test_the_visitor_sees_the_agent_typing_and_that_the_agent_read_the_message(
    new_page, open_as, agent, shop_site, server
):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    panel.get_by_label("Message", exact=True).fill("Can I pick the bike up in the shop?")
    panel.get_by_label("Message", exact=True).press("Enter")
    mine = panel.get_by_role("log").locator(".row.visitor").filter(has_text="pick the bike up")
    expect(mine).to_contain_text(re.compile(r"\d\d:\d\d"))  # stored: its time instead of "Sending…"
    expect(mine).not_to_contain_text("Read")

    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    inbox.get_by_test_id("inbox-row").click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("Can I pick the bike up in the shop?")
    expect(mine).to_contain_text("Read")

    inbox.get_by_test_id("reply-text").press_sequentially("Sure, ")
    expect(panel.get_by_text("Anna Agent is typing…")).to_be_visible()
    inbox.get_by_test_id("reply-text").press_sequentially("Mon to Sat, 10 to 18.")
    inbox.get_by_test_id("send-button").click()
    expect(panel.get_by_role("log")).to_contain_text("Sure, Mon to Sat, 10 to 18.")
    expect(panel.get_by_text("Anna Agent is typing…")).to_be_hidden()


def restart(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start the server again where it was: same port, same database, same files."""
    monkeypatch.setattr(conftest, "free_port", lambda: server.port)
    server.__init__(server.var_dir.parent)  # type: ignore[misc]


def test_after_the_server_restarts_the_chat_resumes_without_loss_or_duplicates(
    new_page, open_as, agent, shop_site, server, monkeypatch
):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    composer = panel.get_by_label("Message", exact=True)
    log = panel.get_by_role("log")
    composer.fill("One")
    composer.press("Enter")
    expect(stored(log)).to_have_count(1)

    server.stop()
    expect(panel.get_by_role("status").first).to_have_text("Connection lost. Reconnecting…")
    for text in ("Two", "Three"):
        composer.fill(text)
        composer.press("Enter")
    expect(log.locator(".row.pending")).to_have_count(2)
    restart(server, monkeypatch)
    expect(stored(log)).to_have_count(3, timeout=30_000)
    # Each bubble reads as a screen reader says it: who, then what.
    expect(log.locator(".bubble")).to_have_text(["You: One", "You: Two", "You: Three"])

    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    inbox.get_by_test_id("inbox-row").click()
    inbox.get_by_test_id("reply-text").fill("Got all three.")
    inbox.get_by_test_id("send-button").click()
    expect(log.locator(".row.shop")).to_have_count(1)
    expect(log.locator(".row.shop")).to_contain_text("Got all three.")

    # Down again; this time the visitor writes, then goes to another page of the shop before the
    # server is back: the unsent message waits in the browser and goes when the widget can.
    server.stop()
    composer.fill("Four")
    composer.press("Enter")
    expect(log.locator(".row.pending")).to_have_count(1)
    visitor.goto(shop.url + "/cart.html")
    restart(server, monkeypatch)
    # The chat was open when she left the page: it is open on the next one too.
    log = chat.get_by_role("dialog", name="Rowerownia").get_by_role("log")
    expect(stored(log)).to_have_count(4, timeout=30_000)
    expect(log.locator(".bubble")).to_have_text(
        ["You: One", "You: Two", "You: Three", "Anna Agent: Got all three.", "You: Four"]
    )
    texts = list(Message.objects.order_by("id").values_list("text", flat=True))
    assert texts == ["One", "Two", "Three", "Got all three.", "Four"]


def test_with_nobody_available_the_visitor_leaves_an_email_address_and_gets_the_answer_by_email(
    new_page, open_as, agent, shop_site, server
):
    smtp = SmtpPeer().start()
    try:
        ChannelFactory(
            tenant=agent.tenant,
            kind="email",
            name="Support mailbox",
            config=smtp.config(),
            inbound_address="support@rowery.example",
        )
        agent.availability = "offline"
        agent.save(update_fields=["availability"])
        shop = shop_site()
        channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
        install(shop, server, channel)
        visitor = new_page()
        visitor.goto(shop.url + "/")
        chat = widget(visitor)
        chat.get_by_role("button", name="Open chat").click()
        panel = chat.get_by_role("dialog", name="Rowerownia")
        expect(panel.get_by_role("status").first).to_have_text(
            "No one is available right now. Leave a message and tell us how to answer you."
        )
        panel.get_by_label("Message", exact=True).fill("Is the shop open on Sunday?")
        panel.get_by_label("Message", exact=True).press("Enter")

        choice = panel.get_by_role("group", name="How would you like us to answer?")
        choice.get_by_label("By email").check()
        panel.get_by_label("Email address").fill("zofia@")
        panel.get_by_role("button", name="Confirm").click()
        expect(panel.get_by_label("Email address")).to_have_accessible_description(re.compile("zofia@"))
        expect(panel.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
        panel.get_by_label("Email address").fill("zofia@example.org")
        panel.get_by_role("button", name="Confirm").click()
        expect(panel.get_by_role("status").filter(has_text="We will answer")).to_have_text(
            "We will answer by email at zofia@example.org."
        )
        visitor.close()

        inbox = open_as(agent)
        inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
        inbox.get_by_test_id("inbox-row").click()
        inbox.get_by_test_id("reply-text").fill("Yes, from 10 to 14.")
        inbox.get_by_test_id("send-button").click()
        [mail] = wait_for(lambda: smtp.received, timeout=20, what="the answer at the SMTP server")
        assert mail.rcpt_tos == ["zofia@example.org"]
        assert "Yes, from 10 to 14." in mail.message.get_body(("plain",)).get_content()
    finally:
        smtp.stop()


def test_a_site_that_is_not_allowed_shows_no_launcher(new_page, agent, shop_site, server):
    allowed, other = shop_site(), shop_site()
    channel = chat_channel(agent.tenant, allowed=[allowed.url])
    install(allowed, server, channel)
    install(other, server, channel)
    visitor = new_page()
    warnings: list[str] = []
    visitor.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    with visitor.expect_console_message(lambda m: m.type == "warning") as warning:
        visitor.goto(other.url + "/")
    assert "Frontdesk chat" in warning.value.text
    # Once the widget has given up it stays quiet and shows nothing at all.
    expect(visitor.locator("frontdesk-chat")).to_have_count(0)
    expect(visitor.get_by_role("button")).to_have_text(["Add to cart"])
    assert warnings == [warning.value.text]

    visitor.goto(allowed.url + "/")
    expect(widget(visitor).get_by_role("button", name="Open chat")).to_be_visible()


def test_the_widget_works_from_the_keyboard(new_page, agent, shop_site, server):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    launcher = chat.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()

    # After the shop's own links and button, Tab reaches the launcher.
    for _ in range(10):
        visitor.keyboard.press("Tab")
        if launcher.evaluate("e => e.getRootNode().activeElement === e"):
            break
    expect(launcher).to_be_focused()
    assert launcher.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # a visible ring

    visitor.keyboard.press("Enter")
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Message", exact=True)).to_be_focused()
    visitor.keyboard.type("Hello")
    visitor.keyboard.press("Shift+Enter")
    visitor.keyboard.type("second line")
    expect(panel.get_by_label("Message", exact=True)).to_have_value("Hello\nsecond line")

    visitor.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(chat.locator(".launcher")).to_be_focused()


def test_on_a_phone_the_open_chat_fills_the_screen(new_page, agent, shop_site, server):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url])
    install(shop, server, channel)
    visitor = new_page(width=390, height=844)
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel).to_be_visible()
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    chat.get_by_role("button", name="Close chat").click()
    expect(chat.get_by_role("button", name="Open chat")).to_be_visible()


def test_an_agent_starts_a_chat_and_the_visitor_sees_it_beside_the_launcher(
    new_page, open_as, agent, shop_site, server
):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url])
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/cart.html")
    chat = widget(visitor)
    expect(chat.get_by_role("button", name="Open chat")).to_be_visible()

    desk = open_as(agent)
    desk.goto(f"/t/{agent.tenant.slug}/visitors/")
    row = desk.get_by_test_id("visitor-row")
    expect(row).to_contain_text("cart")
    row.get_by_test_id("start-chat-open").click()
    row.get_by_test_id("start-chat-text").fill("Hello! Any questions about the Wisła in your cart?")
    row.get_by_test_id("start-chat-send").click()

    # Not forced open: a preview beside the launcher, and the count on it.
    launcher = chat.get_by_role("button", name="Open chat, 1 unread message")
    expect(launcher).to_be_visible()
    expect(chat.locator(".badge")).to_have_text("1")
    expect(chat.get_by_role("dialog")).to_be_hidden()
    preview = chat.get_by_role("button", name=re.compile("Any questions about the Wisła"))
    expect(preview).to_contain_text("Anna Agent")
    preview.click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel.get_by_role("log")).to_contain_text("Hello! Any questions about the Wisła in your cart?")
    expect(chat.locator(".badge")).to_be_hidden()
    panel.get_by_label("Message", exact=True).fill("Does it fit a child seat?")
    panel.get_by_label("Message", exact=True).press("Enter")
    expect(stored(panel.get_by_role("log"))).to_have_count(1)
    [conversation] = Conversation.objects.filter(tenant=agent.tenant)
    assert list(conversation.messages.order_by("id").values_list("text", flat=True)) == [
        "Hello! Any questions about the Wisła in your cart?",
        "Does it fit a child seat?",
    ]


def test_an_invitation_on_the_cart_page_opens_the_chat_and_goes_with_the_first_message(
    new_page, agent, shop_site, server
):
    shop = shop_site()
    channel = chat_channel(
        agent.tenant,
        allowed=[shop.url],
        prechat_name="off",
        prechat_email="off",
        greeting={"en": "Hello!"},
        invitations=[
            {
                "id": "cart",
                "trigger": "cart",
                "url_pattern": "*/cart.html*",
                "seconds": 1,
                "text": {"en": "Questions about your order?"},
            },
        ],
    )
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    expect(chat.get_by_role("button", name="Open chat")).to_be_visible()
    visitor.get_by_role("link", name="Cart").click()
    invitation = chat.get_by_role("button", name="Questions about your order?")
    expect(invitation).to_be_visible()
    invitation.click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel).to_contain_text("Questions about your order?")
    expect(panel).not_to_contain_text("Hello!")
    panel.get_by_label("Message", exact=True).fill("Can I pay on delivery?")
    panel.get_by_label("Message", exact=True).press("Enter")
    # The shop's words open the conversation on the server too, and show once.
    expect(panel.get_by_role("log").locator(".bubble")).to_have_text(
        ["Rowerownia: Questions about your order?", "You: Can I pay on delivery?"]
    )
    expect(panel.locator(".intro")).to_be_hidden()
    [conversation] = Conversation.objects.filter(tenant=agent.tenant)
    assert list(conversation.messages.order_by("id").values_list("text", flat=True)) == [
        "Questions about your order?",
        "Can I pay on delivery?",
    ]

    # Once per visit: dismissed or answered, it does not come back on the next cart page.
    panel.get_by_role("button", name="Close chat").click()
    visitor.reload()
    expect(chat.get_by_role("button", name="Open chat")).to_be_visible()
    expect(chat.locator(".teaser")).to_be_hidden()
    assert visitor.evaluate("Object.keys(sessionStorage).filter(k => k.endsWith(':invited'))")


def test_when_the_websocket_is_blocked_the_widget_polls_and_still_chats(
    new_page, open_as, agent, shop_site, server
):
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
    install(shop, server, channel)
    visitor = new_page()
    sockets: list[str] = []

    def refuse(ws) -> None:  # type: ignore[no-untyped-def]
        sockets.append(ws.url)  # a proxy that lets no WebSocket through
        ws.close(code=1011)

    visitor.route_web_socket(re.compile(r"/ws/chat/"), refuse)
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    with visitor.expect_request(lambda r: "/messages?after=" in r.url, timeout=20_000):
        pass  # the widget gave up on the socket after three attempts and polls
    assert len(sockets) >= 3
    panel.get_by_label("Message", exact=True).fill("Hello from behind a strict proxy")
    panel.get_by_label("Message", exact=True).press("Enter")
    expect(stored(panel.get_by_role("log"))).to_have_count(1)

    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    inbox.get_by_test_id("inbox-row").click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("Hello from behind a strict proxy")
    expect(panel.get_by_role("log").locator(".row.visitor")).to_contain_text("Read")
    inbox.get_by_test_id("reply-text").fill("We hear you fine.")
    inbox.get_by_test_id("send-button").click()
    expect(panel.get_by_role("log")).to_contain_text("We hear you fine.")
    assert Message.objects.filter(text="Hello from behind a strict proxy").count() == 1


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082"
)


def test_the_visitor_sends_a_picture_and_sees_it_in_the_chat(new_page, open_as, agent, shop_site, server):
    shop = shop_site()
    channel = chat_channel(
        agent.tenant,
        allowed=[shop.url],
        prechat_name="off",
        prechat_email="off",
        upload_types=["image/*", "application/pdf"],
        max_upload_mb=1,
    )
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel.get_by_role("button", name="Attach a file")).to_be_visible()
    upload = panel.locator("input[type=file]")

    upload.set_input_files(
        files=[{"name": "virus.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    expect(panel.get_by_role("alert")).to_have_text("Files of this type cannot be sent.")
    big = {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * (1024 * 1024)}
    upload.set_input_files(files=[big])
    expect(panel.get_by_role("alert")).to_have_text("This file is too large: at most 1 MB.")

    upload.set_input_files(files=[{"name": "frame.png", "mimeType": "image/png", "buffer": PNG}])
    picture = panel.get_by_role("log").get_by_role("img", name="frame.png")
    expect(picture).to_be_visible()
    assert picture.get_attribute("src").startswith(server.url + "/")
    expect(panel.get_by_role("alert")).to_be_hidden()
    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    inbox.get_by_test_id("inbox-row").click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("frame.png")


def test_a_polish_page_gets_the_chat_in_polish_with_the_pre_chat_form(new_page, agent, shop_site, server):
    shop = shop_site()
    channel = chat_channel(
        agent.tenant, allowed=[shop.url], prechat_name="optional", prechat_email="required"
    )
    install(shop, server, channel)
    visitor = new_page()
    visitor.goto(shop.url + "/sklep.html")
    chat = widget(visitor)
    chat.get_by_role("button", name="Otwórz czat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel.get_by_role("status").first).to_have_text("Zwykle odpowiadamy w ciągu około 2 minut.")
    expect(panel).to_contain_text("Zanim zaczniemy")
    expect(panel.get_by_label("Imię i nazwisko (opcjonalnie)")).to_be_focused()
    panel.get_by_label("Imię i nazwisko (opcjonalnie)").fill("Zofia Nowak")
    message = panel.get_by_label("Wiadomość", exact=True)
    message.fill("Czy rower Wisła jest dostępny od ręki?")
    message.press("Enter")
    email = panel.get_by_label("Adres e-mail")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("To pole jest wymagane.")
    expect(email).to_be_focused()

    email.fill("zofia@")
    email.press("Enter")  # Enter in a field sends, as the message is written
    # The server's verdict, next to the field; the message waits in the composer.
    expect(email).to_have_accessible_description(re.compile("zofia@"))
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_value("Czy rower Wisła jest dostępny od ręki?")
    email.fill("zofia@example.org")
    message.press("Enter")
    expect(stored(panel.get_by_role("log"))).to_have_count(1)
    expect(panel.get_by_role("log").locator(".bubble")).to_have_text(
        ["Ty: Czy rower Wisła jest dostępny od ręki?"]
    )
    expect(panel.locator(".prechat")).to_have_count(0)
    [conversation] = Conversation.objects.filter(tenant=agent.tenant)
    assert conversation.customer.name == "Zofia Nowak"


def test_a_signed_in_customer_is_recognised_and_a_forged_one_chats_anonymously(
    new_page, agent, shop_site, server
):
    shop, forged_shop = shop_site(), shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url, forged_shop.url], prechat_email="required")
    user = {"id": "cust-42", "email": "jan@example.org", "name": "Jan Kowalski"}
    signed = hmac.new(channel.secrets["identity_secret"].encode(), b"cust-42", hashlib.sha256).hexdigest()
    install(shop, server, channel, {"user": {**user, "hash": signed}})
    install(forged_shop, server, channel, {"user": {**user, "id": "cust-1", "hash": signed}})

    visitor = new_page()
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    expect(panel.get_by_label("Message", exact=True)).to_be_focused()
    expect(panel.locator(".prechat")).to_have_count(0)  # the shop vouched for him: nothing to ask
    panel.get_by_label("Message", exact=True).fill("Where is my order 1234?")
    panel.get_by_label("Message", exact=True).press("Enter")
    expect(stored(panel.get_by_role("log"))).to_have_count(1)
    [conversation] = Conversation.objects.filter(tenant=agent.tenant)
    identity = conversation.customer.identity("email")
    assert identity is not None and identity.address == "jan@example.org"

    impostor = new_page()
    with impostor.expect_console_message(lambda m: m.type == "warning") as warning:
        impostor.goto(forged_shop.url + "/")
    assert "not valid" in warning.value.text
    chat = widget(impostor)
    chat.get_by_role("button", name="Open chat").click()
    expect(chat.get_by_label("Email address")).to_be_visible()  # anonymous: asked like anyone else


def test_what_people_write_is_shown_as_text_and_only_web_addresses_become_links(
    new_page, open_as, agent, shop_site, server, watch
):
    agent.user.name = 'Anna <img src=x onerror="alert(1)">'
    agent.user.save(update_fields=["name"])
    shop = shop_site()
    channel = chat_channel(agent.tenant, allowed=[shop.url], prechat_name="off", prechat_email="off")
    install(shop, server, channel)
    visitor = new_page()
    trouble = watch(visitor)
    visitor.goto(shop.url + "/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat").click()
    panel = chat.get_by_role("dialog", name="Rowerownia")
    panel.get_by_label("Message", exact=True).fill("<script>alert(2)</script> javascript:alert(3)")
    panel.get_by_label("Message", exact=True).press("Enter")
    # Stored (the widget shows it confirmed) before the agent opens the inbox, as in the tests above.
    expect(stored(panel.get_by_role("log"))).to_have_count(1)

    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    inbox.get_by_test_id("inbox-row").click()
    inbox.get_by_test_id("reply-text").fill("<b>Sizes</b>: https://rowery.example/sizes.\nThanks!")
    inbox.get_by_test_id("send-button").click()

    answer = panel.get_by_role("log").locator(".row.shop")
    expect(answer).to_contain_text('Anna <img src=x onerror="alert(1)">')
    expect(answer).to_contain_text("<b>Sizes</b>: https://rowery.example/sizes.")
    link = answer.get_by_role("link")
    expect(link).to_have_text("https://rowery.example/sizes")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    expect(panel.get_by_role("log")).to_contain_text("<script>alert(2)</script> javascript:alert(3)")
    assert panel.get_by_role("log").locator("img, script, b").count() == 0
    assert panel.get_by_role("log").get_by_role("link").count() == 1
    assert trouble.dialogs == [] and trouble.errors == []
