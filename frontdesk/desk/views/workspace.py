"""What every view of the agent workspace shares: the viewer's time zone, keyset cursors, times in
words, and how an action's outcome reaches the page (htmx fragments, or a redirect without JS)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zoneinfo
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Event, Membership
from .base import member_required

# Keyset pages: rows per page of the inbox and the customer list.
PAGE_SIZE = 50


def viewer_zone(member: Membership) -> zoneinfo.ZoneInfo:
    """The zone times are shown in: the user's own, else the shop's, else UTC."""
    for name in (member.user.time_zone, member.tenant.time_zone):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


def tenant_zone(member: Membership) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(member.tenant.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def workspace_view(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
    """`member_required`, then render every time in the viewer's time zone."""

    @wraps(view)
    def with_zone(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with timezone.override(viewer_zone(request.member)):  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

    return member_required(with_zone)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after a plain form post: `next` or the referrer when it is ours."""
    for candidate in (request.POST.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


def last_event_id(member: Membership) -> int | None:
    """The newest event of the shop: live updates resume after it. Read it before the page's data,
    so nothing that changes while the page renders is missed."""
    return (
        Event.objects.filter(tenant_id=member.tenant_id).order_by("-id").values_list("id", flat=True).first()
    )


# --- Keyset cursors ---------------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    """An opaque "continue after this row" token from the row's sort key."""
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str, kinds: tuple[type, ...]) -> list[Any]:
    """The sort key back from `encode_cursor`; `kinds` says the type of each value. Raises Invalid."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        values: list[Any] = []
        for kind, value in zip(kinds, raw, strict=True):
            if kind is dt.datetime:
                parsed = dt.datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError
                values.append(parsed)
            elif kind is int:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError
                values.append(value)
            else:
                values.append(kind(value))
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            _("This page link is broken; start again from the first page."), code="bad_cursor"
        ) from None


# --- Times in words -----------------------------------------------------------------------------------


def duration_words(delta: dt.timedelta) -> str:
    """A short, kind duration: "1 min" (at least), "5 min", "2 h", "3 days", "2 months"."""
    minutes = max(int(delta.total_seconds()) // 60, 1)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours = minutes // 60
    if hours < 24:
        return _("%(n)d h") % {"n": hours}
    days = hours // 24
    if days < 60:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    months = days // 30
    return ngettext("%(n)d month", "%(n)d months", months) % {"n": months}


def when_words(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A moment as people say it, in the active time zone: "14:05", "yesterday 14:05",
    "tomorrow 09:00", "Mon 14:05", "12 Mar", "12 Mar 2023"."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now()).date()
    days = (local.date() - today).days
    time = f"{local:%H:%M}"  # Django's "H:i"
    if days == 0:
        return time
    if days == -1:
        return _("yesterday %(time)s") % {"time": time}
    if days == 1:
        return _("tomorrow %(time)s") % {"time": time}
    if -6 <= days <= 6:
        return f"{_date_text(local.date(), 'D', get_language())} {time}"
    if local.year == today.year:
        return _date_text(local.date(), "j M", get_language())
    return _date_text(local.date(), "j M Y", get_language())


@lru_cache(maxsize=4096)
def _date_text(day: dt.date, format_name: str, language: str | None) -> str:
    """A date in the active language's format. Cached: an inbox page writes fifty rows with three
    dates each, and Django's formatter reads its format string anew every time (the language is
    part of the key because the result depends on it)."""
    return formats.date_format(day, format_name)


def full_when(value: dt.datetime | None) -> str:
    """The exact moment with its zone, for tooltips."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{_date_text(local.date(), 'DATE_FORMAT', get_language())}, {local:%H:%M} ({local.tzname()})"
