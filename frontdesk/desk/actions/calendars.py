"""Which business calendar applies, built from the rows shops edit (models/service.py) into the
pure arithmetic of desk/lib/businesstime.py.

Resolution: the channel's calendar, else the team's, else the shop's default calendar, else the
built-in one (Monday–Friday 09:00–17:00 in the shop's time zone, closed on its country's public
holidays) — so a shop that never opened the settings still gets honest due times.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.utils import timezone

from ..lib import businesstime
from ..models import BusinessCalendar, Channel, Team, Tenant
from ..models.service import DEFAULT_WEEK

# Public holidays are loaded for this many years around today (a due time beyond is unlikely; a
# legal deadline is counted in calendar days and needs none).
HOLIDAY_YEARS_BEFORE = 1
HOLIDAY_YEARS_AFTER = 2

_cache: dict[tuple[Any, ...], businesstime.Calendar] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 2000


def calendar_row(
    tenant: Tenant, *, team: Team | None = None, channel: Channel | None = None
) -> BusinessCalendar | None:
    """The calendar row that applies (None: the built-in calendar)."""
    if channel is not None and channel.calendar_id is not None:
        return BusinessCalendar.objects.filter(pk=channel.calendar_id, tenant=tenant).first()
    if team is not None and team.calendar_id is not None:
        return BusinessCalendar.objects.filter(pk=team.calendar_id, tenant=tenant).first()
    return BusinessCalendar.objects.filter(tenant=tenant, is_default=True).first()


def business_calendar(
    tenant: Tenant, *, team: Team | None = None, channel: Channel | None = None
) -> businesstime.Calendar:
    """The business calendar for work of this team in this channel (both optional)."""
    return build_calendar(tenant, calendar_row(tenant, team=team, channel=channel))


def build_calendar(tenant: Tenant, row: BusinessCalendar | None) -> businesstime.Calendar:
    """The arithmetic calendar of a row (None: the built-in one). Cached per process by the row's
    last change, so a running server builds each calendar once a year, not once per message."""
    year = timezone.now().year
    if row is None:
        key: tuple[Any, ...] = ("builtin", tenant.time_zone, tenant.country, year)
    else:
        key = ("row", row.pk, row.updated_at, tenant.time_zone, tenant.country, year)
    found = _cache.get(key)
    if found is not None:
        return found
    calendar = _build(tenant, row, year)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = calendar
    return calendar


def _build(tenant: Tenant, row: BusinessCalendar | None, year: int) -> businesstime.Calendar:
    time_zone = (row.time_zone if row else "") or tenant.time_zone or "UTC"
    country = (row.country if row else "") or tenant.country
    week = row.week if row else DEFAULT_WEEK
    closed: set[dt.date] = set()
    if row is None or row.public_holidays:
        closed |= set(holidays_of(country, row.subdivision if row else "", year))
    special = {}
    if row is not None:
        special = {day.date: tuple(tuple(pair) for pair in day.hours) for day in row.days.all()}
    return businesstime.Calendar(
        time_zone,
        week=tuple(tuple(tuple(pair) for pair in day) for day in week),
        closed=frozenset(closed),
        special=special,
    )


def holidays_of(country: str, subdivision: str, year: int) -> dict[dt.date, str]:
    """The country's public holidays around `year` ({} for a country the holidays package lacks)."""
    years = range(year - HOLIDAY_YEARS_BEFORE, year + HOLIDAY_YEARS_AFTER + 1)
    try:
        return businesstime.public_holidays(country, subdivision or None, years)
    except ValueError:
        return {}


def forget_calendars() -> None:
    """Drop built calendars (tests; the cache key already changes with every edit)."""
    with _cache_lock:
        _cache.clear()
