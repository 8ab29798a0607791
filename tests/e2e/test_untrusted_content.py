"""What customers write is untrusted: in a real browser, none of it runs, and nothing loads from
the outside until the agent asks for it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from frontdesk.channels.base import InboundAttachment
from tests.factories import ChannelFactory, receive

from .conftest import post_to_hook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each vector would leave a trace if it ran: a dialog, or a mark on the agent's page.
RUN = "window.top.__pwned = (window.top.__pwned || 0) + 1; alert(document.domain)"
SCRIPT = f"<script>{RUN}</script>"
SUBJECT = f'Refund {SCRIPT} "quoted"'
NAME = f'<img src=x onerror="{RUN}">Mallory'
FILE_NAME = f'<img src=x onerror="{RUN}">invoice.pdf'  # no "/": file names lose it


def html_vectors(image_url: str) -> str:
    return (
        "<p>Hello, my <b>refund</b> hulajnoga please.</p>"
        f"{SCRIPT}"
        f'<img src=x onerror="{RUN}">'
        f'<svg onload="{RUN}"><circle r="4"></circle></svg>'
        f'<a href="javascript:{RUN}">click me</a>'
        f'<a href="https://shop.example/track" onclick="{RUN}">track the parcel</a>'
        f'<iframe src="javascript:{RUN}"></iframe>'
        f'<form action="https://evil.example/"><button formaction="javascript:{RUN}">go</button></form>'
        f'<div style="background:url(javascript:{RUN})" onmouseover="{RUN}">hover me</div>'
        f'<img src="{image_url}" alt="tracking pixel" id="remote-image">'
    )


BLOCKED_IMAGE = re.compile(
    r"^Loading the image '[^']*' violates the following Content Security Policy directive"
)


def only_blocked_images(console: list[str]) -> list[str]:
    """Console errors other than the frame's policy refusing images (which is the point)."""
    return [m for m in console if not BLOCKED_IMAGE.match(m)]


def test_customer_html_and_names_never_run_in_the_agents_browser(open_as, server, peer, agent, watch):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    image_url = f"{peer.url}/pixel.png"
    conversation = receive(
        channel,
        "Hello, my refund hulajnoga please.",
        html=html_vectors(image_url),
        subject=SUBJECT,
        name=NAME,
        email="mallory@example.org",
        external_id="m-1",
        attachments=[InboundAttachment(filename=FILE_NAME, content_type="application/pdf", data=b"%PDF-1.4")],
    )
    # The same through the shop's backend: plain text full of markup, attributes, a file.
    post_to_hook(
        server,
        channel,
        {
            "idempotency_key": "x-1",
            "customer": {
                "external_id": "m-1",
                "name": NAME,
                "attributes": {f"<b onmouseover='{RUN}'>tier</b>": SCRIPT, "vip": {"note": SCRIPT}},
            },
            "text": f'{SCRIPT} <img src=x onerror="{RUN}"> javascript:{RUN} https://shop.example/"><script>{RUN}</script>',
            "attachments": [
                {
                    "filename": FILE_NAME,
                    "content_type": "text/html",
                    "data_base64": base64.b64encode(SCRIPT.encode()).decode(),
                }
            ],
        },
    )
    page = open_as(agent)
    trouble = watch(page)
    slug = agent.tenant.slug

    page.goto(f"/t/{slug}/?view=all")
    row = page.get_by_test_id("inbox-row")
    expect(row).to_contain_text(SUBJECT)
    expect(row).to_contain_text("Mallory")

    page.goto(f"/t/{slug}/c/{conversation.number}/")
    expect(page.get_by_test_id("conversation-subject")).to_have_text(SUBJECT)
    expect(page.get_by_test_id("customer-link")).to_have_text(NAME)
    expect(page.get_by_test_id("attachment").first).to_contain_text(FILE_NAME)
    texts = page.get_by_test_id("message").locator(".msg-text")
    expect(texts.last).to_contain_text(SCRIPT)
    expect(page.get_by_test_id("customer-panel")).to_contain_text(SCRIPT)

    # The formatted message lives in a sandboxed frame without scripts or our origin.
    frame_element = page.get_by_test_id("message-frame")
    expect(frame_element).to_have_attribute("sandbox", "allow-popups allow-popups-to-escape-sandbox")
    frame = page.frame_locator("[data-testid='message-frame']")
    expect(frame.locator("body")).to_contain_text("hulajnoga please")
    expect(frame.locator("b")).to_have_text("refund")
    assert frame.locator("script, iframe, form, svg, [onerror], [onload], [onclick], [style]").count() == 0
    # The javascript: link keeps its words and loses its address.
    assert frame.get_by_text("click me").get_attribute("href") is None
    assert frame.locator("a[href^='javascript']").count() == 0
    expect(frame.get_by_role("link", name="track the parcel")).to_have_attribute(
        "href", "https://shop.example/track"
    )

    # The remote image waits for the agent's consent; then it loads, and only then is it fetched.
    image = frame.get_by_role("img", name="tracking pixel")
    expect(image).to_be_attached()
    assert image.evaluate("img => img.naturalWidth") == 0
    assert not [r for r in peer.requests if r.path == "/pixel.png"]
    page.get_by_test_id("show-images").click()
    peer.wait_for(lambda r: r.path == "/pixel.png")
    expect(page.get_by_test_id("show-images")).to_have_count(0)
    loaded = page.frame_locator("[data-testid='message-frame']").get_by_role("img", name="tracking pixel")
    expect(loaded).to_have_js_property("complete", True)
    assert loaded.evaluate("img => img.naturalWidth") == 1

    # A file the customer sent as HTML is downloaded when opened, never shown as a page of ours.
    href = page.get_by_test_id("attachment").last.get_attribute("href")
    with page.expect_download() as download:
        page.evaluate("href => { window.location.href = href; }", href)
    assert download.value.suggested_filename.endswith("invoice.pdf")
    assert Path(download.value.path()).read_bytes() == SCRIPT.encode()
    expect(page.get_by_test_id("conversation-subject")).to_have_text(SUBJECT)

    page.goto(f"/t/{slug}/search/?q=hulajnoga")
    hit = page.get_by_test_id("search-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text(SUBJECT)
    expect(hit.get_by_test_id("search-snippet").locator("mark")).to_have_text("hulajnoga")

    # What the agent types is shown back as typed, never as markup.
    box = page.get_by_role("searchbox", name="Search conversations")
    box.fill(SCRIPT)
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(SCRIPT)
    expect(box).to_have_value(SCRIPT)

    page.goto(f"/t/{slug}/customers/{conversation.customer_id}/")
    expect(page.get_by_test_id("customer-name")).to_have_text(NAME)
    expect(page.get_by_test_id("customer-conversations")).to_contain_text(SUBJECT)

    assert page.evaluate("window.__pwned") is None
    assert trouble.dialogs == []
    assert trouble.errors == []
    assert only_blocked_images(trouble.console) == [], trouble.console
