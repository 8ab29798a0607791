"""Connection tests for the email channel's settings page.

IMAP: connect, sign in, open the folder read-only (EXAMINE: nothing on the server changes).
SMTP: connect, EHLO, STARTTLS, sign in; no mail is sent. Each answers with a clear success or
what went wrong in words an admin can act on, the server's own answer included. Every network
operation has a timeout and the whole test a deadline, so a silent server cannot hold the page.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import imaplib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from django.core.mail.utils import DNS_NAME
from django.utils import translation
from django.utils.translation import gettext as _
from imap_tools.imap_utf7 import utf7_decode, utf7_encode

from .config import Config, Security
from .oauth import xoauth2_string

# Seconds for each network operation, and for a whole test.
TIMEOUT = 10.0
DEADLINE = 30.0
MAX_FOLDERS_SHOWN = 25


@dataclass
class CheckResult:
    # "ok", "failed", or "info" (nothing to test, e.g. no SMTP server of the channel's own).
    state: str
    summary: str
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


class CheckFailed(Exception):
    def __init__(self, summary: str, details: list[str] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details or []


def run_check(
    check: Callable[[Config, Mapping[str, str]], CheckResult],
    config: Config,
    secrets: Mapping[str, str],
    *,
    deadline: float = DEADLINE,
) -> CheckResult:
    """Run `check` in a thread and give up waiting after `deadline` seconds (the thread then ends
    by its own socket timeouts)."""
    language = translation.get_language()

    def run() -> CheckResult:
        with translation.override(language):
            return check(config, secrets)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="email-check")
    try:
        return pool.submit(run).result(timeout=deadline)
    except concurrent.futures.TimeoutError:
        return CheckResult(
            "failed", _("The test did not finish within %(seconds)d seconds.") % {"seconds": deadline}
        )
    finally:
        pool.shutdown(wait=False)


# --- IMAP ------------------------------------------------------------------------------------------


def check_imap(config: Config, secrets: Mapping[str, str], *, timeout: float = TIMEOUT) -> CheckResult:
    """Sign in to the channel's IMAP server and open its folder without changing anything."""
    if not config.imap_host:
        return CheckResult("failed", _("Give the IMAP server first."))
    user = config.imap_username or config.address
    where = f"{config.imap_host}:{config.imap_port}"
    try:
        client = _imap_connect(config, timeout)
        try:
            details = [_imap_greeting(client)]
            _imap_sign_in(client, config, secrets, user, timeout)
            details += _imap_folder(client, config)
        finally:
            _imap_close(client)
    except CheckFailed as exc:
        return CheckResult("failed", exc.summary, exc.details)
    except imaplib.IMAP4.abort as exc:
        return CheckResult(
            "failed", _("The IMAP server closed the connection: %(answer)s") % {"answer": _text(exc)}
        )
    except (OSError, imaplib.IMAP4.error) as exc:
        return CheckResult("failed", _network_error(exc, where, timeout))
    return CheckResult(
        "ok", _("Signed in to %(server)s as %(user)s.") % {"server": where, "user": user}, details
    )


def imap_tls_context() -> ssl.SSLContext:
    """The same certificate checks as the fetcher's (FRONTDESK_IMAP_CA_FILE, FRONTDESK_IMAP_VERIFY_TLS)."""
    from .imap import tls_context

    return tls_context()


def _imap_connect(config: Config, timeout: float) -> imaplib.IMAP4:
    if config.imap_security == Security.SSL:
        return imaplib.IMAP4_SSL(
            config.imap_host, config.imap_port, ssl_context=imap_tls_context(), timeout=timeout
        )
    client = imaplib.IMAP4(config.imap_host, config.imap_port, timeout=timeout)
    if config.imap_security == Security.STARTTLS:
        if "STARTTLS" not in client.capabilities:
            _imap_close(client)
            raise CheckFailed(_("The IMAP server does not offer STARTTLS: choose SSL/TLS or check the port."))
        try:
            client.starttls(ssl_context=imap_tls_context())
        except BaseException:
            _imap_close(client)
            raise
    return client


def _imap_greeting(client: imaplib.IMAP4) -> str:
    if "IDLE" in client.capabilities:
        return _("The server supports IDLE: new mail arrives within seconds.")
    return _("The server does not support IDLE: Frontdesk asks for new mail at the set interval.")


class _XOAuth2:
    """imaplib's authobject for XOAUTH2: the token first, then an empty answer to the server's
    error challenge (RFC 7628), after which the server says NO."""

    def __init__(self, initial: str) -> None:
        self.initial = initial.encode()
        self.sent = False

    def __call__(self, challenge: bytes | None = None) -> bytes:
        if self.sent:
            return b""
        self.sent = True
        return self.initial


def _imap_sign_in(
    client: imaplib.IMAP4, config: Config, secrets: Mapping[str, str], user: str, timeout: float
) -> None:
    try:
        if config.imap_auth == "xoauth2":
            token = oauth_token(config, secrets, timeout)
            client.authenticate("XOAUTH2", _XOAuth2(xoauth2_string(user, token)))
            return
        password = secrets.get("imap_password", "")
        if not password:
            raise CheckFailed(_("Type the IMAP password first (it is not set)."))
        if password.isascii() and user.isascii():
            client.login(user, password)
        else:
            # LOGIN takes ASCII only; SASL PLAIN carries UTF-8.
            client.authenticate("PLAIN", lambda _challenge: f"\0{user}\0{password}".encode())
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise CheckFailed(
            _("The IMAP server refused the sign-in of %(user)s: %(answer)s")
            % {"user": user, "answer": _text(exc)},
            [_("Check the user name and password (for Gmail: an app password, with IMAP on).")]
            if config.imap_auth == "password"
            else [],
        ) from None


def _imap_folder(client: imaplib.IMAP4, config: Config) -> list[str]:
    folders = _imap_folders(client)
    details = []
    typ, data = client.select(_imap_quote(config.imap_folder), readonly=True)
    if typ != "OK":
        shown = ", ".join(folders[:MAX_FOLDERS_SHOWN]) or "—"
        raise CheckFailed(
            _("Signed in, but the folder %(folder)s cannot be opened: %(answer)s")
            % {"folder": config.imap_folder, "answer": _text(data)},
            [_("Folders on the server: %(folders)s") % {"folders": shown}],
        )
    count = int(data[0] or 0) if data and data[0] and data[0].isdigit() else 0
    details.append(
        _("The folder %(folder)s holds %(count)d messages.") % {"folder": config.imap_folder, "count": count}
    )
    client.close()
    if config.imap_move_to and folders and config.imap_move_to not in folders:
        raise CheckFailed(
            _("Signed in, but there is no folder %(folder)s to move imported mail to.")
            % {"folder": config.imap_move_to},
            [
                _("Create it in your mail program, or pick one of: %(folders)s")
                % {"folders": ", ".join(folders[:MAX_FOLDERS_SHOWN])}
            ],
        )
    return details


_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


def _imap_folders(client: imaplib.IMAP4) -> list[str]:
    typ, data = client.list()
    if typ != "OK":
        return []
    names = []
    for line in data:
        if not isinstance(line, bytes):
            continue
        match = _LIST_LINE.match(line)
        if match is None:
            continue
        raw = match["name"].strip()
        if raw.startswith(b'"') and raw.endswith(b'"'):
            raw = raw[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        try:
            names.append(utf7_decode(raw))
        except (ValueError, UnicodeDecodeError):
            names.append(raw.decode("utf-8", "replace"))
    return names


def _imap_quote(folder: str) -> str:
    encoded = utf7_encode(folder).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_close(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):
            client.shutdown()


# --- SMTP ------------------------------------------------------------------------------------------


def check_smtp(config: Config, secrets: Mapping[str, str], *, timeout: float = TIMEOUT) -> CheckResult:
    """Connect to the channel's SMTP server and sign in, as sending would; send nothing."""
    if not config.smtp_host:
        return CheckResult(
            "info",
            _("No SMTP server is set: replies go out through this installation's mail server."),
        )
    where = f"{config.smtp_host}:{config.smtp_port}"
    user = config.smtp_username or config.address
    details: list[str] = []
    try:
        client = _smtp_connect(config, timeout)
        try:
            size = client.esmtp_features.get("size", "")
            if size.isdigit() and int(size) > 0:
                details.append(
                    _("The server takes messages of up to %(size)d MB.") % {"size": int(size) // 1_000_000}
                )
            signed_in = _smtp_sign_in(client, config, secrets, user, timeout)
        finally:
            _smtp_close(client)
    except CheckFailed as exc:
        return CheckResult("failed", exc.summary, exc.details)
    except smtplib.SMTPResponseException as exc:
        return CheckResult(
            "failed",
            _("The SMTP server answered: %(answer)s")
            % {"answer": f"{exc.smtp_code} {_text(exc.smtp_error)}"},
        )
    except smtplib.SMTPServerDisconnected as exc:
        return CheckResult(
            "failed", _("The SMTP server closed the connection: %(answer)s") % {"answer": _text(exc) or "—"}
        )
    except (OSError, smtplib.SMTPException) as exc:
        return CheckResult("failed", _network_error(exc, where, timeout))
    if not signed_in:
        return CheckResult(
            "ok",
            _("Connected to %(server)s; no user name is set, so Frontdesk sends without signing in.")
            % {"server": where},
            details,
        )
    return CheckResult(
        "ok",
        _("Signed in to %(server)s as %(user)s. No mail was sent.") % {"server": where, "user": user},
        details,
    )


def smtp_tls_context() -> ssl.SSLContext:
    from .outbound import tls_context

    return tls_context()


def _smtp_connect(config: Config, timeout: float) -> smtplib.SMTP:
    local_hostname = str(DNS_NAME)
    if config.smtp_security == Security.SSL:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.smtp_host,
            config.smtp_port,
            local_hostname=local_hostname,
            timeout=timeout,
            context=smtp_tls_context(),
        )
        client.ehlo()
        return client
    client = smtplib.SMTP(config.smtp_host, config.smtp_port, local_hostname=local_hostname, timeout=timeout)
    try:
        client.ehlo()
        if config.smtp_security == Security.STARTTLS:
            if not client.has_extn("starttls"):
                raise CheckFailed(
                    _("The SMTP server does not offer STARTTLS: choose SSL/TLS or check the port.")
                )
            client.starttls(context=smtp_tls_context())
            client.ehlo()
    except BaseException:
        _smtp_close(client)
        raise
    return client


class _SmtpXOAuth2:
    def __init__(self, initial: str) -> None:
        self.initial = initial
        self.sent = False

    def __call__(self, challenge: bytes | None = None) -> str:
        if self.sent:
            return ""
        self.sent = True
        return self.initial


def _smtp_sign_in(
    client: smtplib.SMTP, config: Config, secrets: Mapping[str, str], user: str, timeout: float
) -> bool:
    try:
        if config.smtp_auth == "xoauth2":
            token = oauth_token(config, secrets, timeout)
            client.auth("XOAUTH2", _SmtpXOAuth2(xoauth2_string(user, token)), initial_response_ok=True)
            return True
        if not config.smtp_username:
            return False
        password = secrets.get("smtp_password", "")
        if not password:
            raise CheckFailed(_("Type the SMTP password first (it is not set)."))
        client.login(config.smtp_username, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise CheckFailed(
            _("The SMTP server refused the sign-in of %(user)s: %(answer)s")
            % {"user": user, "answer": f"{exc.smtp_code} {_text(exc.smtp_error)}"}
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise CheckFailed(
            _("The SMTP server offers no sign-in here: choose STARTTLS or SSL/TLS, or check the port.")
        ) from None
    except smtplib.SMTPException as exc:
        if "No suitable authentication method" in str(exc):
            mechanisms = client.esmtp_features.get("auth", "").strip() or "—"
            raise CheckFailed(
                _(
                    "The SMTP server offers none of the sign-in methods Frontdesk can use "
                    "(it offers: %(methods)s)."
                )
                % {"methods": mechanisms}
            ) from None
        raise
    return True


def _smtp_close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


# --- Shared ---------------------------------------------------------------------------------------


def oauth_token(config: Config, secrets: Mapping[str, str], timeout: float = TIMEOUT) -> str:
    """A fresh access token from the refresh token (not the cache: this tests the OAuth settings)."""
    if "<" in config.oauth_token_url:
        raise CheckFailed(
            _("Replace the placeholder in the OAuth token URL (e.g. <tenant-id>) with your own value.")
        )
    refresh_token = secrets.get("oauth_refresh_token", "")
    if not refresh_token:
        raise CheckFailed(_("Type the OAuth refresh token first (it is not set)."))
    try:
        response = httpx.post(
            config.oauth_token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": config.oauth_client_id,
                "client_secret": secrets.get("oauth_client_secret", ""),
            },
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise CheckFailed(
            _("The OAuth token endpoint did not answer: %(reason)s")
            % {"reason": _text(exc) or type(exc).__name__}
        ) from None
    if response.status_code != 200:
        raise CheckFailed(
            _("The OAuth token endpoint refused the refresh token: HTTP %(status)d %(answer)s")
            % {"status": response.status_code, "answer": _text(response.text[:300])}
        )
    try:
        return str(response.json()["access_token"])
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(_("The OAuth token endpoint answered without an access token.")) from None


def _text(value: object) -> str:
    """A server's answer as one readable line (imaplib and smtplib hand out bytes and lists)."""
    if isinstance(value, BaseException) and value.args:
        value = value.args[0] if len(value.args) == 1 else " ".join(str(a) for a in value.args)
    if isinstance(value, list | tuple):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v is not None)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return " ".join(text.split())[:500]


def _network_error(exc: BaseException, where: str, timeout: float) -> str:
    host = where.rsplit(":", 1)[0]
    if isinstance(exc, socket.gaierror):
        return _("The server name %(host)s was not found: check its spelling.") % {"host": host}
    if isinstance(exc, ConnectionRefusedError):
        return _("%(server)s refused the connection: is the port right?") % {"server": where}
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("%(server)s did not answer within %(seconds)d seconds.") % {
            "server": where,
            "seconds": timeout,
        }
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _("The certificate of %(server)s cannot be trusted: %(reason)s") % {
            "server": where,
            "reason": exc.verify_message or _text(exc),
        }
    if isinstance(exc, ssl.SSLError):
        return _(
            "The secure connection to %(server)s failed (%(reason)s): "
            "is the security setting right for this port?"
        ) % {
            "server": where,
            "reason": exc.reason or _text(exc),
        }
    if isinstance(exc, imaplib.IMAP4.error | smtplib.SMTPException):
        return _("The server %(server)s answered: %(answer)s") % {"server": where, "answer": _text(exc)}
    if isinstance(exc, OSError):
        return _("%(server)s cannot be reached: %(reason)s") % {
            "server": where,
            "reason": exc.strerror or _text(exc),
        }
    return _text(exc)
