"""Real peers for the sending tests, all on 127.0.0.1: an SMTP server (aiosmtpd) that records what
Frontdesk sends and answers as told, a self-signed certificate for its TLS, and an OAuth token
endpoint for XOAUTH2."""

from __future__ import annotations

import base64
import email
import email.policy
import http.server
import json
import ssl
import subprocess
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    """aiosmtpd hooks: queued answers for MAIL, RCPT and DATA ("451 …", "550 …"), 250 when none is left."""

    received: list[Received] = field(default_factory=list)
    # Every message offered with DATA, also those answered with an error.
    offered: list[bytes] = field(default_factory=list)
    data_answers: deque[str] = field(default_factory=deque)
    rcpt_answers: deque[str] = field(default_factory=deque)
    mail_answers: deque[str] = field(default_factory=deque)
    # XOAUTH2: the bearer token accepted, the user names seen.
    oauth_token: str = ""
    oauth_users: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.mail_answers:
            return self.mail_answers.popleft()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_answers:
            return self.rcpt_answers.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.original_content, bytes)
        self.offered.append(envelope.original_content)
        if self.data_answers:
            return self.data_answers.popleft()
        login = session.login_data.decode() if isinstance(session.login_data, bytes) else session.login_data
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                envelope.original_content,
                login,
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 Queued as 42"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Gmail and Microsoft 365 speak it."""
        raw = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        assert isinstance(raw, bytes)
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        self.oauth_users.append(user)
        if self.oauth_token and auth == f"Bearer {self.oauth_token}":
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # The error challenge; the client answers it with an empty line, then gets 535.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


class _Controller(Controller):
    """Binds port 0 (a free port the kernel picks, no race with other processes) and learns it."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpPeer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        exclude_mechanisms: tuple[str, ...] = (),
    ) -> None:
        self.handler = Handler()
        # Chosen when first started; a restart listens on the same port again.
        self.port = 0
        self.users = users
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.exclude_mechanisms = exclude_mechanisms
        self.mechanisms: list[str] = []
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        assert self.users is not None and isinstance(data, LoginPassword)
        ok = self.users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=data)

    def start(self) -> SmtpPeer:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "server_hostname": "mx.test"}
        if self.implicit_tls:
            kwargs["ssl_context"] = self.tls
        elif self.tls is not None:
            kwargs["tls_context"] = self.tls
        if self.users is not None or self.handler.oauth_token:
            kwargs.update(auth_required=True, auth_require_tls=self.tls is not None)
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_exclude_mechanism"] = list(self.exclude_mechanisms)
        self.controller = _Controller(self.handler, **kwargs)
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def config(self, **extra: Any) -> dict[str, Any]:
        """An email channel's settings pointing its sending at this server."""
        security = "ssl" if self.implicit_tls else ("starttls" if self.tls else "none")
        return {
            "address": "support@rowery.example",
            "from_name": "Rowery Support",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": security,
            **extra,
        }


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (as its IP address), made by openssl: (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class TokenEndpoint(http.server.ThreadingHTTPServer):
    """An OAuth 2 token endpoint: trades the refresh token it knows for an access token."""

    def __init__(self, refresh_token: str, access_token: str) -> None:
        self.refresh_token = refresh_token
        self.access_token = access_token
        self.requests: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    server: TokenEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        form = dict(urllib.parse.parse_qsl(body))
        self.server.requests.append(form)
        if (
            form.get("grant_type") == "refresh_token"
            and form.get("refresh_token") == self.server.refresh_token
        ):
            status, answer = 200, {"access_token": self.server.access_token, "expires_in": 3599}
        else:
            status, answer = 400, {"error": "invalid_grant"}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass
