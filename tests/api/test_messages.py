"""The thread of a conversation through the API: read it, reply to the customer, add internal notes."""

from __future__ import annotations

import base64

import pytest

from frontdesk.desk.models import Delivery, DeliveryState, Direction, Event, Status
from tests.api.conftest import error_of
from tests.factories import MembershipFactory, receive


@pytest.fixture
def conversation(api_channel):  # type: ignore[no-untyped-def]
    return receive(api_channel, "Where is my parcel?", external_id="cust-1")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_thread_lists_customer_messages_replies_and_notes_in_order(owner_api, conversation):
    owner_api.post(f"/conversations/{conversation.number}/replies", {"text": "It ships today."})
    owner_api.post(f"/conversations/{conversation.number}/notes", {"text": "Checked with the warehouse."})
    items = owner_api.get(f"/conversations/{conversation.number}/messages").json()["items"]
    assert [(m["direction"], m["text"]) for m in items] == [
        ("in", "Where is my parcel?"),
        ("out", "It ships today."),
        ("note", "Checked with the warehouse."),
    ]
    assert items[0]["customer"] == conversation.customer_id
    assert items[0]["author"] is None
    assert items[1]["author"]["email"] == "owner@rowery.example"
    assert items[2]["channel"] is None


def test_the_thread_can_be_read_newest_first_and_filtered_by_direction(owner_api, conversation):
    owner_api.post(f"/conversations/{conversation.number}/replies", {"text": "Reply"})
    owner_api.post(f"/conversations/{conversation.number}/notes", {"text": "Note"})
    newest = owner_api.get(f"/conversations/{conversation.number}/messages", {"sort": "-created_at"})
    assert [m["text"] for m in newest.json()["items"]] == ["Note", "Reply", "Where is my parcel?"]
    notes = owner_api.get(f"/conversations/{conversation.number}/messages", {"direction": "note"})
    assert [m["text"] for m in notes.json()["items"]] == ["Note"]


def test_a_reply_is_queued_for_delivery_and_the_conversation_waits_on_the_customer(owner_api, conversation):
    response = owner_api.post(f"/conversations/{conversation.number}/replies", {"text": "It ships today."})
    assert response.status_code == 201
    message = response.json()
    assert message["direction"] == "out"
    assert message["delivery_state"] == DeliveryState.QUEUED
    assert message["conversation"] == conversation.number
    assert Delivery.objects.filter(message_id=message["id"]).count() == 1
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING


def test_a_reply_may_set_the_status_it_leaves(owner_api, conversation):
    owner_api.post(f"/conversations/{conversation.number}/replies", {"text": "Done!", "status": "resolved"})
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED


def test_a_reply_goes_through_the_channel_asked_for(owner_api, form_channel, api_channel):
    conversation = receive(api_channel, "Mail me", email="jan@example.org", external_id="cust-2")
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies", {"text": "By email", "channel": form_channel.pk}
    )
    assert response.status_code == 201
    assert response.json()["channel"]["id"] == form_channel.pk


def test_a_reply_to_a_channel_the_customer_cannot_be_reached_by_is_422(owner_api, form_channel, api_channel):
    conversation = receive(api_channel, "No email here", email="", external_id="cust-3")
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies", {"text": "Hi", "channel": form_channel.pk}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "no_recipient"


def test_a_reply_through_an_unknown_channel_is_422(owner_api, conversation):
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies", {"text": "Hi", "channel": 9999}
    )
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["channel"]


def test_a_reply_carries_attachments(owner_api, conversation):
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies",
        {
            "text": "Your invoice",
            "attachments": [
                {"filename": "invoice.pdf", "content_type": "application/pdf", "data": b64(b"%PDF-1")}
            ],
        },
    )
    assert response.status_code == 201
    [attachment] = response.json()["attachments"]
    assert attachment == {
        "id": attachment["id"],
        "filename": "invoice.pdf",
        "content_type": "application/pdf",
        "size": 6,
    }


def test_an_attachment_that_is_not_base64_is_422(owner_api, conversation):
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies",
        {"text": "x", "attachments": [{"filename": "a.txt", "data": "not base64!"}]},
    )
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"attachments.0.data": ["Not valid base64."]}


def test_an_attachment_over_the_limit_is_422_and_nothing_is_sent(owner_api, conversation, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies",
        {"text": "x", "attachments": [{"filename": "big.bin", "data": b64(b"x" * 11)}]},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "attachment_too_large"
    assert not Delivery.objects.exists()


def test_an_empty_reply_is_422(owner_api, conversation):
    response = owner_api.post(f"/conversations/{conversation.number}/replies", {"text": "   "})
    assert response.status_code == 422
    assert "text" in error_of(response)["fields"]


def test_a_note_is_never_delivered_and_mentions_notify(owner_api, tenant, conversation):
    anna = MembershipFactory(tenant=tenant, user__email="anna@rowery.example", user__name="Anna")
    response = owner_api.post(f"/conversations/{conversation.number}/notes", {"text": "@anna can you check?"})
    assert response.status_code == 201
    note = response.json()
    assert note["direction"] == Direction.NOTE
    assert note["mentions"] == [anna.pk]
    assert not Delivery.objects.exists()
    assert Event.objects.filter(kind="member.mentioned", data__member=anna.pk).exists()


def test_a_message_is_read_within_its_conversation_only(owner_api, conversation, api_channel):
    other = receive(api_channel, "Another question", email="ewa@example.org", external_id="cust-5")
    [message] = conversation.messages.all()
    assert owner_api.get(f"/conversations/{conversation.number}/messages/{message.pk}").json()["text"] == (
        "Where is my parcel?"
    )
    assert owner_api.get(f"/conversations/{other.number}/messages/{message.pk}").status_code == 404


def test_messages_of_an_unknown_conversation_are_404(owner_api, conversation):
    assert owner_api.get("/conversations/999/messages").status_code == 404
    assert owner_api.post("/conversations/999/notes", {"text": "hello"}).status_code == 404


def test_a_page_of_messages_costs_the_same_few_queries(
    owner_api, conversation, django_assert_max_num_queries
):
    for n in range(20):
        owner_api.post(
            f"/conversations/{conversation.number}/notes",
            {"text": f"note {n} @olga", "attachments": [{"filename": "a.txt", "data": b64(b"hi")}]},
        )
    with django_assert_max_num_queries(6):
        response = owner_api.get(f"/conversations/{conversation.number}/messages", {"limit": 21})
    assert len(response.json()["items"]) == 21
