"""The crash test: a process receiving a few thousand emails over SMTP and IMAP is killed with
SIGKILL at random moments and started again; afterwards every message is stored exactly once.

A real `frontdesk worker --smtp …` process runs against the test database (as in production: the
receiver, the IMAP fetcher of the mailbox, a worker thread processing what was stored). The test
plays the world around it: a sending mail server that sends each message until it hears 250 (and
again after a dropped connection, as real servers do), a mail system delivering into the Dovecot
mailbox all along, and an operator's worst day: kill -9, restart, several times.

FRONTDESK_SKIP_CRASH_TEST=1 skips it on a developer machine; CI always runs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from frontdesk.desk.models import Channel, Conversation, Message, RawInbound
from tests.channels.email.dovecot import PASSWORD, Dovecot, free_port, message, needs_dovecot
from tests.database import database_url
from tests.factories import ChannelFactory

log = logging.getLogger(__name__)

SMTP_MESSAGES = int(os.environ.get("FRONTDESK_CRASH_TEST_SMTP", "1000"))
IMAP_PRELOADED = int(os.environ.get("FRONTDESK_CRASH_TEST_IMAP_PRELOADED", "300"))
IMAP_LIVE = int(os.environ.get("FRONTDESK_CRASH_TEST_IMAP_LIVE", "700"))
KILLS = int(os.environ.get("FRONTDESK_CRASH_TEST_KILLS", "8"))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_dovecot,
    pytest.mark.skipif(
        bool(os.environ.get("FRONTDESK_SKIP_CRASH_TEST")) and not os.environ.get("CI"),
        reason="FRONTDESK_SKIP_CRASH_TEST is set",
    ),
]


class Receiver:
    """`frontdesk worker --smtp 127.0.0.1:PORT` in a child process; killed and restarted by the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.smtp_port = free_port()
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "FRONTDESK_ENCRYPTION_KEY": settings.FRONTDESK_ENCRYPTION_KEY,
            "FRONTDESK_VAR_DIR": str(folder / "var"),
            "MEDIA_ROOT": str(folder / "media"),
            # A killed process's mailbox and tasks are taken over within seconds, not minutes.
            "FRONTDESK_MAILBOX_LEASE_SECONDS": "3",
            "FRONTDESK_WORKER_STALE_SECONDS": "3",
            "FRONTDESK_IMAP_RETRY_SECONDS": "0.2",
            "FRONTDESK_IMAP_RETRY_MAX_SECONDS": "1",
            "FRONTDESK_IMAP_TIMEOUT_SECONDS": "10",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.env.pop("FRONTDESK_TEST_DB_NAME", None)

    def start(self) -> None:
        self.starts += 1
        log_file = (self.folder / f"worker-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "frontdesk", "worker",
                "--threads", "1", "--interval", "0.1",
                "--smtp", f"127.0.0.1:{self.smtp_port}",
            ],
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log_file.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the worker did not start listening:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye (an OOM kill, a power cut of the process)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def logs(self) -> str:
        parts = []
        for path in sorted(self.folder.glob("worker-*.log")):
            parts.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts[-3:])


class Sender(threading.Thread):
    """A sending mail server: each message until it is answered 250; a dropped connection or a
    4xx answer means "send it again" (over a new connection, after a moment)."""

    def __init__(self, port: int, messages: list[bytes], rcpt: str, pace: float) -> None:
        super().__init__(name="smtp-sender", daemon=True)
        self.port, self.messages, self.rcpt, self.pace = port, messages, rcpt, pace
        self.accepted = 0
        self.retries = 0
        self.errors: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        client: smtplib.SMTP | None = None
        pending = list(self.messages)
        while pending and not self.stop_event.is_set():
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=15)
                    client.ehlo("mx.example.org")
                client.sendmail("jan@example.org", [self.rcpt], pending[0])
                pending.pop(0)
                self.accepted += 1
                time.sleep(self.pace)  # mail arrives over a while (pacing, not synchronisation)
            except (OSError, smtplib.SMTPException) as exc:
                self.retries += 1
                if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
                    self.errors.append(f"{exc.smtp_code} {exc.smtp_error!r}")  # would be a bounce
                    pending.pop(0)
                if client is not None:
                    with contextlib.suppress(OSError):
                        client.close()
                client = None
                self.stop_event.wait(0.05)  # a real server waits minutes; the receiver is back in seconds
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


class Deliverer(threading.Thread):
    """The mail system delivering into the IMAP mailbox while Frontdesk fetches it."""

    def __init__(self, dovecot: Dovecot, messages: list[bytes], pace: float) -> None:
        super().__init__(name="imap-deliverer", daemon=True)
        self.dovecot, self.messages, self.pace = dovecot, messages, pace
        self.delivered = 0
        self.error = ""

    def run(self) -> None:
        try:
            with self.dovecot.client(None) as box:
                for raw in self.messages:
                    box.append(raw, "INBOX")
                    self.delivered += 1
                    time.sleep(self.pace)  # spread over the run (pacing, not synchronisation)
        except Exception as exc:  # shown by the test's assertion
            self.error = f"{type(exc).__name__}: {exc}"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    (tmp_path / "var").mkdir()
    process = Receiver(tmp_path)
    yield process
    process.stop()


@pytest.fixture
def crash_dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    for n in range(IMAP_PRELOADED):  # in the mailbox before Frontdesk first connects
        server.drop(message(f"imap-{n}", to="imap@rowery.example"))
    server.start()
    yield server
    server.close()


def provider_ids(channel: Channel) -> list[str]:
    return list(Message.objects.filter(channel=channel).values_list("provider_id", flat=True))


def test_every_message_is_stored_exactly_once_however_often_the_process_is_killed(
    tenant, receiver, crash_dovecot
):
    seed = int(os.environ.get("FRONTDESK_CRASH_TEST_SEED") or time.time_ns() % 2**32)
    rng = random.Random(seed)  # the kill schedule; the seed is in every failure message
    smtp_channel = ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )
    imap_channel = ChannelFactory(
        tenant=tenant,
        kind="email",
        config=crash_dovecot.channel_config(address="imap@rowery.example", imap_backfill_days=3),
        inbound_address="imap@rowery.example",
        secrets={"imap_password": PASSWORD},
    )
    smtp_expected = {f"<msg-smtp-{n}@example.org>" for n in range(SMTP_MESSAGES)}
    imap_expected = {f"<msg-imap-{n}@example.org>" for n in range(IMAP_PRELOADED + IMAP_LIVE)}
    started = time.monotonic()

    receiver.start()
    sender = Sender(
        receiver.smtp_port,
        [message(f"smtp-{n}", to="support@rowery.example") for n in range(SMTP_MESSAGES)],
        "support@rowery.example",
        pace=0.01,
    )
    deliverer = Deliverer(
        crash_dovecot,
        [
            message(f"imap-{n}", to="imap@rowery.example")
            for n in range(IMAP_PRELOADED, IMAP_PRELOADED + IMAP_LIVE)
        ],
        pace=0.02,
    )
    sender.start()
    deliverer.start()

    kills: list[str] = []
    for kill in range(KILLS):
        # Random moments: the first ones while mail comes in (over 10-20 s), the later ones
        # more likely while the backlog is processed.
        time.sleep(rng.uniform(0.5, 2.5) if kill < KILLS * 5 // 8 else rng.uniform(1.0, 6.0))
        stored, processed = RawInbound.objects.count(), Message.objects.count()
        receiver.kill()
        kills.append(f"{time.monotonic() - started:.1f}s: {stored} stored, {processed} processed")
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0.0, 1.5))  # sometimes the process stays down a while
        receiver.start()

    sender.join(timeout=300)
    sender.stop_event.set()
    deliverer.join(timeout=60)
    details = f"seed {seed}; {'; '.join(kills)}\n{receiver.logs()}"
    assert not sender.is_alive() and sender.accepted == SMTP_MESSAGES, details
    assert sender.errors == [], details
    assert deliverer.error == "" and deliverer.delivered == IMAP_LIVE, details

    # Processing the backlog (a busy CI machine running other tests beside this one is slower).
    deadline = time.monotonic() + float(os.environ.get("FRONTDESK_CRASH_TEST_WAIT", "300"))
    while time.monotonic() < deadline:
        done = Message.objects.filter(channel__in=[smtp_channel, imap_channel]).count()
        # Also the payloads stored twice (the sender retried after a kill), processed (as
        # duplicates) by their own task after the message is there.
        pending = RawInbound.objects.filter(state__in=["received", "failed"]).exists()
        if done >= len(smtp_expected) + len(imap_expected) and not pending:
            break
        time.sleep(0.5)
    receiver.stop()
    elapsed = time.monotonic() - started

    smtp_ids, imap_ids = provider_ids(smtp_channel), provider_ids(imap_channel)
    assert len(smtp_ids) == len(set(smtp_ids)) and set(smtp_ids) == smtp_expected, details
    assert len(imap_ids) == len(set(imap_ids)) and set(imap_ids) == imap_expected, details
    # One conversation per message (nothing opened twice), nothing left unprocessed.
    assert Conversation.objects.filter(channel__in=[smtp_channel, imap_channel]).count() == len(
        smtp_expected
    ) + len(imap_expected)
    assert not RawInbound.objects.filter(state__in=["received", "failed", "rejected"]).exists(), details
    # The mailbox is as the mail system left it: every message there, none flagged or marked read.
    contents = crash_dovecot.contents()
    assert len(contents) == IMAP_PRELOADED + IMAP_LIVE
    assert all(flags == () for _mid, flags in contents)

    raws = RawInbound.objects.count()
    log.warning(
        "crash test: %d messages (%d SMTP, %d IMAP) in %.0f s, %d kills (at %s), %d raw copies stored "
        "(%d repeats dropped), %d SMTP resends, seed %s",
        len(smtp_expected) + len(imap_expected),
        len(smtp_expected),
        len(imap_expected),
        elapsed,
        len(kills),
        "; ".join(kills),
        raws,
        raws - len(smtp_expected) - len(imap_expected),
        sender.retries,
        seed,
    )
