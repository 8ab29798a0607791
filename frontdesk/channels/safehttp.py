"""Outbound HTTP to addresses a tenant typed in (webhook URLs), without reaching our own network.

A tenant controls the URL, so a careless fetch would let them probe the installation's private
network (SSRF). We resolve the host once, refuse private, loopback, link-local and other special
addresses, and then connect to exactly the address we checked (the host name still goes in the
Host header and TLS SNI, so certificates are verified as usual) — a DNS answer that changes between
the check and the connection cannot redirect us. Loopback is allowed only when settings.DEBUG or
FRONTDESK_WEBHOOK_ALLOW_LOOPBACK is on (development, tests). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

# How much of an answer we read: enough for an id and an error message, not a flood.
MAX_RESPONSE_BYTES = 64 * 1024


class UnsafeAddress(ValueError):
    """The URL points at an address we must not connect to (or at no address at all)."""


class Unresolvable(OSError):
    """The host name did not resolve (now): worth trying again later."""


def loopback_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "FRONTDESK_WEBHOOK_ALLOW_LOOPBACK", False))


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Raise UnsafeAddress unless `ip` is a public unicast address (or allowed loopback)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        if loopback_allowed():
            return
        raise UnsafeAddress(_("%(ip)s is a loopback address") % {"ip": ip})
    if (
        ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        raise UnsafeAddress(_("%(ip)s is not a public address") % {"ip": ip})


def validate_url(url: str) -> str:
    """A webhook URL as typed in settings: https://, or http:// to loopback where that is allowed.

    Checks the form only; the address is checked when connecting (names may resolve differently).
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeAddress(_("Use a full https:// address"))
    if parts.username or parts.password:
        raise UnsafeAddress(_("Do not put a user name or password in the address"))
    if parts.scheme == "http" and not (is_loopback_host(parts.hostname) and loopback_allowed()):
        raise UnsafeAddress(_("Use https://"))
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal)
    elif is_loopback_host(parts.hostname) and not loopback_allowed():
        raise UnsafeAddress(_("localhost is not reachable from here"))
    return url


@dataclass(frozen=True)
class Pinned:
    """Where to connect: the URL with the checked IP in place of the host name."""

    url: str
    host_header: str
    sni_hostname: str


def pin(url: str) -> Pinned:
    """Resolve the URL's host, check every address it resolves to, and pin the first one."""
    validate_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(f"{host} does not resolve: {exc.strerror}") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        # All of them, not just the first: a name must not mix public and private answers.
        check_address(ip)
        addresses.append(ip)
    if not addresses:
        raise Unresolvable(f"{host} has no address")
    ip = addresses[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    return Pinned(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=host_header,
        sni_hostname=host,
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    text: str


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to a checked, pinned address. Raises UnsafeAddress, Unresolvable, httpx.HTTPError."""
    pinned = pin(url)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        request = client.build_request(
            "POST",
            pinned.url,
            content=body,
            headers={**headers, "Host": pinned.host_header},
            extensions={"sni_hostname": pinned.sni_hostname},
        )
        response = client.send(request, stream=True)
        try:
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) >= MAX_RESPONSE_BYTES:
                    break
        finally:
            response.close()
    return Answer(
        status=response.status_code,
        headers=response.headers,
        text=data[:MAX_RESPONSE_BYTES].decode(response.encoding or "utf-8", errors="replace"),
    )
