"""Live updates on agent pages: who may subscribe, what arrives, and catching up after a gap."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connection, transaction

from frontdesk.desk.models import Event, Membership, Message
from frontdesk.realtime import consumers
from tests.factories import ChannelFactory, receive

from .conftest import agent_socket, db, login_cookie, run

pytestmark = pytest.mark.django_db(transaction=True)


def _is_message(text: str):  # type: ignore[no-untyped-def]
    """Matches the "message.created" event of the (only) message with this text."""
    message_id = Message.objects.get(text=text).pk
    return lambda e: e["kind"] == "message.created" and e["data"]["message"] == message_id


def _event_ids(**lookup: object) -> list[int]:
    return list(Event.objects.filter(**lookup).order_by("id").values_list("id", flat=True))


def test_an_agent_sees_a_customer_message_arrive_live(agent, api_channel):
    cookie = login_cookie(agent)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            hello = await ws.next_of("hello")
            assert hello["member"] == agent.pk

            conversation = await db(receive)(api_channel, "Gdzie jest moja paczka?")

            events = await ws.events_until(await db(_is_message)("Gdzie jest moja paczka?"))
            assert [e["kind"] for e in events] == ["conversation.created", "message.created"]
            assert {e["conversation"] for e in events} == {conversation.number}
            assert events[-1]["data"]["direction"] == "in"
            assert [e["id"] for e in events] == await db(_event_ids)(conversation=conversation)

    run(scenario)


def test_a_change_that_rolled_back_is_never_pushed(agent, api_channel):
    cookie = login_cookie(agent)

    def receive_then_roll_back() -> None:
        with transaction.atomic():
            receive(api_channel, "This never happened")
            transaction.set_rollback(True)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            await db(receive_then_roll_back)()
            await db(receive)(api_channel, "This did happen", email="ola@example.org")

            events = await ws.events_until(await db(_is_message)("This did happen"))
            assert [e["id"] for e in events] == await db(_event_ids)(tenant=agent.tenant)
            assert not await db(Message.objects.filter(text="This never happened").exists)()

    run(scenario)


def test_an_event_recorded_by_a_background_thread_arrives_at_once(agent, api_channel):
    """Worker and scheduler threads of the one-process server push through the serving loop."""
    cookie = login_cookie(agent)

    def receive_in_a_worker_thread() -> None:
        try:
            receive(api_channel, "Sent from a worker thread")
        finally:
            connection.close()

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            worker = threading.Thread(target=receive_in_a_worker_thread)
            worker.start()
            event = await ws.next_of("event", timeout=2)
            await asyncio.to_thread(worker.join, 5)
            assert event["event"]["kind"] == "conversation.created"

    run(scenario)


def test_a_commit_does_not_wait_for_a_busy_event_loop_and_its_events_keep_their_order(agent, api_channel):
    """A database thread hands its events over and goes on (on SQLite it holds the process's write
    lock until then); the loop sends them later, in the order they were committed."""
    cookie = login_cookie(agent)
    finished = threading.Event()

    def receive_several() -> None:
        try:
            for n in range(5):
                receive(api_channel, f"Question {n}", email="ola@example.org")
            finished.set()
        finally:
            connection.close()

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            worker = threading.Thread(target=receive_several)
            worker.start()
            # Blocks the event loop, as a burst of work does: the commits must complete meanwhile.
            assert finished.wait(20), "the worker waited for the event loop"
            await asyncio.to_thread(worker.join, 5)
            events = await ws.events_until(await db(_is_message)("Question 4"))
            assert [e["id"] for e in events] == await db(_event_ids)(tenant=agent.tenant)

    run(scenario)


def test_a_member_of_another_shop_cannot_subscribe_to_this_shop(outsider, tenant):
    cookie = login_cookie(outsider)

    async def scenario() -> None:
        async with agent_socket(cookie, tenant.slug) as ws:
            assert await ws.close_code() == consumers.CLOSE_NOT_A_MEMBER

    run(scenario)


def test_a_visitor_who_is_not_signed_in_is_refused(tenant):
    async def scenario() -> None:
        async with agent_socket(None, tenant.slug) as ws:
            assert await ws.close_code() == consumers.CLOSE_NOT_SIGNED_IN

    run(scenario)


def test_a_deactivated_member_is_refused(agent):
    cookie = login_cookie(agent)
    Membership.objects.filter(pk=agent.pk).update(is_active=False)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            assert await ws.close_code() == consumers.CLOSE_NOT_A_MEMBER

    run(scenario)


def test_a_page_of_another_site_cannot_open_the_socket(agent):
    cookie = login_cookie(agent)

    async def scenario() -> None:
        with pytest.raises(AssertionError, match="closed the socket"):
            async with agent_socket(cookie, origin="https://evil.example"):
                pass

    run(scenario)


def test_a_member_of_another_shop_never_receives_this_shops_events(agent, outsider, api_channel):
    cookie = login_cookie(outsider)
    their_channel = ChannelFactory(tenant=outsider.tenant)

    async def scenario() -> None:
        async with agent_socket(cookie, outsider.tenant.slug) as ws:
            await ws.next_of("hello")
            await db(receive)(api_channel, "For the bike shop only")
            await db(receive)(their_channel, "For the other shop")

            events = await ws.events_until(await db(_is_message)("For the other shop"))
            assert [e["id"] for e in events] == await db(_event_ids)(tenant=outsider.tenant)

    run(scenario)


def test_a_member_removed_while_connected_is_disconnected_at_the_next_check(agent, monkeypatch):
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    cookie = login_cookie(agent)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            await ws.send({"type": "ping"})
            assert (await ws.next_of("pong"))["type"] == "pong"

            await db(Membership.objects.filter(pk=agent.pk).update)(is_active=False)
            await ws.send({"type": "ping"})
            assert await ws.close_code() == consumers.CLOSE_NOT_A_MEMBER

    run(scenario)


def test_signing_out_ends_the_live_updates_at_the_next_check(agent, monkeypatch):
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    cookie = login_cookie(agent)
    from django.contrib.sessions.models import Session

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            await db(Session.objects.all().delete)()
            await ws.send({"type": "ping"})
            assert await ws.close_code() == consumers.CLOSE_NOT_A_MEMBER

    run(scenario)


# --- catching up ---------------------------------------------------------------------------------


def test_reconnecting_after_an_id_replays_exactly_the_missed_events(agent, api_channel):
    cookie = login_cookie(agent)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            await db(receive)(api_channel, "Before the gap")
            seen = await ws.events_until(await db(_is_message)("Before the gap"))
        last_seen = seen[-1]["id"]

        # The page was offline (laptop lid closed) while two customers wrote.
        await db(receive)(api_channel, "During the gap", email="ola@example.org")
        await db(receive)(api_channel, "Also during the gap", email="piotr@example.org")
        missed = await db(_event_ids)(tenant=agent.tenant, id__gt=last_seen)
        assert len(missed) == 4

        async with agent_socket(cookie, query=f"?after={last_seen}") as ws:
            await ws.next_of("hello")
            assert [e["id"] for e in await ws.replayed()] == missed

            # and live updates go on as usual
            await db(receive)(api_channel, "After the gap")
            live = await ws.events_until(await db(_is_message)("After the gap"))
            assert all(e["id"] > missed[-1] for e in live)

    run(scenario)


def test_a_resume_message_replays_the_missed_events_once(agent, api_channel):
    cookie = login_cookie(agent)
    receive(api_channel, "Old news")
    start = Event.objects.order_by("-id").values_list("id", flat=True)[0]
    receive(api_channel, "Missed it", email="ola@example.org")
    missed = _event_ids(tenant=agent.tenant, id__gt=start)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            await ws.send({"type": "resume", "after": start})
            await ws.send({"type": "resume", "after": start})  # asked twice, sent once
            assert [e["id"] for e in await ws.replayed()] == missed

    run(scenario)


def test_events_committed_while_replaying_are_neither_lost_nor_repeated(agent, api_channel, monkeypatch):
    """The race between the replay query and live pushes: one commits (and is pushed) after the
    socket joined the group but before the query, another after the query."""
    cookie = login_cookie(agent)
    receive(api_channel, "Old news")
    start = Event.objects.order_by("-id").values_list("id", flat=True)[0]
    receive(api_channel, "Missed it", email="ola@example.org")
    read_stream = consumers._events_after

    def racing_read(tenant_id: int, after: int, limit: int):  # type: ignore[no-untyped-def]
        receive(api_channel, "Pushed before the query", email="piotr@example.org")
        events = read_stream(tenant_id, after, limit)
        receive(api_channel, "Pushed after the query", email="ewa@example.org")
        return events

    monkeypatch.setattr(consumers, "_events_after", racing_read)

    async def scenario() -> None:
        async with agent_socket(cookie, query=f"?after={start}") as ws:
            await ws.next_of("hello")
            received = await ws.events_until(await db(_is_message)("Pushed after the query"))
            assert [e["id"] for e in received] == await db(_event_ids)(tenant=agent.tenant, id__gt=start)

    run(scenario)


def test_a_long_absence_asks_the_page_to_reload(agent, api_channel, monkeypatch):
    monkeypatch.setattr(consumers, "REPLAY_LIMIT", 3)
    cookie = login_cookie(agent)
    for n in range(3):
        receive(api_channel, f"Message {n}", email=f"customer{n}@example.org")  # 2 events each

    async def scenario() -> None:
        async with agent_socket(cookie, query="?after=0") as ws:
            await ws.next_of("hello")
            assert (await ws.next())["type"] == "reload"

    run(scenario)


def test_nonsense_from_the_client_gets_an_error_and_the_socket_stays_open(agent):
    cookie = login_cookie(agent)

    async def scenario() -> None:
        async with agent_socket(cookie) as ws:
            await ws.next_of("hello")
            for frame, code in [
                ("{not json", "malformed_json"),
                ("[1, 2]", "invalid"),
                ('{"type": "dance"}', "unknown_type"),
                ('{"type": "resume", "after": "yesterday"}', "invalid"),
                ('{"type": "presence", "conversation": "7", "state": "viewing"}', "invalid"),
                ('{"type": "presence", "conversation": 7, "state": "sleeping"}', "invalid"),
                ("x" * 5000, "invalid"),
            ]:
                await ws.send_text(frame)
                assert (await ws.next_of("error"))["error"]["code"] == code, frame
            await ws.send({"type": "ping"})
            assert (await ws.next())["type"] == "pong"

    run(scenario)


# --- presence (collision warning) ----------------------------------------------------------------


def test_an_agent_opening_a_conversation_is_seen_by_the_other_agents_of_the_shop(agent, owner, outsider):
    agent_cookie, owner_cookie, outsider_cookie = map(login_cookie, (agent, owner, outsider))
    their_channel = ChannelFactory(tenant=outsider.tenant)

    async def scenario() -> None:
        async with (
            agent_socket(owner_cookie) as olga,
            agent_socket(agent_cookie) as anna,
            agent_socket(outsider_cookie, outsider.tenant.slug) as eve,
        ):
            for ws in (olga, anna, eve):
                await ws.next_of("hello")

            await anna.send({"type": "presence", "conversation": 7, "state": "viewing"})
            seen = await olga.next_of("presence")
            assert seen["conversation"] == 7
            assert (seen["member"], seen["name"], seen["state"]) == (agent.pk, "Anna Agent", "viewing")
            assert 15 < seen["expires_in"] <= 60

            await anna.send({"type": "presence", "conversation": 7, "state": "replying"})
            assert (await olga.next_of("presence"))["state"] == "replying"

            # Eve (another shop) heard nothing of it: the next thing she gets is her own shop's news.
            await db(receive)(their_channel, "Eve's customer")
            first = await eve.next()
            assert first["type"] == "event"
            assert first["event"]["id"] in await db(_event_ids)(tenant=outsider.tenant)

            # Anna is not told about herself.
            await anna.send({"type": "ping"})
            assert (await anna.next())["type"] == "pong"

    run(scenario)


def test_an_agent_arriving_learns_at_once_who_is_already_there(agent, owner):
    agent_cookie, owner_cookie = login_cookie(agent), login_cookie(owner)

    async def scenario() -> None:
        async with agent_socket(owner_cookie) as olga:
            await olga.next_of("hello")
            await olga.send({"type": "presence", "conversation": 3, "state": "replying"})
            async with agent_socket(agent_cookie) as anna:
                await anna.next_of("hello")
                await anna.send({"type": "presence", "conversation": 3, "state": "viewing"})

                there = await anna.next_of("presence")
                assert (there["member"], there["name"], there["state"]) == (
                    owner.pk,
                    "Olga Owner",
                    "replying",
                )
                assert (await olga.next_of("presence"))["member"] == agent.pk

    run(scenario)


def test_closing_the_page_tells_the_others_the_agent_left(agent, owner):
    agent_cookie, owner_cookie = login_cookie(agent), login_cookie(owner)

    async def scenario() -> None:
        async with agent_socket(owner_cookie) as olga:
            await olga.next_of("hello")
            async with agent_socket(agent_cookie) as anna:
                await anna.next_of("hello")
                await anna.send({"type": "presence", "conversation": 5, "state": "viewing"})
                assert (await olga.next_of("presence"))["state"] == "viewing"
            gone = await olga.next_of("presence")
            assert (gone["member"], gone["conversation"], gone["state"]) == (agent.pk, 5, "left")

    run(scenario)


def test_leaving_a_conversation_is_announced(agent, owner):
    agent_cookie, owner_cookie = login_cookie(agent), login_cookie(owner)

    async def scenario() -> None:
        async with agent_socket(owner_cookie) as olga, agent_socket(agent_cookie) as anna:
            await olga.next_of("hello")
            await anna.next_of("hello")
            await anna.send({"type": "presence", "conversation": 5, "state": "viewing"})
            await anna.send({"type": "presence", "conversation": 5, "state": "left"})
            states = [(await olga.next_of("presence"))["state"] for _ in range(2)]
            assert states == ["viewing", "left"]

    run(scenario)


def test_a_flood_of_presence_announcements_is_cut_short(agent, monkeypatch):
    monkeypatch.setattr(consumers, "PRESENCE_BURST", 3)
    agent_cookie = login_cookie(agent)

    async def scenario() -> None:
        async with agent_socket(agent_cookie) as anna:
            await anna.next_of("hello")
            for _ in range(4):
                await anna.send({"type": "presence", "conversation": 5, "state": "viewing"})
            assert (await anna.next_of("error"))["error"]["code"] == "rate_limited"

    run(scenario)


def test_only_the_members_own_name_is_shared(agent, owner):
    """Another member's details (email, role) never travel with presence."""
    agent_cookie, owner_cookie = login_cookie(agent), login_cookie(owner)

    async def scenario() -> None:
        async with agent_socket(owner_cookie) as olga, agent_socket(agent_cookie) as anna:
            await olga.next_of("hello")
            await anna.next_of("hello")
            await anna.send({"type": "presence", "conversation": 9, "state": "viewing"})
            seen = await olga.next_of("presence")
            assert set(seen) == {"type", "conversation", "member", "name", "state", "expires_in", "tab"}
            assert "anna@rowery.example" not in str(seen)

    run(scenario)


def test_running_the_shop_is_announced_to_its_admins_but_not_to_agents(agent, owner, api_channel):
    """An invitation carries the invitee's email: admins' pages get it, agents' pages do not."""
    from frontdesk.desk.actions.admin import do_invite

    agent_cookie, owner_cookie = login_cookie(agent), login_cookie(owner)

    async def scenario() -> None:
        async with agent_socket(agent_cookie) as agents_page, agent_socket(owner_cookie) as owners_page:
            await agents_page.next_of("hello")
            await owners_page.next_of("hello")

            await db(do_invite)(owner, "new.agent@rowery.example")
            await db(receive)(api_channel, "After the invitation")
            is_after = await db(_is_message)("After the invitation")

            agent_kinds = [e["kind"] for e in await agents_page.events_until(is_after)]
            owner_kinds = [e["kind"] for e in await owners_page.events_until(is_after)]
            assert "member.invited" in owner_kinds
            assert "member.invited" not in agent_kinds
            assert "message.created" in agent_kinds

    run(scenario)
