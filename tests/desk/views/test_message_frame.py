"""Customer HTML is served on its own, sanitised, under a strict CSP, for a sandboxed frame."""

from __future__ import annotations

import pytest

from frontdesk.desk.models import Message
from tests.factories import receive

pytestmark = pytest.mark.django_db

EVIL = (
    "<p>Hello <b>there</b></p><script>alert('pwned')</script>"
    '<img src=x onerror=alert(1)><a href="javascript:alert(2)">click</a>'
    '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input></form>'
    '<div style="position:fixed" onclick="steal()">x</div><img src="https://cdn.example/logo.png">'
)


@pytest.fixture
def html_message(api_channel) -> Message:  # type: ignore[no-untyped-def]
    conversation = receive(api_channel, "Hello there", html=EVIL, external_id="c1")
    return conversation.messages.get()


def frame(client, message: Message, query: str = ""):  # type: ignore[no-untyped-def]
    return client.get(f"/t/rowery/c/{message.conversation.number}/messages/{message.pk}/html/{query}")


def test_the_frame_has_a_strict_sandboxing_csp(agent_client, html_message):
    response = frame(agent_client, html_message)

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert csp.startswith("sandbox")
    assert "allow-scripts" not in csp and "allow-same-origin" not in csp and "allow-forms" not in csp
    assert "default-src 'none'" in csp
    assert "style-src 'unsafe-inline'" in csp
    assert csp.split("img-src", 1)[1].split(";", 1)[0].split() == ["data:"]
    assert "frame-ancestors 'self'" in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"


def test_no_script_survives(agent_client, html_message):
    body = frame(agent_client, html_message).content.decode().lower()

    assert "<b>there</b>" in body
    for bad in (
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "position:fixed",
    ):
        assert bad not in body


def test_remote_images_load_only_when_the_agent_asks(agent_client, html_message):
    allowed = frame(agent_client, html_message, "?images=1")

    img_src = allowed["Content-Security-Policy"].split("img-src", 1)[1].split(";", 1)[0]
    # http: too: the page offers "show remote images" for http: images as well.
    assert img_src.split() == ["data:", "http:", "https:"]
    assert "sandbox" in allowed["Content-Security-Policy"]


def test_the_conversation_offers_to_show_remote_images(agent_client, html_message):
    html = agent_client.get("/t/rowery/c/1/").content.decode()

    assert 'data-testid="show-images"' in html
    assert f'target="message-frame-{html_message.pk}"' in html


def test_a_message_without_html_or_of_another_conversation_is_404(agent_client, api_channel, html_message):
    plain = receive(api_channel, "No html", external_id="c2", email="other@example.org").messages.get()

    assert frame(agent_client, plain).status_code == 404
    wrong = agent_client.get(f"/t/rowery/c/{plain.conversation.number}/messages/{html_message.pk}/html/")
    assert wrong.status_code == 404


def test_an_outsider_gets_404_for_the_frame(outsider_client, html_message):
    assert frame(outsider_client, html_message).status_code == 404
