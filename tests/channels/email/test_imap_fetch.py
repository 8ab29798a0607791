"""Fetching a real mailbox (Dovecot on 127.0.0.1): what arrives, and what never happens to it.

One fetch = one connection (ImapFetcher.sync_once). The customer's mail becomes conversations;
the server's mailbox is left exactly as it was: no message deleted, no flag set, not even \\Seen.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from frontdesk.channels.email.imap import ImapFetcher
from frontdesk.desk.models import Conversation, MailboxState, Message, RawInbound
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.dovecot import message, needs_dovecot

pytestmark = [pytest.mark.django_db, needs_dovecot]


def provider_ids(channel) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(Message.objects.filter(channel=channel).values_list("provider_id", flat=True))


def test_mail_in_the_mailbox_becomes_conversations(imap_channel, dovecot):
    dovecot.append(message(1, subject="Gdzie jest moja paczka?"))
    dovecot.append(message(2))

    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert provider_ids(imap_channel) == ["<msg-1@example.org>", "<msg-2@example.org>"]
    conversation = Conversation.objects.get(messages__provider_id="<msg-1@example.org>")
    assert conversation.subject == "Gdzie jest moja paczka?"
    assert conversation.customer.identity("email").address == "jan@example.org"


def test_the_raw_message_is_stored_with_its_message_id_before_it_is_processed(imap_channel, dovecot):
    dovecot.append(message(1))

    ImapFetcher(imap_channel).sync_once()

    raw = RawInbound.objects.get(channel=imap_channel)
    assert raw.dedupe_key == "<msg-1@example.org>"
    assert raw.content_type == "message/rfc822"
    assert raw.headers["x-frontdesk-imap-folder"] == "INBOX"
    assert bytes(raw.body) == message(1)
    assert raw.state == "received"  # processing is queued, in the same commit
    run_ready_tasks()
    raw.refresh_from_db()
    assert raw.state == "processed"


def test_nothing_on_the_server_changes_not_even_the_seen_flag(imap_channel, dovecot):
    dovecot.append(message(1))
    dovecot.append(message(2), flags=("\\Flagged",))
    before = dovecot.contents()

    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert dovecot.contents() == before
    assert [flags for _mid, flags in dovecot.contents()] == [(), ("\\Flagged",)]
    assert len(provider_ids(imap_channel)) == 2


def test_a_second_fetch_imports_nothing_again_and_downloads_nothing(imap_channel, dovecot):
    dovecot.append(message(1))
    ImapFetcher(imap_channel).sync_once()

    again = ImapFetcher(imap_channel).sync_once()  # a new fetcher, as after a restart

    assert (again.fetched, again.imported) == (0, 0)
    assert RawInbound.objects.filter(channel=imap_channel).count() == 1
    state = MailboxState.objects.get(channel=imap_channel)
    assert state.counts == {"fetched": 1, "imported": 1, "duplicates": 0, "failed": 0}


def test_only_mail_newer_than_the_last_fetch_is_imported(imap_channel, dovecot):
    dovecot.append(message(1))
    ImapFetcher(imap_channel).sync_once()
    dovecot.append(message(2))

    counts = ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert (counts.fetched, counts.imported) == (1, 1)
    assert provider_ids(imap_channel) == ["<msg-1@example.org>", "<msg-2@example.org>"]


def test_a_message_the_channel_has_already_is_skipped_by_its_header_alone(imap_channel, dovecot):
    """The same mail forwarded to the built-in SMTP server and also in the mailbox."""
    from frontdesk.channels.email.store import store_message

    store_message(imap_channel, message(1), key="<msg-1@example.org>", headers={})
    dovecot.append(message(1))
    dovecot.append(message(2))

    counts = ImapFetcher(imap_channel).sync_once()

    assert (counts.fetched, counts.imported, counts.duplicates) == (1, 1, 1)
    assert RawInbound.objects.filter(channel=imap_channel).count() == 2


def test_mail_without_a_message_id_is_imported_once(imap_channel, dovecot):
    dovecot.append(message(1, message_id=""))
    ImapFetcher(imap_channel).sync_once()
    state = MailboxState.objects.get(channel=imap_channel)
    state.uidvalidity, state.last_uid = 1, 0  # as if the folder had to be looked at again
    state.save()

    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert Message.objects.filter(channel=imap_channel).count() == 1
    assert RawInbound.objects.filter(channel=imap_channel).count() == 1
    assert RawInbound.objects.get().dedupe_key.startswith("sha256:")


def test_the_first_connection_imports_the_backfill_window_only(tenant, dovecot, imap_channel):
    now = dt.datetime.now(dt.UTC)
    dovecot.append(message("old"), when=now - dt.timedelta(days=30))
    dovecot.append(message("recent"), when=now - dt.timedelta(days=2))
    imap_channel.config = {**imap_channel.config, "imap_backfill_days": 7}
    imap_channel.save()

    ImapFetcher(imap_channel).sync_once()
    dovecot.append(message("new"))
    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert provider_ids(imap_channel) == ["<msg-new@example.org>", "<msg-recent@example.org>"]
    state = MailboxState.objects.get(channel=imap_channel)
    assert state.backfill_done


def test_with_no_backfill_only_mail_arriving_after_connecting_is_imported(dovecot, imap_channel):
    dovecot.append(message("before"))
    imap_channel.config = {**imap_channel.config, "imap_backfill_days": 0}
    imap_channel.save()

    ImapFetcher(imap_channel).sync_once()
    dovecot.append(message("after"))
    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert provider_ids(imap_channel) == ["<msg-after@example.org>"]


def test_everything_that_arrived_while_frontdesk_was_away_is_fetched_however_old(dovecot, imap_channel):
    """After an outage the UID mark, not the backfill window, says what is missing."""
    imap_channel.config = {**imap_channel.config, "imap_backfill_days": 1}
    imap_channel.save()
    ImapFetcher(imap_channel).sync_once()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    for n in range(5):
        dovecot.append(message(n), when=long_ago)

    ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    assert len(provider_ids(imap_channel)) == 5


def test_a_recreated_folder_is_looked_at_again_without_duplicates(dovecot, imap_channel):
    imap_channel.config = {**imap_channel.config, "imap_folder": "Support"}
    imap_channel.save()
    with dovecot.client(None) as box:
        box.folder.create("Support")
    dovecot.append(message(1), "Support")
    dovecot.append(message(2), "Support")
    ImapFetcher(imap_channel).sync_once()
    validity = MailboxState.objects.get(channel=imap_channel).uidvalidity

    with dovecot.client(None) as box:  # the folder is deleted and made again: new UIDVALIDITY
        box.folder.delete("Support")
        box.folder.create("Support")
    for n in (1, 2, 3):
        dovecot.append(message(n), "Support")
    counts = ImapFetcher(imap_channel).sync_once()
    run_ready_tasks()

    state = MailboxState.objects.get(channel=imap_channel, folder="Support")
    assert state.uidvalidity != validity
    assert (counts.imported, counts.duplicates) == (1, 2)
    assert provider_ids(imap_channel) == [f"<msg-{n}@example.org>" for n in (1, 2, 3)]


def test_the_ingestion_log_counts_and_times_each_fetch(imap_channel, dovecot):
    dovecot.append(message(1))
    dovecot.append(message(2))

    ImapFetcher(imap_channel).sync_once()

    state = MailboxState.objects.get(channel=imap_channel)
    assert state.counts == {"fetched": 2, "imported": 2, "duplicates": 0, "failed": 0}
    assert state.last_sync_at is not None and state.last_success_at == state.last_sync_at
    assert state.last_error == ""
    assert state.last_uid == 2 and state.uidvalidity


def test_a_message_over_the_size_limit_stays_on_the_server_and_is_logged(settings, imap_channel, dovecot):
    settings.FRONTDESK_EMAIL_MAX_BYTES = 2000
    dovecot.append(message(1, body="x" * 5000))
    dovecot.append(message(2))

    counts = ImapFetcher(imap_channel).sync_once()

    assert (counts.imported, counts.failed) == (1, 1)
    state = MailboxState.objects.get(channel=imap_channel)
    assert "larger than the limit" in state.last_error
    assert state.counts["failed"] == 1
    assert len(dovecot.contents()) == 2


def test_fetch_answers_are_read_whichever_order_a_server_uses():
    """Dovecot names the UID first; other servers after the literal, or send NIL for a header
    the message lacks. Every form gives the UID (a message is never skipped for the form)."""
    from frontdesk.channels.email.imap import _fetch_responses

    data = [
        (b"1 (UID 7 RFC822.SIZE 50 BODY[HEADER.FIELDS (MESSAGE-ID)] {20}", b"Message-ID: <a@b>\r\n\r\n"),
        b")",
        (b"2 (RFC822.SIZE 60 BODY[HEADER.FIELDS (MESSAGE-ID)] {2}", b"\r\n"),
        b" UID 8)",
        b"3 (UID 9 RFC822.SIZE 70 BODY[HEADER.FIELDS (MESSAGE-ID)] NIL)",
        b"4 (FLAGS (\\Seen))",
    ]

    answers = _fetch_responses(data)

    uids = [re.search(rb"UID (\d+)", meta) for meta, _literal in answers]
    assert [(int(m.group(1)) if m else None) for m in uids] == [7, 8, 9, None]
    assert [literal for _meta, literal in answers] == [b"Message-ID: <a@b>\r\n\r\n", b"\r\n", b"", b""]
