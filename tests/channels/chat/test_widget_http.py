"""The chat widget's HTTP endpoints, spoken to the way widget.js speaks to them from the shop's site:
sessions, CORS, messages, files, contact details, read receipts, typing, identity verification,
and what one visitor can never see of another."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.channels.base import RawPayload
from frontdesk.channels.chat.adapter import SIGNATURE_HEADER, sign_payload
from frontdesk.desk.actions.chat import do_mark_read_by_agent
from frontdesk.desk.actions.conversations import do_add_note, do_reply, do_set_status
from frontdesk.desk.actions.inbound import store_raw
from frontdesk.desk.models import (
    Availability,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerIdentity,
    Event,
    Message,
    RawInbound,
    Status,
)
from frontdesk.desk.worker.runner import run_ready_tasks, sweep_raw_inbound
from tests.factories import ChannelFactory, MembershipFactory, receive

from .conftest import SHOP_ORIGIN, Browser, sign_user, upload, visitor_of

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
    b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _path(url: str) -> str:
    """The path of an absolute URL (the test client speaks to the app directly)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    return response.json()["error"]


# --- The script --------------------------------------------------------------------------------------


def test_the_widget_script_is_cached_by_etag_and_answers_304_when_unchanged(chat_channel):
    client = Client()
    url = f"/chat/{chat_channel.public_id}/widget.js"

    first = client.get(url)

    assert first.status_code == 200
    assert first["Content-Type"].startswith("text/javascript")
    assert first["Cache-Control"] == "public, max-age=300"
    etag = first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # A proxy that compressed it hands the tag back weak; a changed script has another tag.
    assert client.get(url, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"0000000000000000"').status_code == 200


# --- Sessions ----------------------------------------------------------------------------------------


def test_a_new_visitor_gets_a_secret_token_and_a_public_id(chat_channel, agent):
    browser = Browser(chat_channel)

    session = browser.start(language="pl").json()

    assert len(session["token"]) == 43
    assert session["visitor"].startswith("v")
    assert session["returning"] is False
    assert session["visit"] == 1
    assert session["identified"] is False
    assert session["conversation"] is None
    assert session["ws_url"].endswith(f"/ws/chat/{chat_channel.public_id}/")
    visitor = ChatVisitor.objects.get(public_id=session["visitor"])
    # Only a hash of the token is kept.
    assert visitor.token_hash != session["token"]
    assert visitor.page_url == f"{SHOP_ORIGIN}/rowery/gravel"


def test_the_same_token_resumes_the_visitor_and_a_new_visit_starts_after_half_an_hour(browser):
    again = browser.start()
    assert again.json()["returning"] is True
    assert again.json()["visitor"] == browser.session["visitor"]
    assert again.json()["visit"] == 1

    ChatVisitor.objects.filter(public_id=browser.session["visitor"]).update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=31)
    )
    later = browser.start().json()

    assert later["returning"] is True
    assert later["visit"] == 2
    assert ChatVisitor.objects.count() == 1


def test_an_unknown_token_gives_a_new_visitor(chat_channel):
    browser = Browser(chat_channel)

    session = browser.start(token="x" * 43).json()

    assert session["returning"] is False
    assert session["token"] != "x" * 43
    assert ChatVisitor.objects.count() == 1


def test_the_availability_says_online_with_a_wait_estimate_when_an_agent_has_room(chat_channel, agent):
    availability = Browser(chat_channel).start().json()["availability"]

    assert availability["online"] is True
    assert availability["reason"] is None
    assert isinstance(availability["wait_minutes"], int) and availability["wait_minutes"] >= 1


def test_the_wait_estimate_is_the_time_this_weeks_chats_waited_for_their_first_answer(chat_channel, agent):
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    for n, minutes in enumerate((4, 5, 6)):
        conversation = receive(chat_channel, email=f"c{n}@example.org")
        Conversation.objects.filter(pk=conversation.pk).update(
            created_at=an_hour_ago,
            first_response_at=an_hour_ago + dt.timedelta(minutes=minutes),
            status=Status.RESOLVED,
        )

    availability = Browser(chat_channel).start().json()["availability"]

    assert availability == {"online": True, "wait_minutes": 5, "reason": None}


def test_the_availability_says_no_agents_when_nobody_is_online(chat_channel, tenant):
    MembershipFactory(tenant=tenant, availability=Availability.AWAY)
    MembershipFactory(tenant=tenant, availability=Availability.OFFLINE)

    availability = Browser(chat_channel).start().json()["availability"]

    assert availability == {"online": False, "wait_minutes": None, "reason": "no_agents"}


def test_the_availability_says_busy_when_every_online_agent_is_at_capacity(chat_channel, tenant):
    MembershipFactory(tenant=tenant, capacity=1)
    first = Browser(chat_channel)
    first.start()
    assert first.say("Is anybody there?").status_code == 201

    availability = Browser(chat_channel).start().json()["availability"]

    assert availability == {"online": False, "wait_minutes": None, "reason": "busy"}


def test_the_greeting_is_in_the_visitors_language_and_falls_back_to_the_shops(chat_channel, agent):
    chat_channel.config = {
        **chat_channel.config,
        "launcher_text": {"pl": "Czat", "en": "Chat"},
        "invitations": [{"id": "cart", "trigger": "cart", "text": {"pl": "Pytania?", "en": "Questions?"}}],
    }
    chat_channel.save()

    english = Browser(chat_channel).start(language="en").json()["config"]
    german = Browser(chat_channel).start(language="de").json()

    assert (english["greeting"], english["launcher_text"]) == ("Hello!", "Chat")
    assert english["invitations"][0]["text"] == "Questions?"
    # The shop's first language is Polish.
    assert german["language"] == "de"
    assert (german["config"]["greeting"], german["config"]["launcher_text"]) == ("Cześć!", "Czat")
    assert german["config"]["invitations"][0]["text"] == "Pytania?"


def test_a_disabled_chat_is_not_there_for_the_widget(browser, chat_channel):
    chat_channel.disabled = True
    chat_channel.save()

    for response in (Browser(chat_channel).start(), browser.say("Hello?")):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert Message.objects.count() == 0


# --- Origins -----------------------------------------------------------------------------------------


def test_a_site_not_on_the_list_is_refused_and_nothing_is_created(chat_channel, browser):
    stranger = Browser(chat_channel, origin="https://evil.example")

    refused = stranger.start()
    stranger.token = browser.token
    refused_message = stranger.say("Hello from elsewhere")

    for response in (refused, refused_message):
        assert response.status_code == 403
        assert error_of(response)["code"] == "origin_not_allowed"
        # Readable by the widget (so it can stay hidden quietly), not a grant: nothing was done.
        assert response["Access-Control-Allow-Origin"] == "https://evil.example"
    assert ChatVisitor.objects.count() == 1
    assert RawInbound.objects.count() == 0
    assert Message.objects.count() == 0


def test_a_preflight_from_the_shop_is_answered_with_the_cors_headers(chat_channel):
    response = Client().options(
        f"/chat/{chat_channel.public_id}/messages",
        HTTP_ORIGIN=SHOP_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-frontdesk-visitor",
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    allowed = [h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")]
    assert "x-frontdesk-visitor" in allowed and "content-type" in allowed
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_every_answer_to_the_shop_carries_its_origin(browser):
    response = browser.say("Hello")

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN


def test_with_no_allowed_sites_any_site_may_run_the_chat(tenant, agent):
    open_channel = ChannelFactory(tenant=tenant, kind="chat", config={})
    anywhere = Browser(open_channel, origin="https://anything.example")

    assert anywhere.start().status_code == 200
    response = anywhere.say("Hi")

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://anything.example"


# --- Messages ----------------------------------------------------------------------------------------


def test_a_visitors_message_opens_a_chat_conversation_for_the_shop(browser, agent):
    response = browser.say("Czy rower jest dostępny?", client_id="first-message-1")

    assert response.status_code == 201
    sent = response.json()["message"]
    assert sent["from"] == "visitor"
    assert sent["text"] == "Czy rower jest dostępny?"
    assert sent["client_id"] == "first-message-1"
    conversation = Conversation.objects.get()
    assert conversation.channel.kind == "chat"
    assert sent["conversation"] == conversation.number
    assert conversation.messages.get().text == "Czy rower jest dostępny?"
    identity = conversation.customer.identities.get()
    assert (identity.kind, identity.address) == ("visitor", browser.session["visitor"])
    assert visitor_of(browser).customer == conversation.customer
    assert browser.start().json()["conversation"] == conversation.number


def test_the_same_client_id_again_is_the_same_message(browser, agent):
    first = browser.say("Hello", client_id="retry-me-123")
    again = browser.say("Hello", client_id="retry-me-123")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert Message.objects.count() == 1


def _stored_but_not_processed(browser: Browser, client_id: str, text: str) -> RawInbound:
    """The endpoint stored the visitor's message and its process died before processing it."""
    body = {
        "visitor": browser.session["visitor"],
        "client_id": client_id,
        "text": text,
        "conversation": None,
        "contact": {"name": ""},
        "language": "pl",
        "page": {},
        "invitation_text": "",
        "attachments": [],
    }
    encoded = json.dumps(body).encode()
    signature = {SIGNATURE_HEADER: sign_payload(browser.channel, encoded)}
    raw = store_raw(
        browser.channel, RawPayload(body=encoded, content_type="application/json", headers=signature)
    )
    RawInbound.objects.filter(pk=raw.pk).update(received_at=timezone.now() - dt.timedelta(minutes=2))
    return raw


def test_a_message_the_sweeper_processed_is_a_duplicate_when_the_widget_sends_it_again(browser, agent):
    _stored_but_not_processed(browser, "lost-ack-0001", "Are you there?")
    sweep_raw_inbound()
    run_ready_tasks()
    stored = Message.objects.get()

    again = browser.say("Are you there?", client_id="lost-ack-0001")

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["message"]["id"] == stored.pk
    assert Message.objects.count() == 1


def test_a_message_sent_again_before_the_sweeper_ran_is_stored_once(browser, agent):
    raw = _stored_but_not_processed(browser, "lost-ack-0002", "Are you there?")

    again = browser.say("Are you there?", client_id="lost-ack-0002")
    sweep_raw_inbound()
    run_ready_tasks()

    assert again.status_code == 201
    assert Message.objects.count() == 1
    raw.refresh_from_db()
    assert raw.state == "duplicate"


def test_an_empty_message_is_refused(browser):
    response = browser.say("   ")

    assert response.status_code == 400
    assert error_of(response)["code"] == "empty"
    assert Message.objects.count() == 0


def test_a_message_over_5000_characters_is_refused(browser):
    response = browser.say("a" * 5001)

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_long"
    assert "text" in error_of(response)["fields"]
    assert Message.objects.count() == 0


def test_a_malformed_client_id_is_refused_naming_the_field(browser):
    response = browser.say("Hello", client_id="no spaces!")

    assert response.status_code == 400
    assert "client_id" in error_of(response)["fields"]
    assert Message.objects.count() == 0


def test_an_unknown_token_is_told_to_start_a_new_session(browser):
    browser.token = "y" * 43

    response = browser.say("Hello")

    assert response.status_code == 401
    assert error_of(response)["code"] == "visitor_unknown"
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert Message.objects.count() == 0


def test_a_visitor_sending_too_fast_is_told_when_to_try_again(browser, agent, settings):
    # An hour's window, so that the window cannot roll over in the middle of the test.
    settings.FRONTDESK_RATE_CHAT_PER_VISITOR = (3, 3600)

    statuses = [browser.say(f"Message {n}").status_code for n in range(3)]
    refused = browser.say("One too many")

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert error_of(refused)["code"] == "rate_limited"
    assert Message.objects.count() == 3


def test_a_second_message_continues_the_same_conversation(browser, agent):
    first = browser.say("Hello").json()["message"]
    second = browser.say("Are you there?").json()["message"]

    assert second["conversation"] == first["conversation"]
    assert Conversation.objects.count() == 1
    assert [m["text"] for m in browser.messages()] == ["Hello", "Are you there?"]


def test_after_the_conversation_is_closed_the_next_message_opens_a_new_one(browser, agent):
    first = browser.say("Hello").json()["message"]
    do_set_status(agent, Conversation.objects.get(), Status.CLOSED)
    assert browser.start().json()["conversation"] is None

    second = browser.say("One more question").json()["message"]

    assert second["conversation"] != first["conversation"]
    assert Conversation.objects.count() == 2
    assert browser.start().json()["conversation"] == second["conversation"]


def test_a_message_can_be_fetched_after_a_given_id(browser, agent):
    first = browser.say("One").json()["message"]
    browser.say("Two")

    assert [m["text"] for m in browser.messages(after=first["id"])] == ["Two"]


# --- Invitations -------------------------------------------------------------------------------------


@pytest.fixture
def inviting_channel(chat_channel):  # type: ignore[no-untyped-def]
    chat_channel.config = {
        **chat_channel.config,
        "invitations": [
            {
                "id": "cart",
                "trigger": "cart",
                "url_pattern": "*/cart*",
                "seconds": 20,
                "text": {"pl": "Masz pytania o zamówienie?", "en": "Questions about your order?"},
            }
        ],
    }
    chat_channel.save()
    return chat_channel


def test_answering_an_invitation_starts_the_chat_with_the_invitation_in_the_visitors_language(
    inviting_channel, agent
):
    browser = Browser(inviting_channel)
    browser.start(language="en")

    response = browser.say("Yes, about the delivery", invitation="cart")

    assert response.status_code == 201
    shown = browser.messages()
    assert [(m["from"], m["text"]) for m in shown] == [
        ("bot", "Questions about your order?"),
        ("visitor", "Yes, about the delivery"),
    ]
    assert shown[0]["conversation"] == shown[1]["conversation"]


def test_an_unknown_invitation_adds_nothing(inviting_channel, agent):
    browser = Browser(inviting_channel)
    browser.start(language="en")

    browser.say("Hello", invitation="no-such-thing")

    assert [m["from"] for m in browser.messages()] == ["visitor"]


# --- Files -------------------------------------------------------------------------------------------


def test_an_image_is_sent_and_served_inline_from_its_signed_address(browser, agent):
    response = upload(browser, "rower.png", PNG, "image/png", text="Ten model")

    assert response.status_code == 201
    sent = response.json()["message"]
    assert sent["text"] == "Ten model"
    [attachment] = sent["attachments"]
    assert (attachment["name"], attachment["type"], attachment["size"]) == (
        "rower.png",
        "image/png",
        len(PNG),
    )
    assert Message.objects.get().attachments.count() == 1
    served = Client().get(_path(attachment["url"]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert not served["Content-Disposition"].startswith("attachment")


def test_a_pdf_is_served_as_a_download(browser, agent):
    response = upload(browser, "faktura.pdf", PDF, "application/pdf")

    assert response.status_code == 201
    [attachment] = response.json()["message"]["attachments"]
    served = Client().get(_path(attachment["url"]))
    assert served.status_code == 200
    assert served["Content-Disposition"].startswith("attachment")
    assert "faktura.pdf" in served["Content-Disposition"]
    assert b"".join(served.streaming_content) == PDF


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 2 * 1024 * 1024], ids=["just over", "far over"])
def test_a_file_over_the_channels_limit_is_refused(browser, chat_channel, size):
    chat_channel.config = {**chat_channel.config, "max_upload_mb": 1}
    chat_channel.save()

    response = upload(browser, "big.png", b"\x89PNG" + b"0" * (size - 4), "image/png")

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert Message.objects.count() == 0


def test_a_file_type_the_shop_does_not_take_is_refused(browser):
    response = upload(browser, "setup.exe", b"MZ\x90\x00", "application/x-msdownload")

    assert response.status_code == 415
    assert error_of(response)["code"] == "type_not_allowed"
    assert Message.objects.count() == 0


def test_a_tampered_or_foreign_file_address_finds_nothing(browser, tenant, agent):
    [attachment] = upload(browser, "rower.png", PNG, "image/png").json()["message"]["attachments"]
    path = _path(attachment["url"])
    other = ChannelFactory(tenant=tenant, kind="chat", config={})

    tampered = Client().get(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"))
    foreign = Client().get(path.replace(str(browser.channel.public_id), str(other.public_id)))

    assert tampered.status_code == 404
    assert foreign.status_code == 404


# --- Typing and read receipts ------------------------------------------------------------------------


def test_typing_is_accepted_and_a_wrong_state_is_refused(browser, agent):
    browser.say("Hello")

    assert browser.post("typing", {"state": True}).status_code == 204
    refused = browser.post("typing", {"state": "yes"})
    assert refused.status_code == 400
    assert "state" in error_of(refused)["fields"]


def test_the_visitor_reading_the_shops_messages_marks_them_read(browser, agent):
    browser.say("Hello")
    conversation = Conversation.objects.get()
    answer = do_reply(agent, conversation, "Dzień dobry!")
    assert [m["read"] for m in browser.messages() if m["from"] == "agent"] == [False]

    response = browser.post("read", {"up_to": answer.pk})

    assert response.status_code == 204
    assert [m["read"] for m in browser.messages() if m["from"] == "agent"] == [True]
    event = Event.objects.get(kind="message.read")
    assert event.conversation == conversation
    assert event.data["by"] == "customer"


def test_an_agent_opening_the_chat_marks_the_visitors_messages_read(browser, agent):
    browser.say("One")
    last = browser.say("Two").json()["message"]
    body = browser.client.get(browser.url("messages"), **browser.headers()).json()
    assert body["read_up_to"] == 0
    assert [m["read"] for m in body["messages"]] == [False, False]

    do_mark_read_by_agent(agent, Conversation.objects.get())

    body = browser.client.get(browser.url("messages"), **browser.headers()).json()
    assert body["read_up_to"] == last["id"]
    assert [m["read"] for m in body["messages"]] == [True, True]


# --- Contact details ---------------------------------------------------------------------------------


def test_an_invalid_email_or_phone_is_refused_naming_the_fields(browser):
    response = browser.post("contact", {"email": "not an address", "phone": "12"})

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "phone"}
    assert visitor_of(browser).email == ""


def test_answers_by_email_send_the_reply_through_the_shops_mailbox(browser, agent, email_channel):
    assert "email" in browser.start().json()["config"]["reply_options"]
    browser.say("Nobody here?")

    response = browser.post("contact", {"email": "Jan@Example.org", "reply_via": "email"})

    assert response.status_code == 200
    assert response.json() == {
        "contact": {"name": "", "email": "jan@example.org", "phone": ""},
        "reply_via": "email",
    }
    conversation = Conversation.objects.get()
    assert conversation.reply_channel == email_channel
    event = Event.objects.get(kind="conversation.reply_channel_changed")
    assert event.conversation == conversation
    assert event.data["channel"] == email_channel.pk
    assert event.data["chosen_by"] == "customer"


def test_a_way_of_answering_the_shop_does_not_offer_is_refused(browser):
    # No email channel: answers by email are not offered.
    assert "email" not in browser.session["config"]["reply_options"]

    response = browser.post("contact", {"email": "jan@example.org", "reply_via": "email"})

    assert response.status_code == 400
    assert "reply_via" in error_of(response)["fields"]


# --- Identity verification ---------------------------------------------------------------------------


def test_a_signed_user_is_the_shops_customer_with_that_email(chat_channel, agent, email_channel):
    earlier = receive(email_channel, "Where is my parcel?", email="jan@example.org")
    browser = Browser(chat_channel)

    session = browser.start(
        user={"email": "jan@example.org", "name": "Jan", "hash": sign_user(chat_channel, "jan@example.org")}
    ).json()
    browser.say("Hello again")

    assert session["identified"] is True
    assert session["contact"]["email"] == "jan@example.org"
    assert visitor_of(browser).customer == earlier.customer
    chat = Conversation.objects.get(channel=chat_channel)
    assert chat.customer == earlier.customer
    assert CustomerIdentity.objects.get(kind="email", address="jan@example.org").verified is True


def test_a_signed_user_id_is_signed_by_itself(chat_channel, agent):
    browser = Browser(chat_channel)

    session = browser.start(
        user={"id": "shop-42", "email": "jan@example.org", "hash": sign_user(chat_channel, "shop-42")}
    ).json()

    assert session["identified"] is True
    customer = visitor_of(browser).customer
    assert customer.identity("external").address == "shop-42"
    assert customer.identity("email").address == "jan@example.org"


def test_an_anonymous_visitor_who_logs_in_keeps_the_chat_under_the_verified_customer(
    chat_channel, agent, email_channel
):
    earlier = receive(email_channel, "Where is my parcel?", email="jan@example.org")
    browser = Browser(chat_channel)
    browser.start()
    browser.say("Hello, I am not logged in yet")
    anonymous = visitor_of(browser).customer
    assert anonymous != earlier.customer

    session = browser.start(
        user={"email": "jan@example.org", "hash": sign_user(chat_channel, "jan@example.org")}
    ).json()

    assert session["identified"] is True
    anonymous.refresh_from_db()
    assert anonymous.merged_into == earlier.customer
    assert Conversation.objects.get(channel=chat_channel).customer == earlier.customer
    assert [m["text"] for m in browser.messages()] == ["Hello, I am not logged in yet"]
    browser.say("Now I am")
    assert Conversation.objects.filter(channel=chat_channel).count() == 1


@pytest.mark.parametrize(
    "user",
    [{"email": "jan@example.org", "hash": "0" * 64}, {"email": "jan@example.org"}, "jan@example.org"],
    ids=["wrong hash", "no hash", "not an object"],
)
def test_a_wrong_or_missing_signature_is_refused_and_ties_nothing(chat_channel, agent, email_channel, user):
    earlier = receive(email_channel, "Where is my parcel?", email="jan@example.org")
    browser = Browser(chat_channel)
    browser.start()

    response = browser.start(user=user)

    # Refused like an unknown token: the widget then chats anonymously.
    assert response.status_code == 401
    assert error_of(response)["code"] == "identity_invalid"
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert visitor_of(browser).customer is None
    assert visitor_of(browser).verified is False
    assert earlier.customer.identities.get().verified is False
    assert ChatVisitor.objects.count() == 1


def test_a_typed_email_of_an_existing_customer_is_only_a_claim(browser, agent, email_channel):
    earlier = receive(email_channel, "Where is my parcel?", email="jan@example.org")
    browser.say("Hi, it's Jan")

    response = browser.post("contact", {"name": "Jan", "email": "jan@example.org"})

    assert response.status_code == 200
    visitor = visitor_of(browser)
    assert visitor.email == "jan@example.org"
    assert visitor.customer != earlier.customer
    assert visitor.customer.merged_into is None
    assert not visitor.customer.identities.filter(kind="email").exists()
    assert earlier.customer.identities.get().address == "jan@example.org"
    # The visitor does not see the email conversation.
    assert [m["text"] for m in browser.messages()] == ["Hi, it's Jan"]


def test_a_typed_email_nobody_has_becomes_an_unverified_address_of_the_visitor(browser, agent):
    browser.say("Hi")

    browser.post("contact", {"email": "nowy@example.org", "phone": "601 234 567"})

    customer = visitor_of(browser).customer
    email = customer.identities.get(kind="email")
    assert (email.address, email.verified) == ("nowy@example.org", False)
    assert customer.identities.get(kind="phone").address == "+48601234567"


def test_another_device_of_the_same_signed_user_sees_the_chat_so_far(chat_channel, agent):
    user = {"email": "jan@example.org", "hash": sign_user(chat_channel, "jan@example.org")}
    phone = Browser(chat_channel)
    phone.start(user=user)
    phone.say("Written on my phone")
    do_reply(agent, Conversation.objects.get(), "Answered")

    laptop = Browser(chat_channel)
    session = laptop.start(user=user).json()

    assert laptop.token != phone.token
    assert session["conversation"] == Conversation.objects.get().number
    assert [m["text"] for m in laptop.messages()] == ["Written on my phone", "Answered"]
    laptop.say("Now on my laptop")
    assert Conversation.objects.count() == 1
    assert Customer.objects.filter(merged_into=None).count() == 1


# --- Isolation ---------------------------------------------------------------------------------------


def test_internal_notes_never_reach_the_visitor(browser, agent):
    browser.say("Hello")
    conversation = Conversation.objects.get()
    do_add_note(agent, conversation, "Probably a reseller, careful with discounts")
    do_reply(agent, conversation, "Hello!")

    texts = [m["text"] for m in browser.messages()]

    assert texts == ["Hello", "Hello!"]


def test_a_visitor_never_sees_another_visitors_chat_even_naming_its_number(chat_channel, agent):
    alice, bob = Browser(chat_channel), Browser(chat_channel)
    alice.start()
    bob.start()
    number = alice.say("Alice's secret order 1234").json()["message"]["conversation"]

    sent = bob.say("Bob writes", conversation=number)

    assert sent.status_code == 201
    assert sent.json()["message"]["conversation"] != number
    assert [m["text"] for m in bob.messages()] == ["Bob writes"]
    assert [m["text"] for m in alice.messages()] == ["Alice's secret order 1234"]
    alices = Conversation.objects.get(number=number)
    assert list(alices.messages.values_list("text", flat=True)) == ["Alice's secret order 1234"]


def test_a_token_of_one_chat_is_unknown_to_another(browser, tenant):
    other = ChannelFactory(tenant=tenant, kind="chat", config={"allowed_origins": [SHOP_ORIGIN]})
    elsewhere = Browser(other)
    elsewhere.token = browser.token

    response = elsewhere.say("Hello")

    assert response.status_code == 401
    assert error_of(response)["code"] == "visitor_unknown"


def test_another_shops_chat_is_separate(browser, agent, other_tenant, outsider):
    theirs = ChannelFactory(tenant=other_tenant, kind="chat", config={})
    their_visitor = Browser(theirs)
    their_visitor.start()
    their_visitor.say("Hello other shop")
    browser.say("Hello rowery")

    ours = Conversation.objects.get(tenant=browser.channel.tenant)
    assert ours.assignee == agent
    assert Conversation.objects.get(tenant=other_tenant).assignee == outsider
    assert [m["text"] for m in browser.messages()] == ["Hello rowery"]
    stolen = Browser(theirs)
    stolen.token = browser.token
    assert stolen.say("Hi").status_code == 401


def test_the_file_of_another_visitor_is_not_reachable_by_guessing(browser, chat_channel, agent):
    upload(browser, "rower.png", PNG, "image/png")
    other = Browser(chat_channel)
    other.start()

    assert other.messages() == []
    assert Client().get(f"/chat/{chat_channel.public_id}/f/{uuid.uuid4().hex}").status_code == 404


# --- Open sockets of the same browser ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_open_socket_hears_of_the_first_message_sent_over_http_and_of_the_answer(browser, agent):
    """Another tab of the same browser (or the polling fallback) sent the first message: the socket
    that was open before the visitor became a customer still gets the chat."""
    from tests.realtime.conftest import db, run
    from tests.realtime.test_visitor_socket import visitor_socket

    async def scenario() -> None:
        async with visitor_socket(browser.channel, browser.token) as widget:
            await widget.next_of("welcome")
            sent = await db(browser.say)("Sent from another tab")
            assert sent.status_code == 201
            pushed = await widget.next_of("message")
            assert pushed["message"]["text"] == "Sent from another tab"
            await db(do_reply)(agent, await db(Conversation.objects.get)(), "Answered")
            pushed = await widget.next_of("message")
            assert pushed["message"]["text"] == "Answered"

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_an_open_socket_gets_the_chat_of_the_user_the_shop_just_signed_in(chat_channel, agent):
    """The visitor logs in to the shop in another tab: the tab that was open gets their chat so far."""
    from tests.realtime.conftest import db, run
    from tests.realtime.test_visitor_socket import visitor_socket

    user = {"email": "jan@example.org", "hash": sign_user(chat_channel, "jan@example.org")}
    phone = Browser(chat_channel)
    phone.start(user=user)
    phone.say("Written on my phone")
    laptop = Browser(chat_channel)
    laptop.start()

    async def scenario() -> None:
        async with visitor_socket(chat_channel, laptop.token) as widget:
            await widget.next_of("welcome")
            assert (await db(laptop.start)(user=user)).status_code == 200
            pushed = await widget.next_of("message")
            assert pushed["message"]["text"] == "Written on my phone"

    run(scenario)


def test_nobody_can_speak_for_a_visitor_through_the_channels_webhook_address(chat_channel, agent):
    """The chat channel's public id is in the snippet on the shop's site; its generic webhook address
    must not take a forged "verified" visitor message (that would tie the forger's browser to the
    victim's customer and show them the victim's chats)."""
    user = {"email": "jan@example.org", "hash": sign_user(chat_channel, "jan@example.org")}
    jan = Browser(chat_channel)
    jan.start(user=user)
    jan.say("My address is ul. Długa 5, Kraków")
    eve = Browser(chat_channel)
    eve.start()
    forged = {
        "visitor": eve.session["visitor"],
        "client_id": "forged-000001",
        "text": "Hi",
        "contact": {"verified_email": "jan@example.org"},
    }

    response = Client().post(
        f"/hooks/{chat_channel.public_id}/", json.dumps(forged), content_type="application/json"
    )
    eve.say("Hello?")

    assert response.status_code == 404
    assert Message.objects.filter(provider_id__startswith=eve.session["visitor"] + ":forged").count() == 0
    assert [m["text"] for m in eve.messages()] == ["Hello?"]
    assert visitor_of(eve).customer != visitor_of(jan).customer
