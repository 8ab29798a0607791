"""The inbox: views, filters, sorting, keyset pages, counts, empty states, a fixed query count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.desk.actions.conversations import (
    do_assign,
    do_reply,
    do_set_priority,
    do_set_status,
    do_set_tags,
    do_snooze,
)
from frontdesk.desk.models import Conversation, Status
from tests.desk.views.conftest import text_of
from tests.factories import ChannelFactory, MembershipFactory, TagFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


def rows(response) -> list[int]:  # type: ignore[no-untyped-def]
    """Conversation numbers listed, top to bottom."""
    return [
        int(n) for n in re.findall(r'data-testid="inbox-row" data-number="(\d+)"', response.content.decode())
    ]


def inbox(client, **params):  # type: ignore[no-untyped-def]
    response = client.get("/t/rowery/", params)
    assert response.status_code == 200, response.content[:500]
    return response


@pytest.fixture
def three(api_channel, agent, owner):  # type: ignore[no-untyped-def]
    """#1 assigned to the agent, #2 unassigned, #3 assigned to the owner."""
    first = receive(api_channel, "Parcel late", email="a@example.org", name="Ala", external_id="a")
    second = receive(api_channel, "Refund please", email="b@example.org", name="Bartek", external_id="b")
    third = receive(api_channel, "Invoice", email="c@example.org", name="Celina", external_id="c")
    do_assign(owner, first, assignee=agent)
    do_assign(owner, third, assignee=owner)
    return first, second, third


def test_the_inbox_opens_on_my_conversations_when_i_have_some(agent_client, three):
    response = inbox(agent_client)

    assert rows(response) == [three[0].number]
    assert 'data-testid="view-mine" aria-current="page"' in response.content.decode()


def test_without_own_work_the_inbox_opens_on_unassigned(agent_client, api_channel):
    receive(api_channel, "Hello", email="x@example.org")

    response = inbox(agent_client)

    assert rows(response) == [1]
    assert 'data-testid="view-unassigned" aria-current="page"' in response.content.decode()


def test_views_list_their_conversations_and_count_them(agent_client, agent, three):
    team = TeamFactory(tenant=agent.tenant, name="Returns")
    team.members.add(agent)
    do_assign(agent, three[1], team=team)

    assert rows(inbox(agent_client, view="mine")) == [1]
    assert rows(inbox(agent_client, view="unassigned")) == [2]
    assert rows(inbox(agent_client, view="team")) == [2]
    assert rows(inbox(agent_client, view="all")) == [3, 2, 1]
    page = inbox(agent_client, view="all").content.decode()
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', page))
    assert counts == {"mine": "1", "unassigned": "1", "team": "1", "all": "3", "snoozed": "0"}


def test_each_row_shows_what_an_agent_needs_to_pick_it(agent_client, agent, three):
    tag = TagFactory(tenant=agent.tenant, name="returns", color="#b42318")
    do_set_tags(agent, three[0], [tag])
    do_set_priority(agent, three[0], "urgent")

    text = text_of(inbox(agent_client, view="mine"))

    assert "Ala" in text
    assert "#1" in text
    assert "Parcel late" in text
    assert three[0].channel.name in text
    assert "Urgent" in text
    assert "returns" in text
    assert "Anna Agent" in text
    assert "waiting for 1 min" in text
    assert "New" in text


def test_what_customers_and_agents_wrote_is_shown_as_text_never_as_markup(agent_client, agent, api_channel):
    conversation = receive(
        api_channel,
        "<img src=x onerror=alert(1)> hi",
        email="x@example.org",
        name='<script>alert("n")</script>',
    )
    tag = TagFactory(tenant=agent.tenant, name="<b>vip</b>", color='"><i>x')  # within 7 characters
    do_set_tags(agent, conversation, [tag])
    Conversation.objects.filter(pk=conversation.pk).update(subject="<i>Subject</i>")

    html = inbox(agent_client, view="all").content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; hi" in html
    assert "&lt;i&gt;Subject&lt;/i&gt;" in html
    assert "&lt;b&gt;vip&lt;/b&gt;" in html
    assert "--tag-color: &quot;&gt;&lt;i&gt;x" in html


def test_a_customer_without_a_name_is_shown_by_their_address(agent_client, api_channel):
    receive(api_channel, "Hello", email="no.name@example.org", name="")

    assert "no.name@example.org" in text_of(inbox(agent_client, view="all"))


def test_rows_speak_the_agents_language(agent_client, agent, three):
    do_set_priority(agent, three[0], "urgent")

    text = text_of(agent_client.get("/t/rowery/", {"view": "mine"}, HTTP_ACCEPT_LANGUAGE="pl"))

    assert "Pilny" in text
    assert "czeka od 1 min" in text


def test_a_row_shows_the_waiting_time_in_words(agent_client, three):
    Conversation.objects.filter(pk=three[0].pk).update(
        waiting_since=timezone.now() - dt.timedelta(hours=2, minutes=5)
    )

    assert "waiting for 2 h" in text_of(inbox(agent_client, view="mine"))


def test_the_snippet_is_the_last_message_and_says_when_it_is_our_reply(agent_client, agent, three):
    do_reply(agent, three[0], "It left the warehouse today.", status=Status.OPEN)

    response = inbox(agent_client, view="mine")

    assert "It left the warehouse today." in text_of(response)
    assert 'class="snippet-out"' in response.content.decode()


def test_pending_and_resolved_conversations_leave_the_active_queue(agent_client, agent, three):
    do_reply(agent, three[0], "Could you send a photo?")  # → pending
    do_set_status(agent, three[1], Status.RESOLVED)

    assert rows(inbox(agent_client, view="all")) == [3]
    assert rows(inbox(agent_client, view="all", status="pending")) == [1]
    assert rows(inbox(agent_client, view="all", status="resolved")) == [2]
    assert rows(inbox(agent_client, view="all", status="any")) == [1, 3, 2]


def test_snoozed_conversations_hide_until_asked_for(agent_client, agent, three):
    do_snooze(agent, three[1], timezone.now() + dt.timedelta(hours=1))

    assert rows(inbox(agent_client, view="all")) == [3, 1]
    assert rows(inbox(agent_client, view="snoozed")) == [2]
    explicit = inbox(agent_client, view="all", status="new")
    assert rows(explicit) == [3, 2, 1]
    assert "Snoozed until" in text_of(explicit)


def test_filters_by_channel_tag_priority_assignee_and_team(agent_client, agent, owner, three, tenant):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")
    fourth = receive(form, "Via the form", email="d@example.org")
    tag = TagFactory(tenant=tenant, name="vip")
    do_set_tags(agent, three[1], [tag])
    do_set_priority(agent, three[2], "high")
    team = TeamFactory(tenant=tenant)
    do_assign(agent, fourth, team=team)

    assert rows(inbox(agent_client, view="all", channel=form.pk)) == [fourth.number]
    assert rows(inbox(agent_client, view="all", tag=tag.pk)) == [2]
    assert rows(inbox(agent_client, view="all", priority="high")) == [3]
    assert rows(inbox(agent_client, view="all", assignee=owner.pk)) == [3]
    assert rows(inbox(agent_client, view="all", assignee="none")) == [4, 2]
    assert rows(inbox(agent_client, view="all", team=team.pk)) == [4]
    assert "Clear filters" in text_of(inbox(agent_client, view="all", team=team.pk))


def test_sorting_by_waiting_time_and_by_priority(agent_client, agent, three):
    now = timezone.now()
    for conv, hours in zip(three, (1, 5, 3), strict=True):
        Conversation.objects.filter(pk=conv.pk).update(waiting_since=now - dt.timedelta(hours=hours))
    do_set_priority(agent, three[0], "urgent")

    assert rows(inbox(agent_client, view="all", sort="waiting")) == [2, 3, 1]
    assert rows(inbox(agent_client, view="all", sort="priority")) == [1, 2, 3]


def test_sorting_by_due_time_puts_the_most_pressing_running_clock_first(agent_client, agent, three):
    now = timezone.now()
    # 1: first answer due in 5 h; 2: answered, next answer due in 1 h but resolution in 30 min
    # (paused clocks don't count: 3's resolution is paused, its first answer is due in 3 h).
    Conversation.objects.filter(pk=three[0].pk).update(first_response_due=now + dt.timedelta(hours=5))
    Conversation.objects.filter(pk=three[1].pk).update(
        first_response_at=now,
        first_response_due=now - dt.timedelta(hours=9),
        next_response_due=now + dt.timedelta(hours=1),
        resolution_due=now + dt.timedelta(minutes=30),
    )
    Conversation.objects.filter(pk=three[2].pk).update(
        first_response_due=now + dt.timedelta(hours=3),
        resolution_due=now - dt.timedelta(hours=1),
        sla_paused_at=now,
    )
    fourth = receive(three[0].channel, "No clock at all", email="d@example.org")

    assert rows(inbox(agent_client, view="all", sort="due")) == [2, 3, 1, fourth.number]


@pytest.mark.parametrize("sort", ["recent", "waiting", "priority", "due"])
def test_pages_continue_after_the_last_row_without_repeats(
    agent_client, api_channel, agent, monkeypatch, sort
):
    monkeypatch.setattr("frontdesk.desk.views.inbox.PAGE_SIZE", 4)
    conversations = [receive(api_channel, f"Question {i}", email=f"q{i}@example.org") for i in range(10)]
    for i, conv in enumerate(conversations):
        if i % 3 == 0:
            do_set_priority(agent, conv, "high")
        if i % 2 == 0:  # half with a due time, some of them equal
            due = timezone.now().replace(microsecond=0) + dt.timedelta(hours=i // 4)
            Conversation.objects.filter(pk=conv.pk).update(first_response_due=due)
    seen: list[int] = []
    params = {"view": "all", "sort": sort}
    for _page in range(5):
        response = inbox(agent_client, **params)
        seen += rows(response)
        match = re.search(r'href="/t/rowery/\?([^"]*cursor=[^"]+)"', response.content.decode())
        if not match:
            break
        params = dict(p.split("=", 1) for p in match.group(1).replace("&amp;", "&").split("&"))
    assert sorted(seen) == list(range(1, 11))
    assert len(seen) == len(set(seen))


def test_load_more_returns_just_the_next_rows(agent_client, api_channel, monkeypatch):
    monkeypatch.setattr("frontdesk.desk.views.inbox.PAGE_SIZE", 2)
    for i in range(3):
        receive(api_channel, f"Question {i}", email=f"q{i}@example.org")
    first = inbox(agent_client, view="all").content.decode()
    more_url = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")

    more = agent_client.get(more_url)

    assert more.status_code == 200
    assert rows(more) == [1]
    assert "<html" not in more.content.decode()


def test_a_broken_page_link_is_a_clear_400(agent_client, three):
    response = agent_client.get("/t/rowery/", {"view": "all", "cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert "start again from the first page" in text_of(response)


@pytest.mark.parametrize(
    "params",
    [
        {"view": "everything"},
        {"status": "sleeping"},
        {"sort": "random"},
        {"channel": "x"},
        {"priority": "meh"},
    ],
)
def test_unknown_filters_are_a_400_not_a_500(agent_client, params):
    response = agent_client.get("/t/rowery/", params)

    assert response.status_code == 400
    assert 'data-testid="page-error"' in response.content.decode()


def test_empty_views_say_so(agent_client):
    assert "Nothing assigned to you" in text_of(inbox(agent_client, view="mine"))
    assert "No snoozed conversations" in text_of(inbox(agent_client, view="snoozed"))


def test_the_live_list_fragment_has_the_rows_and_the_counts(agent_client, three):
    response = agent_client.get("/t/rowery/inbox/list/", {"view": "all"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert 'id="inbox-list"' in page
    assert 'id="inbox-views"' in page
    assert rows(response) == [3, 2, 1]


def test_the_inbox_costs_the_same_queries_for_3_or_60_rows(agent_client, tenant, agent, api_channel, three):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            inbox(agent_client, view="all")
        return len(ctx.captured_queries)

    few = queries()
    tags = [TagFactory(tenant=tenant) for _ in range(3)]
    team = TeamFactory(tenant=tenant)
    others = [MembershipFactory(tenant=tenant) for _ in range(3)]
    for i in range(57):
        conv = receive(
            api_channel,
            f"Question {i}",
            email=f"n{i}@example.org",
            name="" if i % 2 else f"N {i}",
            external_id=i,
        )
        do_set_tags(agent, conv, tags[: i % 4])
        do_assign(agent, conv, assignee=others[i % 3], team=team if i % 2 else None)
        if i % 5 == 0:
            do_reply(agent, conv, "On it", status=Status.OPEN)

    many = queries()

    assert many == few
    assert len(rows(inbox(agent_client, view="all"))) == 50


def test_the_inbox_stays_within_a_fixed_query_budget(agent_client, three, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        inbox(agent_client, view="all")
