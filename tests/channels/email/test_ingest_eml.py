"""`frontdesk ingest-eml --channel ID FILE…`: importing raw mail from files, as an operator migrating
from another help desk would. Same path as received mail; importing twice changes nothing."""

from __future__ import annotations

import io
import mailbox
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from frontdesk.cli import main as frontdesk
from frontdesk.desk.models import Conversation, Message, RawInbound
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.dovecot import message
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"


@pytest.fixture
def channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )


def ingest(channel, *files: Path | str, options: tuple[str, ...] = ()) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "ingest_eml", "--channel", str(channel.pk), *options, *map(str, files), stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def write_eml(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def test_eml_files_become_conversations(channel, tmp_path):
    first = write_eml(tmp_path, "1.eml", message(1, subject="Zwrot"))
    second = write_eml(tmp_path, "2.eml", message(2))

    out, err = ingest(channel, first, second)

    assert out.strip().endswith("2 messages from 2 file(s): 2 imported, 0 duplicates, 0 rejected, 0 failed.")
    assert err == ""
    assert Conversation.objects.filter(channel=channel).count() == 2
    assert Conversation.objects.filter(subject="Zwrot").exists()
    raw = RawInbound.objects.get(dedupe_key="<msg-1@example.org>")
    assert raw.headers["x-frontdesk-source"] == str(first)
    assert raw.state == "processed"


def test_importing_again_changes_nothing(channel, tmp_path):
    files = [write_eml(tmp_path, f"{n}.eml", message(n)) for n in range(3)]
    ingest(channel, *files)

    out, _err = ingest(channel, *files)

    assert "0 imported, 3 duplicates" in out
    assert Message.objects.filter(channel=channel).count() == 3
    assert RawInbound.objects.filter(channel=channel).count() == 3


def test_an_mbox_file_is_imported_message_by_message(channel, tmp_path):
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    for n in range(5):
        box.add(message(n))
    box.close()
    write_eml(tmp_path, "3.eml", message(3))  # also in the mbox

    out, _err = ingest(channel, tmp_path / "3.eml", path)

    assert "6 messages from 2 file(s): 5 imported, 1 duplicates" in out
    assert sorted(Message.objects.values_list("provider_id", flat=True)) == [
        f"<msg-{n}@example.org>" for n in range(5)
    ]
    assert (
        RawInbound.objects.get(dedupe_key="<msg-4@example.org>")
        .headers["x-frontdesk-source"]
        .endswith("archive.mbox#5")
    )


def test_a_folder_is_imported_with_every_eml_file_in_it(channel, tmp_path):
    (tmp_path / "2025").mkdir()
    write_eml(tmp_path / "2025", "a.eml", message("a"))
    write_eml(tmp_path, "b.eml", message("b"))
    write_eml(tmp_path, "notes.txt", b"not mail")

    out, _err = ingest(channel, tmp_path)

    assert "2 messages from 2 file(s): 2 imported" in out


def test_a_message_without_a_sender_is_rejected_with_the_reason_and_kept(channel, tmp_path):
    broken = write_eml(tmp_path, "broken.eml", b"Subject: no sender\r\nMessage-ID: <x@y>\r\n\r\nHello\r\n")

    out, err = ingest(channel, broken)

    assert "1 rejected" in out
    assert f"{broken}: rejected:" in err and "sender" in err
    raw = RawInbound.objects.get(channel=channel)
    assert raw.state == "rejected" and "sender" in raw.error
    assert bytes(raw.body).startswith(b"Subject: no sender")


def test_a_message_over_the_size_limit_is_rejected_without_storing_it(channel, tmp_path, settings):
    settings.FRONTDESK_EMAIL_MAX_BYTES = 1000
    big = write_eml(tmp_path, "big.eml", message(1, body=("x" * 70 + "\r\n") * 30))

    out, err = ingest(channel, big)

    assert "1 rejected" in out and "larger than the limit" in err
    assert RawInbound.objects.count() == 0


def test_with_queue_the_messages_are_stored_and_the_workers_process_them(channel, tmp_path):
    files = [write_eml(tmp_path, f"{n}.eml", message(n)) for n in range(2)]

    out, _err = ingest(channel, *files, options=("--queue",))

    assert "2 queued" in out
    assert Message.objects.count() == 0
    run_ready_tasks()
    assert Message.objects.filter(channel=channel).count() == 2


def test_the_channel_must_be_an_email_channel_of_this_installation(channel, api_channel, tmp_path):
    eml = write_eml(tmp_path, "1.eml", message(1))
    with pytest.raises(CommandError, match="No email channel with the id"):
        ingest(api_channel, eml)
    with pytest.raises(CommandError, match="no such file"):
        ingest(channel, tmp_path / "missing.eml")
    assert RawInbound.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # the command closes the database connection when done
def test_the_frontdesk_command_knows_it_as_ingest_eml(channel, tmp_path, capsys):
    eml = write_eml(tmp_path, "1.eml", message(1))

    frontdesk(["ingest-eml", "--channel", str(channel.pk), str(eml)])

    assert "1 imported" in capsys.readouterr().out
    assert Message.objects.filter(channel=channel).count() == 1


@pytest.mark.skipif(not CORPUS.exists(), reason="the email corpus is not there")
def test_the_whole_corpus_imports_and_a_second_import_finds_only_duplicates(channel):
    out, err = ingest(channel, CORPUS)

    counted = out.strip().splitlines()[-1]
    assert " 0 failed." in counted, err
    assert RawInbound.objects.filter(channel=channel, state__in=["received", "failed"]).count() == 0
    stored = RawInbound.objects.count()

    again, _err = ingest(channel, CORPUS)

    assert " 0 imported, " in again and " 0 rejected, " in again
    assert RawInbound.objects.count() == stored
