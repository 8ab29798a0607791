"""The fetcher as it runs in `frontdesk serve`: a thread that stays connected (IDLE), notices new
mail within seconds, survives the server going away, and keeps trying a mailbox that refuses it."""

from __future__ import annotations

import pytest

from frontdesk.channels.email.imap import ImapFetcher
from frontdesk.desk.models import Channel, MailboxState, Message, RawInbound
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.dovecot import PASSWORD, fetching, message, needs_dovecot, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), needs_dovecot]


def stored(channel: Channel) -> list[str]:
    return sorted(RawInbound.objects.filter(channel=channel).values_list("dedupe_key", flat=True))


def test_mail_arriving_while_the_fetcher_idles_is_there_within_seconds(imap_channel, dovecot, quick_retries):
    # Polling would take an hour: only IDLE can bring it in time.
    imap_channel.config = {**imap_channel.config, "imap_idle": True, "imap_poll_seconds": 3600}
    imap_channel.save()
    with fetching(imap_channel) as fetcher:
        wait_for(lambda: fetcher.syncs >= 1, timeout=15, what="the first sync", details=dovecot.logs)

        dovecot.append(message(1))

        wait_for(lambda: stored(imap_channel), timeout=10, what="the message", details=dovecot.logs)
        # (The message is stored before its sync ends and is counted.)
        wait_for(lambda: fetcher.syncs >= 2, timeout=10, what="the second sync to end")
        assert fetcher.sessions == 1  # the same connection, woken by the server…
        assert fetcher.syncs == 2  # …once: between the two syncs it only listened
    run_ready_tasks()
    assert Message.objects.filter(channel=imap_channel, provider_id="<msg-1@example.org>").exists()


def test_mail_arriving_while_the_fetcher_syncs_is_fetched_without_waiting_for_the_next_poll(
    imap_channel, dovecot, quick_retries, monkeypatch
):
    # The server tells of mail that came after SELECT with the responses to the sync's next
    # commands; the fetcher must not take that news as already handled when it starts IDLE.
    imap_channel.config = {**imap_channel.config, "imap_idle": True, "imap_poll_seconds": 3600}
    imap_channel.save()
    select = ImapFetcher._select
    delivered: list[int] = []

    def select_then_deliver(self, box, folder, *, writable):  # type: ignore[no-untyped-def]
        seen = select(self, box, folder, writable=writable)
        if not delivered:
            delivered.append(1)
            dovecot.append(message(1))
        return seen

    monkeypatch.setattr(ImapFetcher, "_select", select_then_deliver)
    with fetching(imap_channel) as fetcher:
        wait_for(lambda: stored(imap_channel), timeout=10, what="the message", details=dovecot.logs)
        assert fetcher.sessions == 1
    assert stored(imap_channel) == ["<msg-1@example.org>"]


def test_without_idle_the_mailbox_is_polled_at_the_set_interval(imap_channel, dovecot, quick_retries):
    imap_channel.config = {**imap_channel.config, "imap_idle": False, "imap_poll_seconds": 10}
    imap_channel.save()
    with fetching(imap_channel) as fetcher:
        wait_for(lambda: fetcher.syncs >= 1, timeout=15, what="the first sync")

        dovecot.append(message(1))

        wait_for(lambda: stored(imap_channel), timeout=20, what="the next poll")
        wait_for(lambda: fetcher.syncs >= 2, timeout=10, what="the poll's sync to end")
        assert fetcher.syncs == 2 and fetcher.sessions == 1


def test_mail_that_arrived_while_the_server_was_down_is_fetched_after_it_is_back(
    imap_channel, dovecot, quick_retries
):
    dovecot.append(message(1))
    with fetching(imap_channel) as fetcher:
        wait_for(lambda: stored(imap_channel) == ["<msg-1@example.org>"], timeout=15, what="message 1")

        dovecot.stop()
        wait_for(
            lambda: MailboxState.objects.filter(channel=imap_channel).exclude(last_error="").exists(),
            timeout=15,
            what="the outage to be noticed",
        )
        dovecot.drop(message(2))  # delivered by the mail system while IMAP was away
        dovecot.drop(message(3))
        dovecot.start()

        wait_for(
            lambda: len(stored(imap_channel)) == 3, timeout=20, what="the missed mail", details=dovecot.logs
        )
        assert fetcher.sessions >= 2

        def healthy() -> bool:  # (recorded when the sync that stored them ends)
            state = MailboxState.objects.get(channel=imap_channel)
            return state.last_success_at > state.last_error_at

        wait_for(healthy, timeout=10, what="the mailbox shown as healthy again")
    assert stored(imap_channel) == [f"<msg-{n}@example.org>" for n in (1, 2, 3)]
    assert len(dovecot.contents()) == 3  # and nothing was taken off the server


def test_a_refused_password_is_shown_on_the_channel_and_tried_again_until_it_works(
    imap_channel, dovecot, quick_retries
):
    imap_channel.secrets = {"imap_password": "wrong-password"}
    imap_channel.save()
    dovecot.append(message(1))
    with fetching(imap_channel):
        wait_for(
            lambda: "refused the sign-in" in Channel.objects.get(pk=imap_channel.pk).last_error,
            timeout=15,
            what="the channel's error",
        )
        channel = Channel.objects.get(pk=imap_channel.pk)
        assert not channel.disabled
        assert "refused the sign-in" in MailboxState.objects.get(channel=channel).last_error

        channel.secrets = {"imap_password": PASSWORD}  # the admin types the right one
        channel.save(update_fields=["secrets_encrypted"])

        wait_for(lambda: stored(channel), timeout=15, what="the mail after the fix")
        wait_for(lambda: not Channel.objects.get(pk=channel.pk).last_error, timeout=5, what="the error to go")


def test_the_fetcher_leaves_idle_and_stops_within_moments(imap_channel, dovecot, quick_retries):
    import time

    with fetching(imap_channel) as fetcher:
        wait_for(lambda: fetcher.syncs >= 1, timeout=15, what="the first sync")
        started = time.monotonic()
    assert time.monotonic() - started < 5
