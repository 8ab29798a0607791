"""The built-in SMTP and LMTP receiver (aiosmtpd): a shop points its MX or a forwarding rule here.

`frontdesk serve --smtp 0.0.0.0:2525` (or `--lmtp HOST:PORT` behind a local MTA such as Postfix).
It accepts a recipient only when an enabled email channel receives mail for it (its address, or
that address with a +tag: support+anything@ → support@) and has "Accept mail on the built-in SMTP
server" on; anyone else gets 550. The size limit (FRONTDESK_EMAIL_MAX_BYTES) is announced with EHLO
SIZE and enforced with 552. The message is committed — one RawInbound per channel, with the
envelope in its headers — before the sender gets 250; the processing runs afterwards in a worker,
so the SMTP session stays short. With LMTP each recipient gets its own answer.

The server is asyncio; every database call runs in a small thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, transaction

from frontdesk.desk.models import Channel

from .addresses import base_address
from .store import dedupe_key, store_message

log = structlog.get_logger(__name__)

T = TypeVar("T")


def channels_for(address: str) -> list[Channel]:
    """The enabled email channels receiving mail for `address` over the built-in server."""
    address = address.strip().lower()
    if "@" not in address:
        return []
    base = base_address(address)
    found = list(
        Channel.objects.filter(
            kind="email", disabled=False, inbound_address__in={address, base}
        ).select_related("tenant")
    )
    found = [c for c in found if c.config.get("smtp_receive", True)]
    # A channel of its own for support+orders@ wins over the one for support@.
    exact = [c for c in found if c.inbound_address.lower() == address]
    return exact or found


def parse_listen(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """ "0.0.0.0:2525", "[::]:25", ":2525" or "2525" → (host, port)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep:
        host, port = default_host, value.strip()
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Not a HOST:PORT: {value!r}")
    return host, int(port)


class Handler:
    """aiosmtpd hooks. RCPT: is it ours? DATA: commit, then answer."""

    def __init__(self, *, lmtp: bool, executor: concurrent.futures.Executor) -> None:
        self.lmtp = lmtp
        self.executor = executor

    async def _db(self, func: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            close_old_connections()
            try:
                return func(*args)
            finally:
                close_old_connections()

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            channels = await self._db(channels_for, address)
        except Exception:
            log.exception("smtpd.lookup_failed", rcpt=address)
            return "451 4.3.0 Temporary failure, please try again later"
        if not channels:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        assert isinstance(raw, bytes)
        if len(raw) > settings.FRONTDESK_EMAIL_MAX_BYTES:  # aiosmtpd checks this too
            return "552 5.3.4 Message too big"
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        mail_from = str(envelope.mail_from or "")
        helo = str(session.host_name or "")
        rcpts = list(envelope.rcpt_tos)
        if self.lmtp:
            answers = []
            stored_for: set[int] = set()
            for rcpt in rcpts:
                answers.append(await self._store_lmtp(raw, rcpt, mail_from, helo, peer, stored_for))
            return "\r\n".join(answers)
        try:
            ids = await self._db(_store_for_all, raw, rcpts, mail_from, helo, peer)
        except Exception:
            log.exception("smtpd.store_failed", rcpts=rcpts)
            return "451 4.3.0 Temporary failure, please try again later"
        if not ids:
            return "554 5.1.1 No valid recipients"
        return "250 2.0.0 OK: stored"  # (row ids would tell strangers how much mail the desk gets)

    async def _store_lmtp(
        self, raw: bytes, rcpt: str, mail_from: str, helo: str, peer: str, stored_for: set[int]
    ) -> str:
        try:
            ids = await self._db(_store_for_all, raw, [rcpt], mail_from, helo, peer, stored_for)
        except Exception:
            log.exception("smtpd.store_failed", rcpts=[rcpt])
            return f"451 4.3.0 <{rcpt}>: temporary failure, please try again later"
        if ids is None:
            return f"550 5.1.1 <{rcpt}>: no such mailbox here"
        return f"250 2.0.0 <{rcpt}>: OK"


def _store_for_all(
    raw: bytes,
    rcpts: list[str],
    mail_from: str,
    helo: str,
    peer: str,
    stored_for: set[int] | None = None,
) -> list[int] | None:
    """Commit the message once per channel among the recipients: for all of them, or (an error
    raises, the sender is told to try again) for none. None when no recipient is ours (any more).

    `stored_for`: channels that got this message already in this transaction of the sender (LMTP
    answers per recipient: support@ and support+x@ in one message make one copy, two answers)."""
    stored_for = set() if stored_for is None else stored_for
    routes: dict[int, tuple[Channel, list[str]]] = {}
    for rcpt in rcpts:
        for channel in channels_for(rcpt):
            routes.setdefault(channel.pk, (channel, []))[1].append(rcpt)
    if not routes:
        return None
    key = dedupe_key(raw)
    ids: list[int] = []
    with transaction.atomic():
        for channel, channel_rcpts in routes.values():
            if channel.pk in stored_for:
                continue
            headers = {
                # Where the message was addressed in the envelope (the parser reads signed reply
                # addresses here too: a Bcc or a forwarding rule leaves no trace in To/Cc).
                "x-frontdesk-rcpt": ", ".join(channel_rcpts),
                "x-frontdesk-mail-from": mail_from,
                "x-frontdesk-helo": helo,
            }
            ids.append(store_message(channel, raw, key=key, headers=headers, remote_addr=peer).pk)
    stored_for.update(routes)
    if ids:
        log.info("smtpd.stored", raws=ids, rcpts=rcpts, peer=peer)
    return ids


class _Controller(Controller):
    def __init__(self, handler: Handler, *, lmtp: bool, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return (LMTP if self.lmtp else SMTP)(self.handler, **self.SMTP_kwargs)


def _tls_context() -> ssl.SSLContext | None:
    if not (settings.FRONTDESK_SMTPD_TLS_CERT_FILE and settings.FRONTDESK_SMTPD_TLS_KEY_FILE):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.FRONTDESK_SMTPD_TLS_CERT_FILE, settings.FRONTDESK_SMTPD_TLS_KEY_FILE)
    return context


def server_name() -> str:
    return settings.FRONTDESK_BASE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "frontdesk"


class SmtpReceiver:
    """The receiver on one address, in a thread of its own (its asyncio loop)."""

    def __init__(self, host: str, port: int, *, lmtp: bool = False, db_threads: int = 4) -> None:
        self.host, self.port, self.lmtp = host, port, lmtp
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=db_threads, thread_name_prefix="lmtp-db" if lmtp else "smtp-db"
        )
        tls = _tls_context()
        kwargs: dict[str, Any] = {
            "hostname": host,
            "port": port,
            "server_hostname": server_name(),
            "data_size_limit": settings.FRONTDESK_EMAIL_MAX_BYTES,
            "enable_SMTPUTF8": True,
            "decode_data": False,
            "ident": "Frontdesk",
            # A sender silent for this long is dropped (RFC 5321 asks for minutes, not hours).
            "timeout": 300,
        }
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=False)
        self.controller = _Controller(Handler(lmtp=lmtp, executor=self.executor), lmtp=lmtp, **kwargs)

    @property
    def protocol(self) -> str:
        return "LMTP" if self.lmtp else "SMTP"

    def start(self) -> SmtpReceiver:
        self.controller.start()
        log.info("smtpd.listening", protocol=self.protocol, host=self.host, port=self.port)
        return self

    def stop(self) -> None:
        try:
            self.controller.stop()
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)


def add_receiver_arguments(parser: Any) -> None:
    """--smtp / --lmtp of `frontdesk serve` and `frontdesk worker` (both off unless given)."""
    parser.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        default="",
        help="Receive mail over SMTP here (an MX or a forwarding target), e.g. 0.0.0.0:2525.",
    )
    parser.add_argument(
        "--lmtp",
        metavar="HOST:PORT",
        default="",
        help="Receive mail over LMTP here (from a local MTA such as Postfix), e.g. 127.0.0.1:2424.",
    )


def receivers_from_options(options: dict[str, Any]) -> list[SmtpReceiver]:
    from django.core.management.base import CommandError

    receivers = []
    for option, lmtp in (("smtp", False), ("lmtp", True)):
        if value := options.get(option):
            try:
                host, port = parse_listen(value)
            except ValueError as exc:
                raise CommandError(f"--{option}: {exc}") from None
            receivers.append(SmtpReceiver(host, port, lmtp=lmtp))
    return receivers
