"""Fixed-window rate limits on public channel endpoints, counted in Django's cache.

With REDIS_URL set the cache is shared, so the limit holds across every web process; otherwise it is
per process (the embedded one-process mode). A limit is "N requests per S seconds" and is read from
settings so an operator can loosen it: e.g. `FRONTDESK_RATE_HOOK_PER_CHANNEL = (1200, 60)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# Defaults; each can be overridden by a setting of the same name holding (count, seconds).
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    # Inbound webhooks: a shop's backend may burst (a backlog replayed after an outage).
    "FRONTDESK_RATE_HOOK_PER_CHANNEL": (1200, 60),
    "FRONTDESK_RATE_HOOK_PER_IP": (600, 60),
    # Contact form submissions: a person sends a handful an hour, a bot hundreds.
    "FRONTDESK_RATE_FORM_PER_IP": (10, 600),
    "FRONTDESK_RATE_FORM_PER_CHANNEL": (300, 600),
    # The chat widget: a person writes a few messages a minute; a whole office may share one address.
    "FRONTDESK_RATE_CHAT_PER_VISITOR": (30, 60),
    "FRONTDESK_RATE_CHAT_PER_IP": (600, 60),
    "FRONTDESK_RATE_CHAT_SESSION_PER_IP": (120, 60),
    "FRONTDESK_RATE_CHAT_HTTP_PER_IP": (1200, 60),
    "FRONTDESK_RATE_CHAT_UPLOAD_PER_VISITOR": (20, 600),
    # The customer's status page: posts (messages, reply choices) per link, a person's pace.
    "FRONTDESK_RATE_STATUS_PER_LINK": (10, 600),
    # Connection tests in a channel's settings reach servers an admin names: a handful, not a scan.
    "FRONTDESK_RATE_CONNECTION_TEST_PER_TENANT": (30, 600),
}


@dataclass(frozen=True)
class Limited:
    """A limit was exceeded; try again after `retry_after` seconds."""

    retry_after: int


def limit(name: str) -> tuple[int, int]:
    count, seconds = getattr(settings, name, DEFAULT_LIMITS[name])
    return int(count), int(seconds)


def hit(name: str, key: str, now: float | None = None) -> Limited | None:
    """Count one request against limit `name` for `key`; a Limited when it is over the limit."""
    count, seconds = limit(name)
    if count <= 0 or seconds <= 0:
        return None  # a limit of 0 switches it off
    now = time.time() if now is None else now
    window = int(now // seconds)
    cache_key = f"fd:rl:{name}:{key}:{window}"
    # add() only sets a missing key, so concurrent first hits do not reset each other's counts.
    cache.add(cache_key, 0, timeout=seconds + 1)
    try:
        used = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this is the first hit of a new window
        cache.add(cache_key, 1, timeout=seconds + 1)
        used = 1
    if used > count:
        return Limited(retry_after=max(1, math.ceil((window + 1) * seconds - now)))
    return None


def check(rules: list[tuple[str, str]]) -> Limited | None:
    """Count against several (limit name, key) pairs; the longest wait when any is exceeded."""
    worst: Limited | None = None
    for name, key in rules:
        over = hit(name, key)
        if over is not None and (worst is None or over.retry_after > worst.retry_after):
            worst = over
    return worst


def client_ip(request: HttpRequest) -> str:
    """The caller's address. Behind a proxy, uvicorn's --proxy-headers puts the client's here."""
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")[:64]
