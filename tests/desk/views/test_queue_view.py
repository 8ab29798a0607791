"""The queue page and "Get next": agents see the queue in order and take the first conversation."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from frontdesk.desk.actions.queue import do_get_next
from frontdesk.desk.models import (
    BusinessCalendar,
    Callback,
    CallbackState,
    Conversation,
    Event,
    Membership,
    Role,
)
from tests.desk.views.conftest import signed_in, text_of
from tests.factories import ChannelFactory, MembershipFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


def _rows(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        int(n) for n in re.findall(r'data-testid="queue-row" data-number="(\d+)"', response.content.decode())
    ]


@pytest.fixture(autouse=True)
def open_all_day(tenant) -> None:  # type: ignore[no-untyped-def]
    """The shop is always open: arrivals are ordinary, not "after hours", whenever the test runs."""
    BusinessCalendar.objects.create(
        tenant=tenant, name="Always", week=[[[0, 1440]]] * 7, public_holidays=False, is_default=True
    )


@pytest.fixture
def colleague(tenant) -> Membership:  # type: ignore[no-untyped-def]
    return MembershipFactory(tenant=tenant, role=Role.AGENT, user__email="bob@rowery.example")


def test_an_agent_sees_the_queue_in_order_with_why(api_channel, agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    normal = receive(api_channel, "Where is my parcel?", email="a@example.org")
    urgent = receive(api_channel, "My order is wrong", email="b@example.org")
    Conversation.objects.filter(pk=urgent.pk).update(priority="urgent")
    response = agent_client.get(reverse("queue", args=["rowery"]))
    assert response.status_code == 200
    assert _rows(response) == [urgent.number, normal.number]
    assert "Why here" in text_of(response)
    assert "Priority: Urgent: +450" in text_of(response)
    assert "Channel: api: +40" in text_of(response)


def test_the_queue_shows_when_each_conversation_is_due(api_channel, agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    soon = receive(api_channel, "Soon", email="a@example.org")
    late = receive(api_channel, "Late", email="b@example.org")
    now = timezone.now()
    Conversation.objects.filter(pk=soon.pk).update(promised_by=now + dt.timedelta(minutes=90))
    Conversation.objects.filter(pk=late.pk).update(next_response_due=now - dt.timedelta(hours=3))
    response = agent_client.get(reverse("queue", args=["rowery"]))
    assert _rows(response) == [late.number, soon.number]
    page = text_of(response)
    assert "overdue by 3 h" in page
    assert "Overdue by 3 hours: +1150" in page
    assert re.search(rf"#{soon.number} due (tomorrow )?\d\d:\d\d", page)
    assert re.search(r"Due in 1 hour: \+48\d", page)


def test_the_inbox_links_to_the_queue(api_channel, agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = agent_client.get(reverse("inbox", args=["rowery"]))
    assert reverse("queue", args=["rowery"]) in response.content.decode()


def test_get_next_assigns_the_first_conversation_and_opens_it(
    api_channel, agent, agent_client: Client
) -> None:  # type: ignore[no-untyped-def]
    receive(api_channel, "Where is my parcel?", email="a@example.org")
    urgent = receive(api_channel, "My order is wrong", email="b@example.org")
    Conversation.objects.filter(pk=urgent.pk).update(priority="urgent")
    response = agent_client.post(reverse("queue_next", args=["rowery"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=["rowery", urgent.number])
    urgent.refresh_from_db()
    assert urgent.assignee == agent
    assert Event.objects.filter(kind="queue.taken", conversation=urgent, actor=agent).exists()
    # It left the queue.
    assert _rows(agent_client.get(reverse("queue", args=["rowery"]))) == [
        c.number for c in Conversation.objects.filter(assignee=None)
    ]


def test_get_next_on_an_empty_queue_says_so(agent_client: Client) -> None:
    response = agent_client.post(reverse("queue_next", args=["rowery"]))
    assert response.status_code == 200
    assert "The queue is empty" in text_of(response)


def test_an_offline_member_is_refused_with_a_clear_message(api_channel, agent, agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    conversation = receive(api_channel, "Hello?", email="a@example.org")
    agent.availability = "offline"
    agent.save(update_fields=["availability"])
    response = agent_client.post(reverse("queue_next", args=["rowery"]))
    assert response.status_code == 409
    assert "You are not online" in text_of(response)
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_get_next_needs_a_post_with_a_csrf_token(api_channel, agent) -> None:  # type: ignore[no-untyped-def]
    receive(api_channel, "Hello?", email="a@example.org")
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent.user)
    assert client.get(reverse("queue_next", args=["rowery"])).status_code == 405
    assert client.post(reverse("queue_next", args=["rowery"])).status_code == 403
    assert not Conversation.objects.exclude(assignee=None).exists()


def test_another_shops_conversations_never_appear(
    api_channel, agent_client, outsider, outsider_client
) -> None:  # type: ignore[no-untyped-def]
    ours = receive(api_channel, "Ours", email="a@example.org")
    theirs = receive(ChannelFactory(tenant=outsider.tenant, kind="api"), "Theirs", email="b@example.org")
    assert _rows(agent_client.get(reverse("queue", args=["rowery"]))) == [ours.number]
    # The other shop's member cannot open ours nor take from it.
    assert outsider_client.get(reverse("queue", args=["rowery"])).status_code == 404
    assert outsider_client.post(reverse("queue_next", args=["rowery"])).status_code == 404
    # And taking from their own queue never gives them ours.
    response = outsider_client.post(reverse("queue_next", args=["other"]))
    assert response["Location"] == reverse("conversation", args=["other", theirs.number])
    ours.refresh_from_db()
    assert ours.assignee is None


def test_two_members_getting_next_get_different_conversations(api_channel, agent, colleague) -> None:  # type: ignore[no-untyped-def]
    first = receive(api_channel, "One", email="a@example.org")
    second = receive(api_channel, "Two", email="b@example.org")
    taken = [
        signed_in(m).post(reverse("queue_next", args=["rowery"]))["Location"] for m in (agent, colleague)
    ]
    assert sorted(taken) == sorted(
        reverse("conversation", args=["rowery", c.number]) for c in (first, second)
    )
    assert {c.assignee_id for c in Conversation.objects.all()} == {agent.pk, colleague.pk}


def test_get_next_gives_only_conversations_of_the_members_teams_and_languages(api_channel, agent) -> None:  # type: ignore[no-untyped-def]
    other_team = TeamFactory(tenant=api_channel.tenant)
    theirs = receive(api_channel, "For the other team", email="a@example.org")
    german = receive(api_channel, "Auf Deutsch", email="b@example.org")
    mine = receive(api_channel, "Po polsku", email="c@example.org")
    Conversation.objects.filter(pk=theirs.pk).update(team=other_team, priority="urgent")
    Conversation.objects.filter(pk=german.pk).update(language="de", priority="urgent")
    Conversation.objects.filter(pk=mine.pk).update(language="pl")
    agent.languages = ["pl", "en"]
    agent.save(update_fields=["languages"])
    assert do_get_next(agent) == mine
    assert do_get_next(agent) is None


def test_a_member_at_chat_capacity_is_not_given_another_chat(tenant, agent) -> None:  # type: ignore[no-untyped-def]
    chat = ChannelFactory(tenant=tenant, kind="chat")
    agent.capacity = 1
    agent.save(update_fields=["capacity"])
    receive(chat, "First chat", email="a@example.org")
    receive(chat, "Second chat", email="b@example.org")
    # The router offered the first chat to the agent (assigned); the second waits in the queue.
    assert Conversation.objects.filter(assignee=agent).count() == 1
    assert do_get_next(agent) is None
    email = receive(ChannelFactory(tenant=tenant, kind="api"), "A question", email="c@example.org")
    assert do_get_next(agent) == email


@pytest.mark.django_db(transaction=True)
def test_members_pressing_get_next_at_once_never_get_the_same_conversation(tenant) -> None:  # type: ignore[no-untyped-def]
    """Four agents press at the same moment (threads, each with its own connection). PostgreSQL:
    row locks with SKIP LOCKED; SQLite: the IMMEDIATE transaction makes them take turns."""
    channel = ChannelFactory(tenant=tenant, kind="api")
    members = [MembershipFactory(tenant=tenant) for _ in range(4)]
    for i in range(6):
        receive(channel, f"Question {i}", email=f"c{i}@example.org")
    start = threading.Barrier(len(members))
    results: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def press(member: Membership) -> None:
        try:
            start.wait(timeout=10)
            taken = do_get_next(member)
            results[member.pk] = taken.pk if taken else None
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=press, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    taken = [pk for pk in results.values() if pk is not None]
    assert len(taken) == len(members)
    assert len(set(taken)) == len(members)
    for member_pk, conversation_pk in results.items():
        assert Conversation.objects.get(pk=conversation_pk).assignee_id == member_pk


# --- Calls the customer asked for -----------------------------------------------------------------


def _waiting_for_a_call(conversation: Conversation, *, due_ago: dt.timedelta, **fields: object) -> Callback:
    """The conversation answered and waiting on the customer, who asked for a call now due."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        status="pending", first_response_at=now - dt.timedelta(hours=3), waiting_since=None, promised_by=None
    )
    values: dict[str, object] = {
        "tenant_id": conversation.tenant_id,
        "conversation": conversation,
        "phone": "+48601234567",
        "window_start": now - due_ago,
        "window_end": now + dt.timedelta(hours=2),
        "due_at": now - due_ago,
        "state": CallbackState.DUE,
    }
    return Callback.objects.create(**{**values, **fields})


def test_a_due_call_is_a_row_of_the_queue_with_the_phone_and_the_callbacks_page(
    api_channel, agent_client: Client
) -> None:  # type: ignore[no-untyped-def]
    later = receive(api_channel, "Where is my parcel?", email="a@example.org")
    Conversation.objects.filter(pk=later.pk).update(promised_by=timezone.now() + dt.timedelta(hours=2))
    call = receive(api_channel, "Please call me", email="b@example.org")
    callback = _waiting_for_a_call(call, due_ago=dt.timedelta(minutes=40))
    response = agent_client.get(reverse("queue", args=["rowery"]))
    assert _rows(response) == [call.number, later.number]
    html = response.content.decode()
    assert 'href="tel:+48601234567"' in html
    assert f'href="{reverse("callbacks", args=["rowery"])}#callback-{callback.pk}"' in html
    page = text_of(response)
    assert "Call back" in page
    assert "overdue by 40 min" in page
    # (With the day when the window runs past midnight on the shop's clock: 22:00-24:00 there.)
    time = r"(\d\d\.\d\d )?\d\d:\d\d"
    assert re.search(rf"Call back \+48601234567 between {time} and {time}: \+120", page)


def test_a_call_waiting_for_its_retry_time_is_not_in_the_queue(api_channel, agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    call = receive(api_channel, "Please call me", email="a@example.org")
    _waiting_for_a_call(
        call, due_ago=dt.timedelta(minutes=40), next_attempt_at=timezone.now() + dt.timedelta(minutes=25)
    )
    scheduled = receive(api_channel, "Call me tonight", email="b@example.org")
    _waiting_for_a_call(scheduled, due_ago=-dt.timedelta(hours=5), state=CallbackState.SCHEDULED)
    assert _rows(agent_client.get(reverse("queue", args=["rowery"]))) == []


def test_get_next_hands_out_a_due_call_and_the_agent_logs_it_on_the_callbacks_page(
    api_channel, agent, agent_client: Client
) -> None:  # type: ignore[no-untyped-def]
    receive(api_channel, "Where is my parcel?", email="a@example.org")
    call = receive(api_channel, "Please call me", email="b@example.org")
    callback = _waiting_for_a_call(call, due_ago=dt.timedelta(minutes=10))
    response = agent_client.post(reverse("queue_next", args=["rowery"]))
    assert response["Location"] == reverse("conversation", args=["rowery", call.number])
    call.refresh_from_db()
    assert (call.assignee, call.status) == (agent, "pending")
    assert Event.objects.filter(kind="queue.taken", conversation=call, actor=agent).exists()
    assert call.number not in _rows(agent_client.get(reverse("queue", args=["rowery"])))
    logged = agent_client.post(
        reverse("callback_log", args=["rowery", callback.pk]), {"outcome": "reached", "note": ""}
    )
    assert logged.status_code == 302
    callback.refresh_from_db()
    assert callback.state == CallbackState.DONE


def test_another_shops_calls_never_appear_nor_are_handed_out(
    api_channel, agent, agent_client: Client, outsider
) -> None:  # type: ignore[no-untyped-def]
    theirs = receive(ChannelFactory(tenant=outsider.tenant, kind="api"), "Call me", email="a@example.org")
    _waiting_for_a_call(theirs, due_ago=dt.timedelta(minutes=10))
    assert _rows(agent_client.get(reverse("queue", args=["rowery"]))) == []
    assert do_get_next(agent) is None
    theirs.refresh_from_db()
    assert theirs.assignee is None
