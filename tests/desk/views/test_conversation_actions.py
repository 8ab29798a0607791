"""Working a conversation through its POST URLs: each action changes what the page shows and
records its event; with htmx the answer is the changed regions, without it a redirect; bad input
is a 4xx with the message at the form."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_merge, do_reply
from frontdesk.desk.models import (
    Attachment,
    Conversation,
    Delivery,
    DeliveryState,
    DeliveryStatus,
    Direction,
    Event,
    Message,
    Status,
)
from tests.desk.views.conftest import HTMX, text_of
from tests.factories import ChannelFactory, MembershipFactory, TagFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db

URL = "/t/rowery/c/1/"


def kinds(conversation: Conversation) -> list[str]:
    return list(Event.objects.filter(conversation=conversation).values_list("kind", flat=True))


def reloaded(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


# --- Replies and notes ---------------------------------------------------------------------------------


def test_a_reply_without_javascript_is_queued_and_redirects_back(agent_client, conversation):
    response = agent_client.post(URL + "reply/", {"text": "It ships today.", "status": ""})

    assert response.status_code == 302
    assert response["Location"].startswith(URL)
    message = Message.objects.get(direction=Direction.OUT)
    assert message.text == "It ships today."
    assert message.delivery_state == DeliveryState.QUEUED
    assert reloaded(conversation).status == Status.PENDING
    assert "It ships today." in text_of(agent_client.get(URL))
    assert "message.created" in kinds(conversation)


def test_a_reply_with_htmx_answers_the_changed_regions_and_a_fresh_composer(agent_client, conversation):
    response = agent_client.post(URL + "reply/", {"text": "It ships today.", "status": ""}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    for target in ["#conv-header", "#timeline", "#side-panel", "#composer"]:
        assert f'hx-target="{target}"' in html
    assert "It ships today." in html
    composer = html.split('hx-target="#composer"', 1)[1]
    assert 'data-testid="reply-text"' in composer
    assert "It ships today." not in composer.split("</textarea>", 1)[0]


@pytest.mark.parametrize(("choice", "status"), [("resolved", Status.RESOLVED), ("open", Status.OPEN)])
def test_send_and_resolve_or_keep_open(agent_client, conversation, choice, status):
    agent_client.post(URL + "reply/", {"text": "Done.", "status": choice})

    assert reloaded(conversation).status == status


def test_a_reply_goes_out_through_the_chosen_channel(agent_client, tenant, conversation):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")

    agent_client.post(URL + "reply/", {"text": "By email.", "channel": form.pk})

    assert Delivery.objects.get().channel == form
    assert Delivery.objects.get().recipient == "jan@example.org"


def test_a_reply_with_attachments_stores_them(agent_client, conversation):
    upload = SimpleUploadedFile("faktura 01.pdf", b"%PDF-1.4 invoice", content_type="application/pdf")

    agent_client.post(URL + "reply/", {"text": "Invoice attached.", "attachments": [upload]})

    attachment = Attachment.objects.get()
    assert attachment.filename == "faktura 01.pdf"
    assert attachment.message.direction == Direction.OUT
    assert "faktura 01.pdf" in text_of(agent_client.get(URL))


def test_an_attachment_over_the_limit_is_refused_at_the_form(agent_client, conversation, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    upload = SimpleUploadedFile("big.bin", b"x" * 11)

    response = agent_client.post(URL + "reply/", {"text": "Here", "attachments": [upload]}, **HTMX)

    assert response.status_code == 422
    assert 'hx-target="#reply-error"' in response.content.decode()
    assert "larger than the limit" in text_of(response)
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_an_empty_reply_is_a_422_shown_at_the_composer_with_htmx(agent_client, conversation):
    response = agent_client.post(URL + "reply/", {"text": "   "}, **HTMX)

    assert response.status_code == 422
    assert 'hx-target="#reply-error"' in response.content.decode()
    assert "Write something first." in text_of(response)


def test_an_empty_reply_without_javascript_shows_the_page_with_the_error(agent_client, conversation):
    response = agent_client.post(URL + "reply/", {"text": ""})

    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="reply-error">Write something first.</p>' in html


def test_a_failed_send_keeps_the_text_in_the_composer(agent_client, conversation, settings):
    settings.FRONTDESK_MAX_MESSAGE_CHARS = 10

    response = agent_client.post(URL + "reply/", {"text": "A rather long answer"})

    assert response.status_code == 422
    assert ">A rather long answer</textarea>" in response.content.decode()


def test_a_reply_through_an_unknown_channel_is_refused(agent_client, conversation, other_tenant):
    foreign = ChannelFactory(tenant=other_tenant)

    response = agent_client.post(URL + "reply/", {"text": "Hi", "channel": foreign.pk}, **HTMX)

    assert response.status_code == 422
    assert "Unknown channel." in text_of(response)


def test_a_note_with_a_mention_notifies_the_member(agent_client, agent, owner, conversation):
    response = agent_client.post(URL + "note/", {"text": "@owner please check the stock"}, **HTMX)

    assert response.status_code == 200
    note = Message.objects.get(direction=Direction.NOTE)
    assert list(note.mentions.all()) == [owner]
    assert "member.mentioned" in kinds(conversation)
    assert not Delivery.objects.exists()
    composer = response.content.decode().split('hx-target="#composer"', 1)[1]
    assert 'data-mode="note"' in composer


def test_the_note_composer_knows_who_can_be_mentioned(agent_client, owner, conversation):
    html = agent_client.get(URL).content.decode()

    assert '<script id="mention-members" type="application/json">' in html
    assert '"handle": "owner", "name": "Olga Owner"' in html


# --- Assignment, status, priority, tags ---------------------------------------------------------------


def test_assign_to_an_agent_and_a_team(agent_client, agent, tenant, conversation):
    team = TeamFactory(tenant=tenant, name="Returns desk")
    colleague = MembershipFactory(tenant=tenant, user__name="Piotr Kolega")

    response = agent_client.post(URL + "assign/", {"assignee": colleague.pk, "team": team.pk}, **HTMX)

    assert response.status_code == 200
    conversation = reloaded(conversation)
    assert (conversation.assignee, conversation.team) == (colleague, team)
    assert "assigned the conversation to Piotr Kolega" in text_of(agent_client.get(URL))
    assert "conversation.assigned" in kinds(conversation)


def test_assign_to_me_keeps_the_team(agent_client, agent, tenant, conversation):
    team = TeamFactory(tenant=tenant)
    conversation.team = team
    conversation.save()

    agent_client.post(URL + "assign/", {"assignee": "me"})

    conversation = reloaded(conversation)
    assert (conversation.assignee, conversation.team) == (agent, team)
    assert "took the conversation" in text_of(agent_client.get(URL))


def test_unassign(agent_client, agent, conversation):
    conversation.assignee = agent
    conversation.save()

    agent_client.post(URL + "assign/", {"assignee": ""})

    assert reloaded(conversation).assignee is None


def test_assigning_a_member_of_another_shop_is_refused(agent_client, outsider, conversation):
    response = agent_client.post(URL + "assign/", {"assignee": outsider.pk, "form_id": "assign"}, **HTMX)

    assert response.status_code == 422
    assert 'hx-target="#assign-error"' in response.content.decode()
    assert "Unknown member." in text_of(response)
    assert reloaded(conversation).assignee is None


def test_change_status_and_priority(agent_client, conversation):
    agent_client.post(URL + "status/", {"status": "on_hold"})
    agent_client.post(URL + "priority/", {"priority": "urgent"})

    conversation = reloaded(conversation)
    assert (conversation.status, conversation.priority) == (Status.ON_HOLD, "urgent")
    assert {"conversation.status_changed", "conversation.priority_changed"} <= set(kinds(conversation))
    header = agent_client.get(URL + "regions/").content.decode().split('id="timeline"')[0]
    assert "On hold" in header and "Urgent" in header


def test_resolve_from_the_header_then_reopen(agent_client, conversation):
    agent_client.post(URL + "status/", {"status": "resolved", "form_id": "resolve"})
    assert 'data-testid="reopen"' in agent_client.get(URL).content.decode()

    agent_client.post(URL + "status/", {"status": "open", "form_id": "resolve"})
    assert reloaded(conversation).status == Status.OPEN


@pytest.mark.parametrize(("field", "value"), [("status", "sleeping"), ("status", "new"), ("priority", "meh")])
def test_unknown_status_or_priority_is_a_422(agent_client, conversation, field, value):
    conversation.status = Status.OPEN
    conversation.save()

    response = agent_client.post(URL + f"{field}/", {field: value, "form_id": field}, **HTMX)

    assert response.status_code == 422
    assert f'hx-target="#{field}-error"' in response.content.decode()


def test_tags_are_set_to_exactly_the_ones_checked(agent_client, tenant, conversation):
    returns, vip, invoice = (TagFactory(tenant=tenant, name=n) for n in ("returns", "vip", "invoice"))
    agent_client.post(URL + "tags/", {"tags": [returns.pk, vip.pk]})
    agent_client.post(URL + "tags/", {"tags": [vip.pk, invoice.pk]})

    assert set(reloaded(conversation).tags.values_list("name", flat=True)) == {"vip", "invoice"}
    text = text_of(agent_client.get(URL))
    assert "removed the tag returns" in text

    agent_client.post(URL + "tags/", {})
    assert not reloaded(conversation).tags.exists()


def test_a_tag_of_another_shop_is_refused(agent_client, other_tenant, conversation):
    foreign = TagFactory(tenant=other_tenant)

    response = agent_client.post(URL + "tags/", {"tags": [foreign.pk]}, **HTMX)

    assert response.status_code == 422
    assert not reloaded(conversation).tags.exists()


# --- Snooze ----------------------------------------------------------------------------------------------


def test_snooze_for_an_hour_then_wake(agent_client, conversation):
    before = timezone.now()
    agent_client.post(URL + "snooze/", {"preset": "1h"})

    until = reloaded(conversation).snoozed_until
    assert until is not None
    assert dt.timedelta(minutes=59) < until - before < dt.timedelta(minutes=61)
    assert "Snoozed until" in text_of(agent_client.get(URL))

    agent_client.post(URL + "snooze/", {"preset": "wake"})
    assert reloaded(conversation).snoozed_until is None
    assert kinds(conversation)[-2:] == ["conversation.snoozed", "conversation.unsnoozed"]


def test_snooze_until_tomorrow_morning_in_the_shops_time_zone(agent_client, tenant, conversation):
    tenant.time_zone = "America/New_York"
    tenant.save()

    agent_client.post(URL + "snooze/", {"preset": "tomorrow"})

    local = reloaded(conversation).snoozed_until.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    today = timezone.now().astimezone(zoneinfo.ZoneInfo("America/New_York")).date()
    assert (local.date(), local.hour, local.minute) == (today + dt.timedelta(days=1), 9, 0)


def test_snooze_until_next_monday(agent_client, conversation):
    agent_client.post(URL + "snooze/", {"preset": "monday"})

    local = reloaded(conversation).snoozed_until.astimezone(zoneinfo.ZoneInfo("Europe/Warsaw"))
    assert (local.weekday(), local.hour) == (0, 9)
    assert local > timezone.now()


def test_snooze_until_a_custom_time_in_the_viewers_time_zone(agent_client, agent, conversation):
    agent.user.time_zone = "Asia/Tokyo"
    agent.user.save()
    when = (timezone.now() + dt.timedelta(days=2)).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    local = when.strftime("%Y-%m-%dT%H:%M")

    agent_client.post(URL + "snooze/", {"preset": "custom", "until": local})

    until = reloaded(conversation).snoozed_until
    assert until.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%dT%H:%M") == local


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"preset": "custom", "until": "not a time"}, "Choose a date and time"),
        ({"preset": "custom", "until": "2001-01-01T10:00"}, "Choose a time in the future."),
        ({"preset": "someday"}, "Choose when the conversation should come back."),
    ],
)
def test_bad_snooze_times_are_a_422_at_the_menu(agent_client, conversation, data, message):
    response = agent_client.post(URL + "snooze/", {**data, "form_id": "snooze"}, **HTMX)

    assert response.status_code == 422
    assert 'hx-target="#snooze-error"' in response.content.decode()
    assert message in text_of(response)


# --- Merge, reply channel, retry --------------------------------------------------------------------------


def test_merge_into_another_conversation_of_the_same_customer(agent_client, api_channel, tenant):
    form = ChannelFactory(tenant=tenant, kind="form")
    first = receive(api_channel, "Where is my parcel?", external_id="cust-7", email="jan@example.org")
    second = receive(form, "Any news about my parcel?", email="jan@example.org")

    response = agent_client.post(f"/t/rowery/c/{second.number}/merge/", {"target": first.number}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/t/rowery/c/{first.number}/"
    assert reloaded(second).merged_into == first
    assert "Any news about my parcel?" in text_of(agent_client.get(f"/t/rowery/c/{first.number}/"))
    source_page = text_of(agent_client.get(f"/t/rowery/c/{second.number}/"))
    assert f"This conversation was merged into #{first.number}" in source_page


def test_merge_without_javascript_redirects_to_the_target(agent_client, api_channel, tenant):
    first = receive(api_channel, "One", external_id="cust-7")
    second = receive(ChannelFactory(tenant=tenant, kind="form"), "Two", email="jan@example.org")

    response = agent_client.post(f"/t/rowery/c/{second.number}/merge/", {"target": first.number})

    assert response.status_code == 302
    assert response["Location"] == f"/t/rowery/c/{first.number}/"


def test_conversations_of_different_customers_cannot_merge(agent_client, api_channel):
    first = receive(api_channel, "One", external_id="a", email="a@example.org")
    second = receive(api_channel, "Two", external_id="b", email="b@example.org")

    response = agent_client.post(
        f"/t/rowery/c/{second.number}/merge/", {"target": first.number, "form_id": "merge"}, **HTMX
    )

    assert response.status_code == 409
    assert "Only conversations of the same customer can be merged." in text_of(response)


def test_merging_into_an_unknown_conversation_is_a_422(agent_client, conversation):
    response = agent_client.post(URL + "merge/", {"target": "999"}, **HTMX)

    assert response.status_code == 422
    assert "There is no conversation #999." in text_of(response)


def test_a_merged_conversation_takes_no_more_replies(agent_client, agent, api_channel, tenant):
    first = receive(api_channel, "One", external_id="cust-7", email="jan@example.org")
    second = receive(ChannelFactory(tenant=tenant, kind="form"), "Two", email="jan@example.org")
    do_merge(agent, second, first)

    response = agent_client.post(f"/t/rowery/c/{second.number}/reply/", {"text": "Hi"}, **HTMX)

    assert response.status_code == 409
    assert "merged into another" in text_of(response)


def test_choose_where_replies_go(agent_client, tenant, conversation):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")

    agent_client.post(URL + "reply-channel/", {"channel": form.pk})

    assert reloaded(conversation).reply_channel == form
    assert "conversation.reply_channel_changed" in kinds(conversation)
    assert "set replies to go through Contact form" in text_of(agent_client.get(URL))

    agent_client.post(URL + "reply-channel/", {"channel": ""})
    assert reloaded(conversation).reply_channel is None


def test_a_reply_channel_without_an_address_is_refused(agent_client, tenant, conversation):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")
    conversation.customer.identities.filter(kind="email").delete()

    response = agent_client.post(
        URL + "reply-channel/", {"channel": form.pk, "form_id": "reply_channel"}, **HTMX
    )

    assert response.status_code == 422
    assert 'hx-target="#reply_channel-error"' in response.content.decode()
    assert "no address for Contact form" in text_of(response)


def test_retry_a_failed_reply(agent_client, agent, conversation):
    message = do_reply(agent, conversation, "Refund sent.")
    Message.objects.filter(pk=message.pk).update(
        delivery_state=DeliveryState.FAILED, delivery_error="HTTP 500"
    )
    Delivery.objects.filter(message=message).update(status=DeliveryStatus.FAILED, attempts=8)

    response = agent_client.post(URL + f"messages/{message.pk}/retry/", **HTMX)

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.QUEUED
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert "Queued" in text_of(agent_client.get(URL))


def test_retrying_what_did_not_fail_is_a_409_at_the_message(agent_client, agent, conversation):
    message = do_reply(agent, conversation, "Refund sent.")

    response = agent_client.post(
        URL + f"messages/{message.pk}/retry/", {"form_id": f"retry_{message.pk}"}, **HTMX
    )

    assert response.status_code == 409
    assert f'hx-target="#retry_{message.pk}-error"' in response.content.decode()


def test_retrying_a_customer_message_is_404(agent_client, conversation):
    inbound = Message.objects.get(direction=Direction.IN)

    assert agent_client.post(URL + f"messages/{inbound.pk}/retry/").status_code == 404


def test_actions_refuse_get(agent_client, conversation):
    assert agent_client.get(URL + "reply/").status_code == 405
