"""A member of another shop gets 404 on every workspace URL of this shop, GET or POST, and
changes nothing. Signed-out visitors are sent to sign in."""

from __future__ import annotations

import pytest

from frontdesk.channels.base import InboundAttachment
from frontdesk.desk.actions.chat import do_start_session
from frontdesk.desk.models import Attachment, Callback, Conversation, Event, Message
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

# Every URL of urls_workspace.py, with {placeholders} filled from the shop's data.
URLS = [
    "/t/rowery/",
    "/t/rowery/inbox/list/",
    "/t/rowery/c/{number}/",
    "/t/rowery/c/{number}/regions/",
    "/t/rowery/c/{number}/timeline/",
    "/t/rowery/c/{number}/reply/",
    "/t/rowery/c/{number}/note/",
    "/t/rowery/c/{number}/assign/",
    "/t/rowery/c/{number}/status/",
    "/t/rowery/c/{number}/priority/",
    "/t/rowery/c/{number}/tags/",
    "/t/rowery/c/{number}/snooze/",
    "/t/rowery/c/{number}/merge/",
    "/t/rowery/c/{number}/reply-channel/",
    "/t/rowery/c/{number}/messages/{message}/retry/",
    "/t/rowery/c/{number}/messages/{message}/html/",
    "/t/rowery/customers/",
    "/t/rowery/customers/{customer}/",
    "/t/rowery/customers/{customer}/update/",
    "/t/rowery/customers/{customer}/identities/",
    "/t/rowery/customers/{customer}/identities/{identity}/remove/",
    "/t/rowery/customers/{customer}/merge/",
    "/t/rowery/attachments/{token}/",
    "/t/rowery/me/availability/",
    "/t/rowery/visitors/",
    "/t/rowery/visitors/{visitor}/start/",
    "/t/rowery/me/chats/",
    "/t/rowery/queue/",
    "/t/rowery/queue/next/",
    "/t/rowery/callbacks/",
    "/t/rowery/callbacks/{callback}/log/",
    "/t/rowery/callbacks/{callback}/cancel/",
]

POST_DATA = {
    "text": "leak?",
    "assignee": "me",
    "status": "closed",
    "priority": "urgent",
    "preset": "1h",
    "target": "1",
    "channel": "",
    "availability": "away",
    "name": "Hacked",
    "kind": "email",
    "address": "eve@evil.example",
    "other": "#1",
}


@pytest.fixture
def shop_data(api_channel):  # type: ignore[no-untyped-def]
    conversation = receive(
        api_channel,
        "Private question",
        html="<p>Private</p>",
        attachments=[InboundAttachment("private.pdf", "application/pdf", b"%PDF")],
        external_id="cust-1",
    )
    message = Message.objects.get(conversation=conversation)
    chat = ChannelFactory(tenant=api_channel.tenant, kind="chat")
    visitor = do_start_session(chat, page={"url": "https://rowery.example/", "title": "Private page"}).visitor
    return {
        "number": conversation.number,
        "message": message.pk,
        "customer": conversation.customer_id,
        "identity": conversation.customer.identities.first().pk,
        "token": Attachment.objects.get().token,
        "visitor": visitor.public_id,
        "callback": Callback.objects.create(
            tenant=api_channel.tenant,
            conversation=conversation,
            phone="+48601234567",
            window_start=conversation.created_at,
            window_end=conversation.created_at,
            due_at=conversation.created_at,
            state="due",
        ).pk,
    }


def test_the_list_covers_every_workspace_url():
    from frontdesk.desk.views.urls_workspace import urlpatterns

    assert len(URLS) == len(urlpatterns)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("url", URLS)
def test_a_member_of_another_shop_gets_404(outsider_client, shop_data, url, method):
    events_before = Event.objects.count()

    response = getattr(outsider_client, method)(
        url.format(**shop_data), POST_DATA if method == "post" else None
    )

    assert response.status_code == 404
    assert b"Private" not in response.content
    assert Event.objects.count() == events_before
    conversation = Conversation.objects.get()
    assert (conversation.status, conversation.priority, conversation.assignee_id) == ("new", "normal", None)


@pytest.mark.parametrize("url", URLS)
def test_signed_out_visitors_are_sent_to_sign_in(client, shop_data, url):
    response = client.get(url.format(**shop_data))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
