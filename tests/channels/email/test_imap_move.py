"""The admin's choice "Move imported mail to folder": the only case in which Frontdesk changes the
mailbox, and then only for mail that is safely stored."""

from __future__ import annotations

import pytest

from frontdesk.channels.email import imap
from frontdesk.channels.email.imap import ImapFetcher
from frontdesk.desk.models import Message, RawInbound
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.dovecot import message, needs_dovecot

pytestmark = [pytest.mark.django_db, needs_dovecot]


def ids(contents: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    return sorted(mid for mid, _flags in contents)


@pytest.fixture
def moving_channel(imap_channel):  # type: ignore[no-untyped-def]
    imap_channel.config = {**imap_channel.config, "imap_move_to": "Frontdesk"}
    imap_channel.save()
    return imap_channel


def test_imported_mail_is_moved_to_the_chosen_folder(moving_channel, dovecot):
    dovecot.append(message(1))
    dovecot.append(message(2))

    ImapFetcher(moving_channel).sync_once()
    run_ready_tasks()

    assert dovecot.contents("INBOX") == []
    assert ids(dovecot.contents("Frontdesk")) == ["<msg-1@example.org>", "<msg-2@example.org>"]
    assert Message.objects.filter(channel=moving_channel).count() == 2


def test_a_message_that_could_not_be_stored_stays_in_the_inbox(moving_channel, dovecot, monkeypatch):
    dovecot.append(message(1))
    dovecot.append(message(2))
    real_store = imap.store_message

    def store_failing_for_message_2(channel, raw, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs["key"] == "<msg-2@example.org>":
            raise ConnectionError("the database went away")
        return real_store(channel, raw, **kwargs)

    monkeypatch.setattr(imap, "store_message", store_failing_for_message_2)
    with pytest.raises(ConnectionError):
        ImapFetcher(moving_channel).sync_once()

    assert ids(dovecot.contents("INBOX")) == ["<msg-2@example.org>"]
    assert ids(dovecot.contents("Frontdesk")) == ["<msg-1@example.org>"]
    assert list(RawInbound.objects.values_list("dedupe_key", flat=True)) == ["<msg-1@example.org>"]

    monkeypatch.setattr(imap, "store_message", real_store)  # the database is back
    ImapFetcher(moving_channel).sync_once()

    assert dovecot.contents("INBOX") == []
    assert ids(dovecot.contents("Frontdesk")) == ["<msg-1@example.org>", "<msg-2@example.org>"]
    assert RawInbound.objects.count() == 2


def test_mail_stored_just_before_a_crash_is_moved_by_the_next_session_and_not_stored_twice(
    moving_channel, dovecot, monkeypatch
):
    dovecot.append(message(1))

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise SystemExit("killed")  # the process dies after the commit, before the move

    monkeypatch.setattr(ImapFetcher, "_move", crash)
    with pytest.raises(SystemExit):
        ImapFetcher(moving_channel).sync_once()
    assert ids(dovecot.contents("INBOX")) == ["<msg-1@example.org>"]
    monkeypatch.undo()

    counts = ImapFetcher(moving_channel).sync_once()

    assert counts.fetched == 0
    assert dovecot.contents("INBOX") == []
    assert ids(dovecot.contents("Frontdesk")) == ["<msg-1@example.org>"]
    assert RawInbound.objects.count() == 1


def test_mail_left_out_of_the_backfill_window_is_not_moved(moving_channel, dovecot):
    import datetime as dt

    dovecot.append(message("old"), when=dt.datetime.now(dt.UTC) - dt.timedelta(days=60))
    ImapFetcher(moving_channel).sync_once()
    dovecot.append(message("new"))

    ImapFetcher(moving_channel).sync_once()

    assert ids(dovecot.contents("INBOX")) == ["<msg-old@example.org>"]
    assert ids(dovecot.contents("Frontdesk")) == ["<msg-new@example.org>"]
