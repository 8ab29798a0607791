"""Which process fetches which mailbox: every enabled IMAP channel is fetched, by one process at a
time; changed settings take effect, disabled channels stop, a stopped process's mailboxes are taken
over by another."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from frontdesk.channels.email.pollers import MailboxPollers, lease_name
from frontdesk.desk.models import Channel, Lease, RawInbound
from tests.channels.email.dovecot import message, needs_dovecot, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), needs_dovecot]


@pytest.fixture(autouse=True)
def _short_leases(quick_retries):  # type: ignore[no-untyped-def]
    quick_retries.FRONTDESK_MAILBOX_LEASE_SECONDS = 2.0


@contextmanager
def pollers() -> Iterator[MailboxPollers]:
    """A process's pollers (as `frontdesk serve` or `frontdesk worker` runs them)."""
    stop = threading.Event()
    manager = MailboxPollers(stop, scan_seconds=0.2)
    manager.start()
    try:
        yield manager
    finally:
        stop.set()
        manager.join(timeout=20)
        assert not manager.is_alive()


def stored(channel: Channel) -> int:
    return RawInbound.objects.filter(channel=channel).count()


def fetching(manager: MailboxPollers, channel: Channel) -> bool:
    running = manager.running.get(channel.pk)
    return running is not None and running.thread.is_alive() and not running.stop.is_set()


def test_every_enabled_mailbox_is_fetched(imap_channel, dovecot):
    dovecot.append(message(1))
    with pollers():
        wait_for(lambda: stored(imap_channel) == 1, timeout=15, what="the message")
        dovecot.append(message(2))
        wait_for(lambda: stored(imap_channel) == 2, timeout=10, what="the next message")


def test_a_disabled_channel_is_no_longer_fetched_and_its_mailbox_is_free(imap_channel, dovecot):
    with pollers() as manager:
        wait_for(lambda: fetching(manager, imap_channel), timeout=10, what="the fetcher")
        assert Lease.objects.get(name=lease_name(imap_channel.pk)).holder == manager.holder

        Channel.objects.filter(pk=imap_channel.pk).update(disabled=True)

        wait_for(lambda: imap_channel.pk not in manager.running, timeout=10, what="the fetcher to stop")
        wait_for(
            lambda: not Lease.objects.filter(name=lease_name(imap_channel.pk)).exists(),
            timeout=5,
            what="the lease",
        )
        dovecot.append(message(1))
        assert stored(imap_channel) == 0


def test_changed_settings_restart_the_fetcher_with_them(imap_channel, dovecot):
    with dovecot.client(None) as box:
        box.folder.create("Orders")
    dovecot.append(message("orders"), "Orders")
    with pollers() as manager:
        wait_for(lambda: fetching(manager, imap_channel), timeout=10, what="the fetcher")
        first = manager.running[imap_channel.pk].fetcher

        imap_channel.config = {**imap_channel.config, "imap_folder": "Orders"}
        imap_channel.save(update_fields=["config"])

        wait_for(lambda: stored(imap_channel) == 1, timeout=15, what="mail of the new folder")
        assert manager.running[imap_channel.pk].fetcher is not first


def test_one_process_fetches_a_mailbox_and_another_takes_over_when_it_stops(imap_channel, dovecot):
    with pollers() as second:
        with pollers() as first:
            wait_for(
                lambda: fetching(first, imap_channel) or fetching(second, imap_channel),
                timeout=10,
                what="a fetcher",
            )
        # Whichever got it: now only `second` is left, and it has the mailbox.
        wait_for(lambda: fetching(second, imap_channel), timeout=15, what="the take-over")
        dovecot.append(message(1))
        # Generous: on a busy CI machine (browsers in the other test process) 10 s was once too short.
        wait_for(lambda: stored(imap_channel) == 1, timeout=30, what="the message")
        assert Lease.objects.get(name=lease_name(imap_channel.pk)).holder == second.holder


def test_two_processes_never_fetch_one_mailbox_at_once(imap_channel, dovecot):
    with pollers() as one, pollers() as two:
        wait_for(
            lambda: fetching(one, imap_channel) or fetching(two, imap_channel), timeout=10, what="a fetcher"
        )
        for n in range(5):
            dovecot.append(message(n))
        wait_for(lambda: stored(imap_channel) == 5, timeout=15, what="the messages")
        assert not (fetching(one, imap_channel) and fetching(two, imap_channel))
    assert stored(imap_channel) == 5
