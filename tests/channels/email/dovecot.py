"""A real IMAP server for the tests: Dovecot with its own configuration, on a free 127.0.0.1 port.

Each instance has a throwaway folder (configuration, a passwd-file with one user, the user's
Maildir, logs), can be stopped and started again on the same port (an outage), optionally speaks
TLS with a self-signed certificate (IMAPS and STARTTLS), and optionally accepts XOAUTH2 sign-ins
whose tokens it checks at an OAuth introspection endpoint (Dovecot's oauth2 passdb).

Run as root (CI containers), Dovecot drops its privileges to its own users (dovecot, dovenull), so
the folder is made readable for them; run as anyone else, everything runs as that user.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import http.server
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted

DOVECOT = Path("/usr/sbin/dovecot")
# A developer machine without Dovecot skips the IMAP tests; CI must have it (.ci/run installs it).
needs_dovecot = pytest.mark.skipif(
    not DOVECOT.exists() and not os.environ.get("CI"),
    reason="needs Dovecot (apt-get install dovecot-imapd dovecot-lmtpd); CI installs it",
)
USER = "frontdesk"
PASSWORD = "imap-secret-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (as its IP address), made by openssl: (cert, key)."""
    cert, key = folder / "imap-cert.pem", folder / "imap-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class OAuthServer(http.server.ThreadingHTTPServer):
    """The identity provider on 127.0.0.1: a token endpoint that trades the refresh token it knows
    for an access token (Frontdesk asks it), and an RFC 7662 introspection endpoint (Dovecot asks
    it whether an access token is valid, and whose it is)."""

    def __init__(self, refresh_token: str, username: str = USER) -> None:
        self.refresh_token = refresh_token
        self.username = username
        self.access_tokens: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.introspected: list[str] = []
        super().__init__(("127.0.0.1", 0), _OAuthHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _OAuthHandler(http.server.BaseHTTPRequestHandler):
    server: OAuthServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = dict(urllib.parse.parse_qsl(body))
        if self.path.startswith("/token"):
            self.server.token_requests.append(form)
            if (
                form.get("grant_type") == "refresh_token"
                and form.get("refresh_token") == self.server.refresh_token
            ):
                token = "at-" + secrets.token_hex(8)
                self.server.access_tokens.add(token)
                self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})
            else:
                self._json(400, {"error": "invalid_grant"})
            return
        # Introspection: the token in the form, or as a bearer token in the Authorization header.
        token = form.get("token") or self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        self.server.introspected.append(token)
        if token in self.server.access_tokens:
            self._json(200, {"active": True, "username": self.server.username})
        else:
            self._json(200, {"active": False})

    do_GET = do_POST

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class Dovecot:
    """One Dovecot instance. `start()`, `stop()` (an outage), `close()` (gone for good)."""

    def __init__(
        self, *, tls: bool = False, oauth: OAuthServer | None = None, password: str = PASSWORD
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fd-dovecot-"))
        self.root.chmod(0o755)  # Dovecot's own users must reach their files (when run as root)
        self.port = free_port()
        self.imaps_port = free_port() if tls else 0
        self.tls = tls
        self.oauth = oauth
        self.user, self.password = USER, password
        self.home = self.root / "home" / self.user
        self.maildir = self.home / "Maildir"
        self.log_path = self.root / "dovecot.log"
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("dovecot")
            self.uid, self.gid = account.pw_uid, account.pw_gid
            internal, login = "dovecot", "dovenull"
            internal_group = grp.getgrgid(account.pw_gid).gr_name
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(self.uid).pw_name
            internal_group = grp.getgrgid(self.gid).gr_name
        for path in (self.root / "run", self.root / "state", self.maildir):
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.root / "home", self.home, self.maildir):
            os.chown(path, self.uid, self.gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.cert = self.key = None
        if tls:
            self.cert, self.key = self_signed_certificate(self.root)
        self.config_path = self.root / "dovecot.conf"
        self.config_path.write_text(self._config(internal, internal_group, login))

    def _config(self, internal: str, internal_group: str, login: str) -> str:
        root = self.root
        mechanisms = "plain login" + (" xoauth2 oauthbearer" if self.oauth else "")
        oauth_passdb = ""
        if self.oauth is not None:
            (root / "oauth2.conf.ext").write_text(
                f"introspection_mode = post\n"
                f"introspection_url = {self.oauth.base}/introspect\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )
            oauth_passdb = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""
        ssl = "no"
        if self.tls:
            ssl = f"yes\nssl_cert = <{self.cert}\nssl_key = <{self.key}"
        return f"""# Written by tests/channels/email/dovecot.py for one test run.
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
mail_max_userip_connections = 200
{oauth_passdb}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/home/%n
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""

    # --- Running ------------------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> Dovecot:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "dovecot.stderr").open("wb"),
            stdin=subprocess.DEVNULL,
            # Its own process group: stop() ends the server's sessions together with the server.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot exited:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Dovecot did not start within {timeout} s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is None:
            return
        # The whole group: Dovecot's session processes would otherwise linger for seconds after
        # their master, answering clients with "* BYE Server shutting down" only then.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        # The master is gone; its children (login, imap) follow within moments.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        parts = []
        for name in ("dovecot.log", "dovecot.stderr"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # --- Mail ---------------------------------------------------------------------------------------

    @contextmanager
    def client(self, folder: str | None = "INBOX") -> Iterator[MailBoxUnencrypted]:
        """A test's own IMAP session (as the mailbox's owner would have in their mail program)."""
        box = MailBoxUnencrypted("127.0.0.1", self.port, timeout=10)
        if self.password.isascii():
            box.login(self.user, self.password, initial_folder=folder)
        else:
            box.login_utf8(self.user, self.password, initial_folder=folder)
        try:
            yield box
        finally:
            try:
                box.logout()
            except Exception:  # the server went away in the test; nothing to log out from
                box.client.shutdown()

    def append(
        self,
        raw: bytes,
        folder: str = "INBOX",
        *,
        when: dt.datetime | None = None,
        flags: tuple[str, ...] = (),
    ) -> None:
        """Deliver a message over IMAP (APPEND), with its arrival time (INTERNALDATE) if given."""
        with self.client(None) as box:
            box.append(raw, folder, dt=when or dt.datetime.now(dt.UTC), flag_set=list(flags))

    def drop(self, raw: bytes, folder: str = "INBOX", *, when: dt.datetime | None = None) -> Path:
        """Deliver a message by writing it into the Maildir (works while the server is stopped)."""
        base = self.maildir if folder == "INBOX" else self.maildir / f".{folder}"
        for sub in ("tmp", "new", "cur"):
            (base / sub).mkdir(parents=True, exist_ok=True)
            os.chown(base / sub, self.uid, self.gid)
        os.chown(base, self.uid, self.gid)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        path = base / "new" / name
        path.write_bytes(raw)
        os.chown(path, self.uid, self.gid)
        if when is not None:
            os.utime(path, (when.timestamp(), when.timestamp()))
        return path

    def contents(self, folder: str = "INBOX") -> list[tuple[str, tuple[str, ...]]]:
        """(Message-ID, flags) of every message in the folder, read without changing anything
        (EXAMINE, BODY.PEEK)."""
        with self.client(None) as box:
            box.folder.set(folder, readonly=True)
            found = []
            for message in box.fetch("ALL", mark_seen=False, headers_only=True, bulk=True):
                ids = message.headers.get("message-id", ("",))
                # \Recent belongs to the session, not the message: left out.
                flags = tuple(sorted(f for f in message.flags if f != "\\Recent"))
                found.append((ids[0].strip(), flags))
            return found

    def channel_config(self, **extra: Any) -> dict[str, Any]:
        """An email channel's settings fetching from this server (plain IMAP on loopback)."""
        return {
            "address": "support@rowery.example",
            "imap_enabled": True,
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_security": "none",
            "imap_username": self.user,
            "smtp_receive": False,
            **extra,
        }


def message(
    number: int | str,
    *,
    subject: str = "",
    sender: str = "jan@example.org",
    to: str = "support@rowery.example",
    message_id: str | None = None,
    body: str = "",
) -> bytes:
    """A small customer email; its Message-ID is <msg-NUMBER@example.org> unless given."""
    mid = message_id if message_id is not None else f"<msg-{number}@example.org>"
    headers = [
        f"From: Jan Kowalski <{sender}>",
        f"To: {to}",
        f"Subject: {subject or f'Order RW-{number}'}",
        "Date: Mon, 23 Nov 2026 10:00:00 +0100",
    ]
    if mid:
        headers.append(f"Message-ID: {mid}")
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    text = body or f"Hello, where is my order RW-{number}?"
    return ("\r\n".join(headers) + "\r\n\r\n" + text + "\r\n").encode()


def wait_for(
    check: Callable[[], Any], *, timeout: float, what: str, details: Callable[[], str] | None = None
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}\n{details() if details else ''}"
            )
        time.sleep(0.05)


@contextmanager
def fetching(channel: Any) -> Iterator[Any]:
    """The channel's fetcher running in a thread of its own (as in `frontdesk serve`), stopped after."""
    from frontdesk.channels.email.imap import ImapFetcher

    fetcher = ImapFetcher(channel)
    thread = threading.Thread(target=fetcher.run, name="test-fetcher", daemon=True)
    thread.start()
    try:
        yield fetcher
    finally:
        fetcher.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the fetcher did not stop"
