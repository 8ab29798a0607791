"""Conversations through the API: list and filter, read, change, merge — as agents do in the inbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_assign, do_set_tags
from frontdesk.desk.models import Event, Status
from tests.api.conftest import error_of
from tests.factories import MembershipFactory, TagFactory, TeamFactory, receive


@pytest.fixture
def parcel(api_channel):  # type: ignore[no-untyped-def]
    return receive(api_channel, "Where is my parcel?", email="jan@example.org", external_id="cust-1")


@pytest.fixture
def refund(api_channel):  # type: ignore[no-untyped-def]
    return receive(
        api_channel, "I want my money back", email="ewa@example.org", name="Ewa", external_id="cust-2"
    )


def numbers(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [c["number"] for c in response.json()["items"]]


def test_the_list_shows_the_latest_activity_first_with_everything_an_inbox_needs(owner_api, parcel, refund):
    response = owner_api.get("/conversations")
    assert numbers(response) == [refund.number, parcel.number]
    first = response.json()["items"][0]
    assert first["subject"] == "I want my money back"
    assert first["status"] == "new"
    assert first["customer"]["name"] == "Ewa"
    assert first["channel"]["kind"] == "api"
    assert first["assignee"] is None
    assert first["waiting_since"] is not None


def test_a_conversation_is_read_by_its_number(owner_api, parcel):
    response = owner_api.get(f"/conversations/{parcel.number}")
    assert response.status_code == 200
    assert response.json()["number"] == parcel.number
    assert response.json()["customer"]["name"] == "Jan Kowalski"


def test_an_unknown_number_is_404(owner_api, parcel):
    response = owner_api.get(f"/conversations/{parcel.number + 100}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- Filters ----------------------------------------------------------------------------------------


def test_filter_by_status_takes_several(owner_api, owner, parcel, refund, api_channel):
    third = receive(api_channel, "Invoice please", email="ola@example.org", external_id="cust-3")
    owner_api.patch(f"/conversations/{parcel.number}", {"status": "open"})
    owner_api.patch(f"/conversations/{refund.number}", {"status": "resolved"})
    assert numbers(owner_api.get("/conversations", {"status": "open"})) == [parcel.number]
    assert sorted(numbers(owner_api.get("/conversations", {"status": ["open", "new"]}))) == sorted(
        [parcel.number, third.number]
    )


def test_filter_by_assignee_me_none_or_a_member(owner_api, owner, agent, parcel, refund, api_channel):
    third = receive(api_channel, "Invoice please", email="ola@example.org", external_id="cust-3")
    do_assign(owner, parcel, assignee=owner)
    do_assign(owner, refund, assignee=agent)
    assert numbers(owner_api.get("/conversations", {"assignee": "me"})) == [parcel.number]
    assert numbers(owner_api.get("/conversations", {"assignee": agent.pk})) == [refund.number]
    assert numbers(owner_api.get("/conversations", {"assignee": "none"})) == [third.number]


def test_filter_by_team_tag_priority_channel_and_customer(
    owner_api, owner, tenant, parcel, refund, form_channel
):
    team = TeamFactory(tenant=tenant)
    tag = TagFactory(tenant=tenant, name="refund")
    do_assign(owner, refund, team=team)
    do_set_tags(owner, refund, [tag])
    owner_api.patch(f"/conversations/{parcel.number}", {"priority": "urgent"})
    by_form = receive(form_channel, "Hello from the form", email="form@example.org")

    assert numbers(owner_api.get("/conversations", {"team": team.pk})) == [refund.number]
    assert set(numbers(owner_api.get("/conversations", {"team": "none"}))) == {parcel.number, by_form.number}
    assert numbers(owner_api.get("/conversations", {"tag": tag.pk})) == [refund.number]
    assert numbers(owner_api.get("/conversations", {"priority": "urgent"})) == [parcel.number]
    assert numbers(owner_api.get("/conversations", {"channel": form_channel.pk})) == [by_form.number]
    assert numbers(owner_api.get("/conversations", {"customer": parcel.customer_id})) == [parcel.number]


def test_filter_by_snoozed(owner_api, parcel, refund):
    later = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    owner_api.patch(f"/conversations/{parcel.number}", {"snoozed_until": later})
    assert numbers(owner_api.get("/conversations", {"snoozed": "true"})) == [parcel.number]
    assert numbers(owner_api.get("/conversations", {"snoozed": "false"})) == [refund.number]


def test_changes_since_a_time_come_oldest_first_for_syncing(owner_api, parcel, refund):
    since = timezone.now()
    owner_api.patch(f"/conversations/{refund.number}", {"priority": "high"})
    owner_api.patch(f"/conversations/{parcel.number}", {"priority": "low"})
    params = {"updated_after": since.isoformat(), "sort": "updated_at"}
    assert numbers(owner_api.get("/conversations", params)) == [refund.number, parcel.number]


def test_updated_after_needs_a_time_zone(owner_api):
    response = owner_api.get("/conversations", {"updated_after": "2025-01-01T10:00:00"})
    assert response.status_code == 422
    assert "updated_after" in error_of(response)["fields"]


def test_newest_first_sorting(owner_api, parcel, refund):
    owner_api.post(f"/conversations/{parcel.number}/notes", {"text": "bump"})
    assert numbers(owner_api.get("/conversations", {"sort": "-number"})) == [refund.number, parcel.number]


def test_merged_conversations_are_left_out_of_the_list_but_can_be_read(owner_api, form_channel):
    first = receive(form_channel, "Order 1", email="same@example.org")
    second = receive(form_channel, "Order 1 again", email="same@example.org")
    owner_api.post(f"/conversations/{second.number}/merge", {"into": first.number})
    assert numbers(owner_api.get("/conversations")) == [first.number]
    assert owner_api.get(f"/conversations/{second.number}").json()["merged_into"] == first.number


# --- Changes ----------------------------------------------------------------------------------------


def test_an_agent_changes_status_priority_assignee_team_and_tags_in_one_request(
    agent_api, agent, tenant, parcel
):
    team = TeamFactory(tenant=tenant)
    vip, late = TagFactory(tenant=tenant, name="vip"), TagFactory(tenant=tenant, name="late")
    response = agent_api.patch(
        f"/conversations/{parcel.number}",
        {"status": "open", "priority": "high", "assignee": "me", "team": team.pk, "tags": [vip.pk, late.pk]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "open"
    assert body["priority"] == "high"
    assert body["assignee"]["id"] == agent.pk
    assert body["team"]["name"] == team.name
    assert {t["name"] for t in body["tags"]} == {"vip", "late"}
    kinds = set(Event.objects.filter(conversation=parcel).values_list("kind", flat=True))
    assert {
        "conversation.status_changed",
        "conversation.priority_changed",
        "conversation.assigned",
        "conversation.tags_changed",
    } <= kinds


def test_null_unassigns_and_an_empty_tag_list_removes_every_tag(owner_api, owner, tenant, parcel):
    tag = TagFactory(tenant=tenant)
    do_assign(owner, parcel, assignee=owner)
    do_set_tags(owner, parcel, [tag])
    body = owner_api.patch(f"/conversations/{parcel.number}", {"assignee": None, "tags": []}).json()
    assert body["assignee"] is None
    assert body["tags"] == []


def test_fields_left_out_are_left_alone(owner_api, owner, parcel):
    do_assign(owner, parcel, assignee=owner)
    body = owner_api.patch(f"/conversations/{parcel.number}", {"priority": "low"}).json()
    assert body["assignee"]["id"] == owner.pk


def test_snoozing_and_waking(owner_api, parcel):
    until = timezone.now() + dt.timedelta(days=1)
    body = owner_api.patch(f"/conversations/{parcel.number}", {"snoozed_until": until.isoformat()}).json()
    assert dt.datetime.fromisoformat(body["snoozed_until"]) == until.replace(
        microsecond=until.microsecond // 1000 * 1000
    )
    assert (
        owner_api.patch(f"/conversations/{parcel.number}", {"snoozed_until": None}).json()["snoozed_until"]
        is None
    )


def test_snoozing_into_the_past_is_refused(owner_api, parcel):
    response = owner_api.patch(f"/conversations/{parcel.number}", {"snoozed_until": "2001-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert "until" in error_of(response)["fields"]


def test_snoozing_a_resolved_conversation_is_a_conflict(owner_api, parcel):
    owner_api.patch(f"/conversations/{parcel.number}", {"status": "resolved"})
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    response = owner_api.patch(f"/conversations/{parcel.number}", {"snoozed_until": later})
    assert response.status_code == 409
    assert error_of(response)["code"] == "not_active"


def test_a_conversation_cannot_go_back_to_new(owner_api, parcel):
    owner_api.patch(f"/conversations/{parcel.number}", {"status": "open"})
    response = owner_api.patch(f"/conversations/{parcel.number}", {"status": "new"})
    assert response.status_code == 422
    assert "status" in error_of(response)["fields"]


def test_status_and_priority_cannot_be_null(owner_api, parcel):
    response = owner_api.patch(f"/conversations/{parcel.number}", {"status": None, "priority": None})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status", "priority"}


def test_unknown_ids_in_the_body_are_422_naming_the_field_and_nothing_changes(owner_api, tenant, parcel):
    tag = TagFactory(tenant=tenant)
    response = owner_api.patch(
        f"/conversations/{parcel.number}", {"status": "open", "tags": [tag.pk, 999_999]}
    )
    assert response.status_code == 422
    assert "999999" in error_of(response)["fields"]["tags"][0]
    for field, value in (("assignee", 999_999), ("team", 999_999), ("reply_channel", 999_999)):
        response = owner_api.patch(f"/conversations/{parcel.number}", {"status": "open", field: value})
        assert response.status_code == 422
        assert list(error_of(response)["fields"]) == [field]
    parcel.refresh_from_db()
    assert parcel.status == Status.NEW


def test_when_one_change_is_refused_none_is_made(owner_api, parcel):
    response = owner_api.patch(
        f"/conversations/{parcel.number}", {"priority": "urgent", "snoozed_until": "2001-01-01T00:00:00Z"}
    )
    assert response.status_code == 422
    parcel.refresh_from_db()
    assert parcel.priority == "normal"
    assert not Event.objects.filter(conversation=parcel, kind="conversation.priority_changed").exists()


def test_an_inactive_member_cannot_be_assigned(owner_api, tenant, parcel):
    gone = MembershipFactory(tenant=tenant, is_active=False)
    response = owner_api.patch(f"/conversations/{parcel.number}", {"assignee": gone.pk})
    assert response.status_code == 422
    assert "assignee" in error_of(response)["fields"]


def test_the_reply_channel_follows_the_customers_choice(owner_api, form_channel, api_channel):
    conversation = receive(api_channel, "Answer by email please", email="jan@example.org", external_id="c-9")
    body = owner_api.patch(f"/conversations/{conversation.number}", {"reply_channel": form_channel.pk}).json()
    assert body["reply_channel"]["id"] == form_channel.pk
    body = owner_api.patch(f"/conversations/{conversation.number}", {"reply_channel": None}).json()
    assert body["reply_channel"] is None


# --- Merging ----------------------------------------------------------------------------------------


def test_merging_moves_the_messages_and_closes_the_merged_one(owner_api, form_channel):
    first = receive(form_channel, "Where is order 7?", email="same@example.org")
    second = receive(form_channel, "Order 7, again", email="same@example.org")
    response = owner_api.post(f"/conversations/{second.number}/merge", {"into": first.number})
    assert response.status_code == 200
    assert response.json()["number"] == first.number
    texts = [m["text"] for m in owner_api.get(f"/conversations/{first.number}/messages").json()["items"]]
    assert texts == ["Where is order 7?", "Order 7, again"]
    second.refresh_from_db()
    assert second.status == Status.CLOSED


def test_only_conversations_of_one_customer_merge(owner_api, parcel, refund):
    response = owner_api.post(f"/conversations/{refund.number}/merge", {"into": parcel.number})
    assert response.status_code == 409
    assert error_of(response)["code"] == "different_customers"


def test_merging_into_itself_or_an_unknown_number_is_refused(owner_api, parcel):
    itself = owner_api.post(f"/conversations/{parcel.number}/merge", {"into": parcel.number})
    assert itself.status_code == 422
    assert error_of(itself)["code"] == "same_conversation"
    unknown = owner_api.post(f"/conversations/{parcel.number}/merge", {"into": 4242})
    assert unknown.status_code == 422
    assert list(error_of(unknown)["fields"]) == ["into"]


def test_a_merged_conversation_cannot_be_changed(owner_api, form_channel):
    first = receive(form_channel, "A", email="same@example.org")
    second = receive(form_channel, "B", email="same@example.org")
    owner_api.post(f"/conversations/{second.number}/merge", {"into": first.number})
    response = owner_api.patch(f"/conversations/{second.number}", {"priority": "high"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "conversation_merged"


# --- Cost -------------------------------------------------------------------------------------------


def test_a_page_costs_the_same_few_queries_however_many_rows_it_has(
    owner_api, owner, tenant, api_channel, django_assert_max_num_queries
):
    tag = TagFactory(tenant=tenant)
    team = TeamFactory(tenant=tenant)
    for n in range(30):
        c = receive(api_channel, f"Question {n}", email=f"c{n}@example.org", external_id=f"cust-{n}")
        do_assign(owner, c, assignee=owner, team=team)
        do_set_tags(owner, c, [tag])
    owner_api.get("/conversations")  # the token's last-use time is written on first use
    with django_assert_max_num_queries(4):
        response = owner_api.get("/conversations", {"limit": 30})
    assert len(response.json()["items"]) == 30


# --- Search -----------------------------------------------------------------------------------------


def test_q_searches_messages_customers_and_numbers(owner_api, owner, parcel, refund):
    owner_api.post(f"/conversations/{parcel.number}/notes", {"text": "Courier lost the paczka"})
    assert numbers(owner_api.get("/conversations", {"q": "paczka"})) == [parcel.number]
    assert numbers(owner_api.get("/conversations", {"q": "ewa@example.org"})) == [refund.number]
    assert numbers(owner_api.get("/conversations", {"q": f"#{refund.number}"})) == [refund.number]
    assert numbers(owner_api.get("/conversations", {"q": "nothing like this"})) == []


def test_search_results_walk_page_by_page(owner_api, api_channel):
    for n in range(5):
        receive(api_channel, f"Reklamacja numer {n}", email=f"r{n}@example.org", external_id=f"r-{n}")
    walked = [c["number"] for c in owner_api.walk("/conversations", {"q": "reklamacja", "limit": 2})]
    assert walked == [5, 4, 3, 2, 1]


def test_search_is_not_combined_with_filters_or_sorts(owner_api, parcel):
    response = owner_api.get("/conversations", {"q": "parcel", "status": "new", "sort": "-number"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status", "sort"}


def test_a_list_cursor_is_not_a_search_cursor(owner_api, parcel, refund):
    cursor = owner_api.get("/conversations", {"limit": 1}).json()["next_cursor"]
    response = owner_api.get("/conversations", {"q": "parcel", "cursor": cursor})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["cursor"]


def test_search_never_finds_another_shops_conversations(outsider_api, parcel):
    assert outsider_api.get("/conversations", {"q": "parcel"}).json()["items"] == []
    assert outsider_api.get("/conversations", {"q": "jan@example.org"}).json()["items"] == []
