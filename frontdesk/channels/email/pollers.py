"""Running the IMAP fetchers of every enabled email channel, one process per mailbox at a time.

`frontdesk serve` and `frontdesk worker` each run a MailboxPollers thread. It looks at the channels
every few seconds and starts a fetcher thread (imap.ImapFetcher) for each email channel with IMAP
on that no other process is fetching: a mailbox belongs to whoever holds its lease ("mailbox:<id>",
desk.worker.runner.acquire_lease). The fetcher renews the lease while it works; a process that dies
stops renewing, and another one takes the mailbox over when the lease runs out. A channel whose
settings or secrets change is restarted with the new ones; a disabled or deleted one is stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.db import close_old_connections, connection

from frontdesk.desk.models import Channel, Lease
from frontdesk.desk.worker.runner import acquire_lease, new_worker_id

from .imap import ImapFetcher

log = structlog.get_logger(__name__)


def lease_name(channel_id: int) -> str:
    return f"mailbox:{channel_id}"


def fingerprint(channel: Channel) -> str:
    """Changes when anything the fetcher uses changes (settings, password, tokens)."""
    data = json.dumps(channel.config, sort_keys=True) + "\0" + channel.secrets_encrypted
    return hashlib.sha256(data.encode()).hexdigest()


def fetched_channels() -> dict[int, str]:
    """The channels whose mailbox should be fetched now, with their fingerprints."""
    channels = Channel.objects.filter(kind="email", disabled=False, config__imap_enabled=True).only(
        "id", "config", "secrets_encrypted"
    )
    return {channel.pk: fingerprint(channel) for channel in channels}


@dataclass
class _Running:
    fetcher: ImapFetcher
    thread: threading.Thread
    fingerprint: str
    stop: threading.Event = field(default_factory=threading.Event)


class MailboxPollers(threading.Thread):
    """Keeps one fetcher thread per mailbox this process holds the lease of."""

    def __init__(self, stop: threading.Event, *, scan_seconds: float | None = None) -> None:
        super().__init__(name="mailbox-pollers", daemon=True)
        self.stop_event = stop
        self.holder = new_worker_id("imap")
        self.lease_seconds = float(settings.FRONTDESK_MAILBOX_LEASE_SECONDS)
        # Often enough to take over a dead process's mailbox soon after its lease ran out.
        self.scan_seconds = scan_seconds or max(0.2, min(10.0, self.lease_seconds / 3))
        self.running: dict[int, _Running] = {}
        self._lock = threading.Lock()

    def run(self) -> None:
        log.info("imap.pollers_started", holder=self.holder)
        try:
            while not self.stop_event.is_set():
                try:
                    self.scan()
                except Exception:
                    log.exception("imap.pollers_scan_failed")
                finally:
                    close_old_connections()
                self.stop_event.wait(self.scan_seconds)
        finally:
            self.stop_all()
            connection.close()

    def scan(self) -> None:
        """Start, restart and stop fetchers to match the channels."""
        wanted = fetched_channels()
        with self._lock:
            for channel_id, running in list(self.running.items()):
                if not running.thread.is_alive() or wanted.get(channel_id) != running.fingerprint:
                    running.stop.set()
                    if running.thread.is_alive():
                        continue  # it stops at its next tick, then releases its lease
                    del self.running[channel_id]
            for channel_id, print_ in wanted.items():
                if channel_id in self.running or self.stop_event.is_set():
                    continue
                if not acquire_lease(lease_name(channel_id), self.holder, self.lease_seconds):
                    continue
                self._start(channel_id, print_)

    def _start(self, channel_id: int, print_: str) -> None:
        stop = threading.Event()
        name = lease_name(channel_id)
        tried_at = renewed_at = time.monotonic()

        def keepalive() -> bool:
            """Renew the lease every quarter of its time; False once another process has it."""
            nonlocal tried_at, renewed_at
            if self.stop_event.is_set():
                return False
            now = time.monotonic()
            if now - tried_at < self.lease_seconds / 4:
                return True
            tried_at = now
            try:
                if not acquire_lease(name, self.holder, self.lease_seconds):
                    return False
            except Exception:
                log.exception("imap.lease_renewal_failed", channel=channel_id)
                # The database is away: go on only while the lease surely is still ours.
                return now - renewed_at < self.lease_seconds / 2
            renewed_at = now
            return True

        fetcher = ImapFetcher(channel_id, stop=stop, keepalive=keepalive)

        def work() -> None:
            try:
                fetcher.run()
            finally:
                try:
                    Lease.objects.filter(name=name, holder=self.holder).delete()
                except Exception:
                    log.exception("imap.lease_release_failed", channel=channel_id)
                finally:
                    connection.close()

        thread = threading.Thread(target=work, name=f"imap-{channel_id}", daemon=True)
        self.running[channel_id] = _Running(fetcher, thread, print_, stop)
        thread.start()
        log.info("imap.fetcher_assigned", channel=channel_id, holder=self.holder)

    def stop_all(self, timeout: float = 10.0) -> None:
        with self._lock:
            for running in self.running.values():
                running.stop.set()
            deadline = time.monotonic() + timeout
            for running in self.running.values():
                running.thread.join(max(0.0, deadline - time.monotonic()))
            self.running.clear()
