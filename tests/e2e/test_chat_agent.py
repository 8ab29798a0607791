"""Live chat from the agent's side in a real browser, with a visitor talking to the same server the
way the widget does (HTTP endpoints and the visitor WebSocket): typing both ways, read receipts
arriving live, and the notification of a chat offered to the agent."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from frontdesk.desk.models import Availability, Conversation, Membership
from tests.factories import ChannelFactory

from .conftest import mark_document, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE = "https://rowery.example"


class Visitor:
    """A browser on the shop's site: the widget's HTTP calls, and its socket when opened."""

    def __init__(self, server: Any, channel: Any) -> None:
        self.base = f"{server.url}/chat/{channel.public_id}"
        self.ws_url = server.url.replace("http://", "ws://") + f"/ws/chat/{channel.public_id}/"
        self.http = httpx.Client(headers={"Origin": SITE}, timeout=10)
        session = self.http.post(
            f"{self.base}/session", json={"page": {"url": f"{SITE}/rowery/gravel", "title": "Gravel bikes"}}
        )
        assert session.status_code == 200, session.text
        self.token = session.json()["token"]
        self.http.headers["X-Frontdesk-Visitor"] = self.token
        self.socket: ClientConnection | None = None
        self.resources = ExitStack()

    def post(self, name: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.base}/{name}", json=body)

    def say(self, text: str) -> dict[str, Any]:
        response = self.post("messages", {"client_id": uuid.uuid4().hex, "text": text})
        assert response.status_code == 201, response.text
        return response.json()["message"]  # type: ignore[no-any-return]

    def open_socket(self) -> None:
        socket = connect(self.ws_url, origin=Origin(SITE), proxy=None, open_timeout=10)
        self.socket = self.resources.enter_context(socket)
        self.send(
            {"type": "hello", "token": self.token, "after": 0, "page": {"url": f"{SITE}/", "title": "Home"}}
        )
        self.wait_for(lambda f: f.get("type") == "welcome")

    def send(self, frame: dict[str, Any]) -> None:
        assert self.socket is not None
        self.socket.send(json.dumps(frame))

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], seconds: float = 15) -> dict[str, Any]:
        """The first frame from the server that is `wanted` (others are skipped), within `seconds`."""
        assert self.socket is not None
        deadline = time.monotonic() + seconds
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                frame = json.loads(self.socket.recv(timeout=left))
            except TimeoutError:
                break
            if wanted(frame):
                return frame  # type: ignore[no-any-return]
        raise AssertionError("the visitor's socket did not receive the expected frame")

    def close(self) -> None:
        self.resources.close()
        self.http.close()


@pytest.fixture
def visitors(server) -> Iterator[Callable[[Any], Visitor]]:  # type: ignore[no-untyped-def]
    made: list[Visitor] = []

    def make(channel: Any) -> Visitor:
        visitor = Visitor(server, channel)
        made.append(visitor)
        return visitor

    yield make
    for visitor in made:
        visitor.close()


@pytest.fixture
def chat(agent):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=agent.tenant, kind="chat", name="Chat", config={"allowed_origins": [SITE]})


def connected(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page's agent socket said hello."""
    page.wait_for_function("window.deskRealtime && window.deskRealtime.member !== null")


def test_the_agent_sees_the_visitor_typing_and_the_visitor_sees_the_agent_typing(
    open_as, agent, chat, visitors
):
    visitor = visitors(chat)
    assert visitor.post("contact", {"name": "Jan Kowalski"}).status_code == 200
    number = visitor.say("Is the Gravel 3 in stock?")["conversation"]
    visitor.open_socket()
    anna = open_as(agent)
    anna.goto(f"/t/{agent.tenant.slug}/c/{number}/")
    connected(anna)
    indicator = anna.get_by_test_id("typing-indicator")
    expect(indicator).to_be_hidden()

    visitor.send({"type": "typing", "state": True, "conversation": number})
    expect(indicator).to_have_text("Jan Kowalski is typing…")

    visitor.send({"type": "typing", "state": False, "conversation": number})
    expect(indicator).to_be_hidden()

    anna.get_by_test_id("reply-text").press_sequentially("Tak, mamy")
    frame = visitor.wait_for(lambda f: f.get("type") == "typing" and f.get("state") is True)
    assert (frame["conversation"], frame["name"]) == (number, "Anna Agent")


def test_read_receipts_reach_both_sides_live(open_as, agent, chat, visitors, watch):
    visitor = visitors(chat)
    question = visitor.say("Do you ship to Gdańsk?")
    visitor.open_socket()
    anna = open_as(agent)
    trouble = watch(anna)

    # The agent opens the chat: the visitor is told their message was read.
    anna.goto(f"/t/{agent.tenant.slug}/c/{question['conversation']}/")
    read = visitor.wait_for(lambda f: f.get("type") == "read")
    assert read["up_to"] == question["id"]

    # The agent answers; once the visitor's widget shows it, the agent's page says "Read".
    anna.get_by_test_id("reply-text").fill("Yes, in two days.")
    anna.get_by_test_id("send-button").click()
    answer = visitor.wait_for(lambda f: f.get("type") == "message" and f["message"]["from"] == "agent")
    reply = anna.get_by_test_id("message").filter(has_text="Yes, in two days.")
    expect(reply.get_by_test_id("read-receipt")).to_have_count(0)

    visitor.send({"type": "read", "up_to": answer["message"]["id"]})
    expect(reply.get_by_test_id("read-receipt")).to_contain_text("Read")

    # Other actions on a chat refresh its hand-over notice too, without trouble.
    anna.get_by_test_id("priority-select").select_option("high")
    expect(anna.get_by_test_id("priority-badge")).to_be_visible()
    expect(anna.get_by_test_id("handover-notice")).to_be_hidden()
    assert trouble.errors == [] and trouble.dialogs == []


# Records each notification the page shows (the browser's own Notification still does the work).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  function Recorded(title, options) {
    const note = new Real(title, options);
    window.__notifications.push({ title, body: (options || {}).body, note });
    return note;
  }
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  window.Notification = Recorded;
})();
"""


def test_a_chat_offered_to_the_agent_rings_once_enabled_and_the_notification_opens_it(
    open_as, server, agent, chat, visitors
):
    Membership.objects.filter(pk=agent.pk).update(availability=Availability.ONLINE)
    anna = open_as(agent)
    anna.context.grant_permissions(["notifications"], origin=server.url)
    anna.add_init_script(RECORD_NOTIFICATIONS)
    anna.goto(f"/t/{agent.tenant.slug}/")
    connected(anna)
    toggle = anna.get_by_test_id("notify-toggle")
    expect(toggle).to_have_text("Enable notifications")

    toggle.click()
    expect(toggle).to_have_text("Turn off notifications")
    assert anna.evaluate("localStorage.getItem('frontdesk.notify')") == "on"

    number = visitors(chat).say("Hello, is anyone there?")["conversation"]
    assert Conversation.objects.get(number=number).assignee_id == agent.pk

    anna.wait_for_function("window.__notifications.length === 1")
    shown = anna.evaluate("window.__notifications.map(n => [n.title, n.body])")
    assert shown == [["New chat for you", f"Chat #{number} is offered to you."]]

    anna.evaluate("window.__notifications[0].note.dispatchEvent(new Event('click'))")
    anna.wait_for_url(f"**/t/{agent.tenant.slug}/c/{number}/")


def test_without_enabling_nothing_is_asked_and_nothing_rings(open_as, server, agent, chat, visitors):
    Membership.objects.filter(pk=agent.pk).update(availability=Availability.ONLINE)
    anna = open_as(agent)
    anna.add_init_script(RECORD_NOTIFICATIONS)
    anna.goto(f"/t/{agent.tenant.slug}/?view=all")
    connected(anna)

    visitors(chat).say("Hello?")
    expect(anna.get_by_test_id("inbox-row")).to_have_count(1)

    assert anna.evaluate("Notification.permission") == "default"
    assert anna.evaluate("window.__notifications.length") == 0


def test_an_agent_starts_a_chat_with_a_visitor_on_the_site(open_as, agent, chat, visitors, watch):
    visitor = visitors(chat)
    visitor.open_socket()
    anna = open_as(agent)
    trouble = watch(anna)
    anna.goto(f"/t/{agent.tenant.slug}/")
    anna.get_by_test_id("nav-visitors").click()
    row = anna.get_by_test_id("visitor-row")
    expect(row).to_have_count(1)
    # The page the widget's socket said it is on.
    expect(row).to_contain_text("Home")
    expect(row).to_contain_text("New visitor")

    row.get_by_test_id("start-chat-open").click()
    row.get_by_test_id("start-chat-text").fill("Hi! Looking for a gravel bike?")
    row.get_by_test_id("start-chat-send").click()

    anna.wait_for_url(f"**/t/{agent.tenant.slug}/c/*/")
    expect(anna.get_by_test_id("message")).to_contain_text("Hi! Looking for a gravel bike?")
    expect(anna.get_by_test_id("visitor-panel")).to_contain_text("On the site now")
    pushed = visitor.wait_for(lambda f: f.get("type") == "message")["message"]
    assert (pushed["from"], pushed["text"]) == ("agent", "Hi! Looking for a gravel bike?")
    assert trouble.errors == [] and trouble.dialogs == []


def test_the_visitors_list_refreshes_itself_and_waits_while_the_agent_writes(open_as, agent, chat, visitors):
    visitors(chat)
    anna = open_as(agent)
    anna.goto(f"/t/{agent.tenant.slug}/visitors/")
    rows = anna.get_by_test_id("visitor-row")
    expect(rows).to_have_count(1)
    mark_document(anna)

    # While a first message is being written, the list stays as it is…
    rows.first.get_by_test_id("start-chat-open").click()
    draft = rows.first.get_by_test_id("start-chat-text")
    draft.fill("Dzień dobry!")
    visitors(chat)
    refresh = lambda r: r.url.endswith("/visitors/") and r.request.method == "GET"  # noqa: E731
    with anna.expect_response(refresh, timeout=20_000):
        pass  # the next refresh round fetches the list, with the new visitor in it
    anna.evaluate("() => new Promise((done) => setTimeout(done, 0))")
    expect(rows).to_have_count(1)
    expect(draft).to_have_value("Dzień dobry!")

    # …and catches up once the form is closed, without reloading the page.
    rows.first.get_by_test_id("start-chat-open").click()
    expect(rows).to_have_count(2, timeout=20_000)
    assert same_document(anna)
