"""Fetching an email channel's mailbox over IMAP: IDLE or polling, UID tracking, header-first dedupe.

Nothing on the server changes: the folder is opened read-only (EXAMINE) and bodies are fetched with
BODY.PEEK, so not even \\Seen is set. Only when the admin chose a folder to move imported mail to is
the folder opened read-write, and a message is moved only after it is committed here.

Where a mailbox stands is kept in MailboxState (per channel and folder): the folder's UIDVALIDITY and
the highest UID dealt with. A UID is marked done in the transaction that stores its message, so a
crash makes the fetcher fetch a message again (the repeat is dropped by its Message-ID), never skip
one. Before downloading a body the fetcher reads only the Message-ID header and skips what the
channel has stored already.

- First connection: the messages of the last `imap_backfill_days` (IMAP SEARCH SINCE), then every
  new one. After an outage: everything with a UID above the mark, however long it was.
- UIDVALIDITY changed (the folder was recreated): the folder is looked at again back to the backfill
  window or the last successful sync, whichever is earlier, deduplicated by Message-ID.
- Errors: the connection is made again after a wait that doubles up to a maximum; a mailbox that
  refuses the sign-in is tried again at the maximum, with the error on the channel for the admin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import random
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from imap_tools.utils import encode_folder

from frontdesk.desk.models import Channel, MailboxState

from .config import Config, Security
from .store import dedupe_key as content_key
from .store import header_message_id, store_message, stored_keys

log = structlog.get_logger(__name__)

# UIDs whose headers are read in one FETCH; bodies are fetched one at a time.
HEADER_CHUNK = 200
# IDLE is ended and started again at least this often, or at the channel's poll interval when
# shorter (RFC 2177 asks for less than 29 minutes; NAT boxes forget quiet connections sooner), and
# the folder is synced each time, as a safety net.
IDLE_RENEW_SECONDS = 300.0
# How often a waiting fetcher looks up from the socket (stop requests, its lease).
TICK_SECONDS = 1.0
# Mail that stayed in the folder although imported (a crash before the move): at most this many of
# the highest UIDs below the mark are looked at when a session starts.
LEFTOVER_WINDOW = 1000
# Channel.last_error written by the fetcher starts with this, so it clears only its own errors.
ERROR_PREFIX = "IMAP: "

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UNTAGGED_CHANGE = re.compile(rb"^\* (?:\d+ (?:EXISTS|EXPUNGE|RECENT|FETCH)|VANISHED)", re.IGNORECASE)


class FetchStopped(Exception):
    """The fetcher was asked to stop, or another process holds the mailbox now."""


class LoginFailed(Exception):
    """The server refused the sign-in (wrong password, revoked token): an admin must act."""


class FolderError(Exception):
    """The folder cannot be opened (it does not exist, or may not be read): an admin must act."""


@dataclass
class Counts:
    fetched: int = 0
    imported: int = 0
    duplicates: int = 0
    failed: int = 0

    def total(self) -> dict[str, int]:
        return {
            "fetched": self.fetched,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed": self.failed,
        }


@dataclass
class _Header:
    uid: int
    size: int
    key: str  # the Message-ID, "" when the message has none


def tls_context() -> ssl.SSLContext:
    """The system's CAs plus FRONTDESK_IMAP_CA_FILE; no verification only when an operator said so."""
    context = ssl.create_default_context()
    if settings.FRONTDESK_IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.FRONTDESK_IMAP_CA_FILE)
    if not settings.FRONTDESK_IMAP_VERIFY_TLS:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(config: Config) -> BaseMailBox:
    """An IMAP connection as the channel's security setting says; every socket read has a timeout."""
    timeout = settings.FRONTDESK_IMAP_TIMEOUT_SECONDS
    host, port = config.imap_host, config.imap_port
    if config.imap_security == Security.SSL:
        return MailBox(host, port, timeout=timeout, ssl_context=tls_context())
    if config.imap_security == Security.STARTTLS:
        return MailBoxStartTls(host, port, timeout=timeout, ssl_context=tls_context())
    return MailBoxUnencrypted(host, port, timeout=timeout)


class _XOAuth2:
    """imaplib's authobject for XOAUTH2: the token, then an empty answer to the server's error
    challenge (RFC 7628), after which the server says NO."""

    def __init__(self, initial: str) -> None:
        self.initial = initial.encode()
        self.sent = False

    def __call__(self, challenge: bytes | None = None) -> bytes:
        if self.sent:
            return b""
        self.sent = True
        return self.initial


def login(box: BaseMailBox, channel: Channel, config: Config) -> None:
    """Sign in with the channel's password or, for xoauth2, an access token from its refresh token."""
    from .oauth import OAuthError, access_token, xoauth2_string

    user = config.imap_username or config.address
    try:
        if config.imap_auth == "xoauth2":
            try:
                token = access_token(channel)
            except OAuthError as exc:
                if exc.permanent:
                    raise LoginFailed(exc.message) from None
                raise
            box.client.authenticate("XOAUTH2", _XOAuth2(xoauth2_string(user, token)))
            return
        password = str(channel.secrets.get("imap_password", ""))
        if not password:
            raise LoginFailed("The channel has no IMAP password")
        if user.isascii() and password.isascii():
            box.login(user, password, initial_folder=None)
        else:  # LOGIN takes ASCII only; SASL PLAIN carries UTF-8
            box.client.authenticate("PLAIN", lambda _challenge: f"\0{user}\0{password}".encode())
    except MailboxLoginError as exc:
        raise LoginFailed(
            f"The server refused the sign-in of {user}: {_answer(exc.command_result)}"
        ) from None
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        if config.imap_auth == "xoauth2":
            # The next attempt asks for a fresh token instead of offering the refused one again.
            from .oauth import forget_token

            forget_token(channel)
        raise LoginFailed(f"The server refused the sign-in of {user}: {exc}") from None


def _answer(result: tuple[object, object]) -> str:
    data = result[1]
    parts = data if isinstance(data, list) else [data]
    return " ".join(p.decode(errors="replace") if isinstance(p, bytes) else str(p) for p in parts)[:300]


def _check(result: tuple[str, Any], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {typ} {_answer((typ, data))}")
    return data


def _uids(data: list[Any]) -> list[int]:
    if not data or not isinstance(data[0], bytes):
        return []
    return sorted({int(x) for x in data[0].split() if x.isdigit()})


def _capabilities(box: BaseMailBox) -> set[str]:
    """After sign-in the server may announce more than in its greeting."""
    try:
        data = _check(box.client.capability(), "CAPABILITY")
        return {c.upper() for c in b" ".join(d for d in data if isinstance(d, bytes)).decode().split()}
    except imaplib.IMAP4.error:
        return {str(c).upper() for c in box.client.capabilities}


class ImapFetcher:
    """Fetches one channel's folder. `run()` until stopped (a thread per mailbox, see pollers.py);
    `sync_once()` for one connection's worth (commands, tests).

    `keepalive` is called at least every TICK_SECONDS while the fetcher works or waits; when it
    returns False (the process lost the mailbox's lease) the fetcher stops.
    """

    def __init__(
        self,
        channel: Channel | int,
        *,
        stop: threading.Event | None = None,
        keepalive: Callable[[], bool] | None = None,
    ) -> None:
        self.channel_id = channel.pk if isinstance(channel, Channel) else int(channel)
        self.stop_event = stop or threading.Event()
        self.keepalive = keepalive
        self.failures = 0
        # What the server supports, as announced after the sign-in.
        self.capabilities: set[str] = set()
        # How many sessions signed in, and syncs done (for tests and the log).
        self.sessions = 0
        self.syncs = 0
        # In a thread of its own (run()) the fetcher drops stale database connections; in the
        # caller's thread (sync_once()) the connection is the caller's business.
        self._own_thread = False
        # How many messages the folder held at the last sync's SELECT.
        self._selected_exists: int | None = None

    # --- Public -------------------------------------------------------------------------------------

    def sync_once(self) -> Counts:
        """Connect, sign in, fetch what is new, sign out. Errors are recorded, then raised."""
        try:
            channel, config = self._load()
            box = self._open(channel, config)
            try:
                counts = self._sync(box, channel, config, session_start=True)
            finally:
                self._close(box)
            self._clear_channel_error(channel)
            return counts
        except FetchStopped:
            raise
        except Exception as exc:
            self._record_failure(exc)
            raise

    def run(self) -> None:
        """Fetch until stopped: IDLE (or poll), reconnect with backoff after errors."""
        log.info("imap.fetcher_started", channel=self.channel_id)
        self._own_thread = True
        try:
            while not self.stop_event.is_set():
                try:
                    self._session()
                except FetchStopped:
                    break
                except Exception as exc:
                    self.failures += 1
                    self._record_failure(exc)
                    try:
                        self._sleep(self._backoff(exc))
                    except FetchStopped:
                        break
        finally:
            log.info("imap.fetcher_stopped", channel=self.channel_id)
            connection.close()

    def stop(self) -> None:
        self.stop_event.set()

    # --- One session --------------------------------------------------------------------------------

    def _load(self) -> tuple[Channel, Config]:
        self._fresh_db()
        channel = Channel.objects.select_related("tenant").get(pk=self.channel_id)
        return channel, Config.model_validate(channel.config)

    def _open(self, channel: Channel, config: Config) -> BaseMailBox:
        self._tick()
        box = connect(config)
        try:
            login(box, channel, config)
        except BaseException:
            self._close(box)
            raise
        self.sessions += 1
        self.capabilities = _capabilities(box)
        return box

    @staticmethod
    def _clear_channel_error(channel: Channel) -> None:
        """The mailbox works again: the fetcher's error goes from the channel (others' stay)."""
        if channel.last_error.startswith(ERROR_PREFIX):
            Channel.objects.filter(pk=channel.pk, last_error=channel.last_error).update(
                last_error="", last_error_at=None
            )

    @staticmethod
    def _close(box: BaseMailBox) -> None:
        try:
            if box.client.state == "LOGOUT":  # the server said BYE: nothing to wait for
                raise ConnectionError("closed")
            box.client.logout()
        except Exception:  # the connection is gone already; nothing to tell the server
            with contextlib.suppress(Exception):
                box.client.shutdown()

    def _session(self) -> None:
        channel, config = self._load()
        box = self._open(channel, config)
        try:
            idle = config.imap_idle and "IDLE" in self.capabilities
            session_start = True
            while True:
                self._sync(box, channel, config, session_start=session_start)
                if session_start:
                    self._clear_channel_error(channel)
                session_start = False
                self.failures = 0
                if idle:
                    self._idle(box, min(IDLE_RENEW_SECONDS, float(config.imap_poll_seconds)))
                else:
                    self._sleep(config.imap_poll_seconds)
                    _check(box.client.noop(), "NOOP")
        finally:
            self._close(box)

    def _mail_announced(self, client: imaplib.IMAP4) -> bool:
        """Has the server counted more messages since SELECT than it counted then, less those
        expunged since (our own moves)? Compared by number, not by the mere announcement: some
        servers repeat EXISTS with every answer, and syncing on each would never stop."""
        responses = client.untagged_responses
        latest = _number(responses.get("EXISTS"))
        if latest is None:
            return False
        if self._selected_exists is None:  # (SELECT must count them: RFC 3501 6.3.1)
            return True
        return latest > self._selected_exists - len(responses.get("EXPUNGE", []))

    def _idle(self, box: BaseMailBox, seconds: float) -> None:
        """Wait in IDLE until the server reports a change, or `seconds` passed (then the folder is
        synced and IDLE started again: a check that the connection and the server still work)."""
        client = box.client
        box.idle.start()
        connected = True
        try:
            # Mail the server told of since the sync's SELECT (with the answers to the sync's own
            # commands, or as IDLE started) may have come after the sync's SEARCH: look again.
            if self._mail_announced(client):
                return
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                self._tick()
                try:
                    line = _read_line(client, TICK_SECONDS)
                except (imaplib.IMAP4.abort, OSError):
                    connected = False
                    raise
                if line is None:
                    continue
                if line.upper().startswith(b"* BYE"):
                    connected = False
                    raise imaplib.IMAP4.abort(f"The server closed the connection: {line[:200]!r}")
                if _UNTAGGED_CHANGE.match(line):
                    return
                # Anything else ("* OK Still here") only keeps the connection alive.
        finally:
            if connected:  # (a dead connection would only make DONE wait for its timeout)
                box.idle.stop()

    # --- Sync ---------------------------------------------------------------------------------------

    def _select(self, box: BaseMailBox, folder: str, *, writable: bool) -> tuple[int, int | None]:
        client = box.client
        typ, data = client.select(_folder(folder), readonly=not writable)
        if typ != "OK":
            raise FolderError(f"The folder {folder} cannot be opened: {_answer((typ, data))}")
        responses = client.untagged_responses
        validity = _number(responses.get("UIDVALIDITY")) or 0
        uidnext = _number(responses.get("UIDNEXT"))
        return validity, uidnext

    def _sync(self, box: BaseMailBox, channel: Channel, config: Config, *, session_start: bool) -> Counts:
        self._tick()
        self._fresh_db()
        folder = config.imap_folder
        move_to = config.imap_move_to.strip()
        if session_start and move_to and not box.folder.exists(move_to):
            box.folder.create(move_to)
        validity, uidnext = self._select(box, folder, writable=bool(move_to))
        # What SELECT counted, this sync looks at; what is announced from now on is kept for
        # _idle, which then syncs again rather than wait for news the server has given already.
        self._selected_exists = _number(box.client.untagged_responses.pop("EXISTS", None))
        box.client.untagged_responses.pop("EXPUNGE", None)
        state, _created = MailboxState.objects.get_or_create(channel=channel, folder=folder)
        counts = Counts()
        now = timezone.now()
        if not validity:
            raise imaplib.IMAP4.error(f"The server gave no UIDVALIDITY for {folder}")
        try:
            self._sync_folder(box, channel, config, state, validity, uidnext, counts, session_start, now)
        except BaseException:
            # What was imported before the error counts in the log all the same.
            with contextlib.suppress(Exception):
                MailboxState.objects.filter(pk=state.pk).update(counts=_added(state.counts, counts))
            raise
        finished = timezone.now()
        state.last_sync_at = finished
        state.last_success_at = finished
        state.counts = _added(state.counts, counts)
        state.save(
            update_fields=[
                "uidvalidity",
                "last_uid",
                "backfill_done",
                "last_sync_at",
                "last_success_at",
                "counts",
                "last_error",
                "last_error_at",
            ]
        )
        self.syncs += 1
        if counts.imported or counts.failed:
            log.info("imap.synced", channel=channel.pk, folder=folder, **counts.total())
        return counts

    def _sync_folder(
        self,
        box: BaseMailBox,
        channel: Channel,
        config: Config,
        state: MailboxState,
        validity: int,
        uidnext: int | None,
        counts: Counts,
        session_start: bool,
        now: dt.datetime,
    ) -> None:
        """Import what is new (UIDs above the mark), or look at the folder again (first connection,
        UIDVALIDITY changed); moves the mark in `state`."""
        folder, move_to = state.folder, config.imap_move_to.strip()
        if state.uidvalidity == validity:
            if session_start and move_to:
                self._move_leftovers(box, channel, state, move_to)
            data = _check(box.client.uid("SEARCH", "UID", f"{state.last_uid + 1}:*"), "SEARCH")
            # "n:*" always includes the highest UID, even one below n.
            new = [uid for uid in _uids(data) if uid > state.last_uid]
            self._import(box, channel, state, validity, new, counts, move_to=move_to, mark=True)
        else:
            if uidnext is None:
                all_uids = _uids(_check(box.client.uid("SEARCH", "ALL"), "SEARCH"))
                uidnext = (all_uids[-1] + 1) if all_uids else 1
            since = self._scan_since(state, config, now)
            if since is None:
                candidates: list[int] = []
            else:
                criteria = f"SINCE {_imap_date(since)}"
                candidates = _uids(_check(box.client.uid("SEARCH", criteria), "SEARCH"))
            if state.uidvalidity is not None:
                log.warning(
                    "imap.uidvalidity_changed",
                    channel=channel.pk,
                    folder=folder,
                    old=state.uidvalidity,
                    new=validity,
                    rescan=len(candidates),
                )
            self._import(box, channel, state, validity, candidates, counts, move_to=move_to, mark=False)
            # Everything below UIDNEXT at SELECT time was looked at (what the window left out stays
            # unimported on purpose); anything newer has a higher UID and comes next time.
            state.uidvalidity = validity
            state.last_uid = max([uidnext - 1, *candidates])
            state.backfill_done = True

    @staticmethod
    def _scan_since(state: MailboxState, config: Config, now: dt.datetime) -> dt.date | None:
        """How far back to look when UIDs cannot be trusted: the backfill window on the first
        connection; after a UIDVALIDITY change also back to the last successful sync."""
        window = (
            (now - dt.timedelta(days=config.imap_backfill_days)).date() if config.imap_backfill_days else None
        )
        if state.uidvalidity is None or state.last_success_at is None:
            return window
        since_success = (state.last_success_at - dt.timedelta(days=1)).date()
        return min(since_success, window) if window else since_success

    def _headers(self, box: BaseMailBox, uids: list[int]) -> dict[int, _Header]:
        """Size and Message-ID of each UID, without downloading (or marking) the messages."""
        if not uids:
            return {}
        data = _check(
            box.client.uid(
                "FETCH", _uid_set(uids), "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
            ),
            "FETCH",
        )
        found: dict[int, _Header] = {}
        for meta, literal in _fetch_responses(data):
            uid, size = _UID.search(meta), _SIZE.search(meta)
            if uid is not None:
                number = int(uid.group(1))
                found[number] = _Header(number, int(size.group(1)) if size else 0, header_message_id(literal))
        wanted = set(uids)
        return {uid: h for uid, h in found.items() if uid in wanted}

    def _body(self, box: BaseMailBox, uid: int) -> bytes | None:
        """The whole message, as the server keeps it; None when it is gone (expunged meanwhile)."""
        data = _check(box.client.uid("FETCH", str(uid), "(UID BODY.PEEK[])"), "FETCH")
        literals = []
        for meta, literal in _fetch_responses(data):
            match = _UID.search(meta)
            if match is not None and int(match.group(1)) != uid:
                continue  # an unsolicited response about another message
            if b"BODY[]" in meta.upper():
                return literal
            literals.append(literal)
        # A server naming the section differently still sent one literal: the message.
        return literals[0] if len(literals) == 1 and literals[0] else None

    def _import(
        self,
        box: BaseMailBox,
        channel: Channel,
        state: MailboxState,
        validity: int,
        uids: list[int],
        counts: Counts,
        *,
        move_to: str,
        mark: bool,
    ) -> None:
        """Store the messages of `uids` that the channel lacks. With `mark`, the UID mark follows
        each stored message in its transaction (the UIDs are then all above the mark)."""
        for start in range(0, len(uids), HEADER_CHUNK):
            chunk = uids[start : start + HEADER_CHUNK]
            self._tick()
            headers = self._headers(box, chunk)
            known = stored_keys(channel, (h.key for h in headers.values()))
            done: list[int] = []  # in the channel now: may be moved
            try:
                for uid in chunk:
                    self._tick()
                    if self._import_one(
                        box, channel, state, validity, uid, headers.get(uid), known, counts, mark
                    ):
                        done.append(uid)
            except BaseException:
                if move_to and done:
                    # What is stored goes where the admin wants it even so, if the server lets us.
                    with contextlib.suppress(Exception):
                        self._move(box, done, move_to)
                raise
            if mark and chunk:
                # Duplicates, messages gone or too large: dealt with, so past the mark too.
                _mark(state, chunk[-1])
            if move_to and done:
                self._move(box, done, move_to)

    def _import_one(
        self,
        box: BaseMailBox,
        channel: Channel,
        state: MailboxState,
        validity: int,
        uid: int,
        header: _Header | None,
        known: set[str],
        counts: Counts,
        mark: bool,
    ) -> bool:
        """Store one message unless the channel has it. True when the channel has it now."""
        if header is None:
            # Not in the header answer: expunged since the search, or an answer we could not read.
            # The body decides; a message is never skipped only because its header was unreadable.
            header = _Header(uid, 0, "")
        if header.key and header.key in known:
            counts.duplicates += 1
            return True
        limit = settings.FRONTDESK_EMAIL_MAX_BYTES
        if header.size > limit:
            counts.failed += 1
            self._note_problem(
                state,
                f"The message with UID {uid} ({header.size // 1024} KiB) is larger than the limit "
                f"of {limit // 1024} KiB; it stays on the server.",
            )
            return False
        raw = self._body(box, uid)
        if raw is None:
            return False
        counts.fetched += 1
        key = header.key or content_key(raw)
        if not header.key and stored_keys(channel, [key]):
            counts.duplicates += 1
            return True
        store_message(
            channel,
            raw,
            key=key,
            headers={
                "x-frontdesk-imap-folder": state.folder,
                "x-frontdesk-imap-uid": str(uid),
                "x-frontdesk-imap-uidvalidity": str(validity),
            },
            also=(lambda: _mark(state, uid)) if mark else None,
        )
        known.add(key)
        counts.imported += 1
        return True

    def _move_leftovers(self, box: BaseMailBox, channel: Channel, state: MailboxState, move_to: str) -> None:
        """Move what was imported but is still in the folder (the process died before moving it)."""
        if state.last_uid < 1:
            return
        below = _uids(_check(box.client.uid("SEARCH", "UID", f"1:{state.last_uid}"), "SEARCH"))
        below = [uid for uid in below if uid <= state.last_uid][-LEFTOVER_WINDOW:]
        for start in range(0, len(below), HEADER_CHUNK):
            headers = self._headers(box, below[start : start + HEADER_CHUNK])
            known = stored_keys(channel, (h.key for h in headers.values()))
            imported = [h.uid for h in headers.values() if h.key and h.key in known]
            if imported:
                self._move(box, imported, move_to)

    def _move(self, box: BaseMailBox, uids: list[int], folder: str) -> None:
        """Move imported messages (only ever called after they are committed here)."""
        client, uid_set = box.client, _uid_set(uids)
        if "MOVE" in self.capabilities:
            _check(client.uid("MOVE", uid_set, _folder(folder)), "MOVE")
            return
        _check(client.uid("COPY", uid_set, _folder(folder)), "COPY")
        _check(client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if "UIDPLUS" in self.capabilities:
            # Only these messages: others the user marked as deleted stay as they are.
            _check(client.uid("EXPUNGE", uid_set), "EXPUNGE")
        else:
            _check(client.expunge(), "EXPUNGE")

    # --- Waiting, errors ----------------------------------------------------------------------------

    def _fresh_db(self) -> None:
        if self._own_thread:
            close_old_connections()

    def _tick(self) -> None:
        if self.stop_event.is_set():
            raise FetchStopped()
        if self.keepalive is not None and not self.keepalive():
            self.stop_event.set()
            raise FetchStopped()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._tick()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop_event.wait(min(TICK_SECONDS, left))

    def _backoff(self, exc: BaseException) -> float:
        longest = settings.FRONTDESK_IMAP_RETRY_MAX_SECONDS
        if isinstance(exc, LoginFailed):
            return longest  # a refused password does not get better by asking often
        delay = min(longest, settings.FRONTDESK_IMAP_RETRY_SECONDS * 2 ** min(self.failures - 1, 16))
        return delay * random.uniform(0.8, 1.0)  # noqa: S311  # spreads reconnects, no secret

    def _note_problem(self, state: MailboxState, message: str) -> None:
        state.last_error = message[:2000]
        state.last_error_at = timezone.now()
        log.warning("imap.problem", channel=self.channel_id, folder=state.folder, error=message)

    def _record_failure(self, exc: BaseException) -> None:
        """Into the mailbox's log; onto the channel too when an admin must act (or it persists)."""
        message = _describe(exc)
        log.warning("imap.failed", channel=self.channel_id, error=message, failures=self.failures)
        try:
            self._fresh_db()
            channel = Channel.objects.filter(pk=self.channel_id).first()
            if channel is None:
                return
            folder = str(channel.config.get("imap_folder") or "INBOX")
            now = timezone.now()
            with transaction.atomic():
                state, _created = MailboxState.objects.get_or_create(channel=channel, folder=folder)
                state.last_error = message[:2000]
                state.last_error_at = now
                state.last_sync_at = now
                state.save(update_fields=["last_error", "last_error_at", "last_sync_at"])
                if _needs_admin(exc) or self.failures >= 3:
                    Channel.objects.filter(pk=channel.pk).update(
                        last_error=(ERROR_PREFIX + message)[:2000], last_error_at=now
                    )
        except Exception:
            log.exception("imap.recording_failed", channel=self.channel_id)


def _fetch_responses(data: list[Any]) -> list[tuple[bytes, bytes]]:
    """imaplib's FETCH data → (response text, literal) per message. Literals come as tuples
    (text before the literal, literal); the rest of a response (") ", " UID 5)": some servers name
    the UID after the literal) as bytes; a response without a literal (a NIL section) as bytes."""
    responses: list[tuple[bytes, bytes]] = []
    for item in data:
        if isinstance(item, tuple):
            responses.append((bytes(item[0]), bytes(item[1])))
        elif isinstance(item, bytes):
            if re.match(rb"^\d+ \(", item):
                responses.append((item, b""))
            elif responses:
                meta, literal = responses[-1]
                responses[-1] = (meta + b" " + item, literal)
    return responses


def _mark(state: MailboxState, uid: int) -> None:
    if uid > state.last_uid:
        state.last_uid = uid
        MailboxState.objects.filter(pk=state.pk).update(last_uid=uid)


def _added(total: dict[str, int] | None, counts: Counts) -> dict[str, int]:
    result = dict(total or {})
    for name, value in counts.total().items():
        result[name] = int(result.get(name, 0) or 0) + value
    return result


def _imap_date(day: dt.date) -> str:
    """23-Nov-2026 (IMAP's date, with English month names whatever the locale)."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{day.day}-{months[day.month - 1]}-{day.year}"


def _folder(name: str) -> Any:
    """A folder name as IMAP wants it (modified UTF-7, quoted); imaplib sends bytes as they are."""
    return encode_folder(name)


def _number(values: Any) -> int | None:
    """The last of an untagged response's values as a number (UIDVALIDITY, UIDNEXT)."""
    if not values or not isinstance(values[-1], bytes) or not values[-1].strip().isdigit():
        return None
    return int(values[-1])


def _uid_set(uids: Iterable[int]) -> str:
    """1,2,3,7,8 → "1:3,7:8" (short commands for long runs)."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            ranges.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


def _buffered(client: imaplib.IMAP4) -> bool:
    """Whether a response was read from the socket already (so select() would not see it)."""
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    old = sock.gettimeout()
    sock.settimeout(0)
    try:
        file: Any = client.file
        return bool(file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(old)


def _read_line(client: imaplib.IMAP4, timeout: float) -> bytes | None:
    """The next response line, or None when nothing came within `timeout`."""
    if not _buffered(client) and not select.select([client.sock], [], [], timeout)[0]:
        return None
    return client._get_line()  # type: ignore[attr-defined]  # raises abort on EOF


def _needs_admin(exc: BaseException) -> bool:
    return isinstance(exc, LoginFailed | FolderError | ssl.SSLError | socket.gaierror)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LoginFailed | FolderError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The server's certificate was not accepted: {exc.verify_message or exc}"
    if isinstance(exc, TimeoutError):
        return f"The server did not answer within {settings.FRONTDESK_IMAP_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "The server refused the connection (is the host and port right?)"
    if isinstance(exc, socket.gaierror):
        return f"The server's name could not be resolved: {exc}"
    return f"{type(exc).__name__}: {exc}"[:2000]
