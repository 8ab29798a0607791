"""Which business calendar applies, built from the rows shops edit (models/service.py) into the
pure arithmetic of desk/lib/businesstime.py.

Resolution: the channel's calendar, else the team's, else the shop's default calendar, else the
built-in one (Monday–Friday 09:00–17:00 in the shop's time zone, closed on its country's public
holidays) — so a shop that never opened the settings still gets honest due times.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import zoneinfo
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Conflict, Invalid, NotFound
from ..events import record_event
from ..lib import businesstime
from ..models import BusinessCalendar, CalendarDay, Channel, Membership, Role, Team, Tenant
from ..models.service import DEFAULT_WEEK
from .admin import require

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


# --- Editing calendars (Settings › Business hours) -----------------------------------------------
#
# Only admins (and the owner) change calendars; every member may look at them. Every change bumps
# the row's `updated_at`: build_calendar's cache is keyed by it, so the next due time computed
# anywhere in this process sees the change at once.
#
# Deleting: teams and channels using a calendar fall back to the shop's. The shop's calendar can
# only be deleted when it is the last one (the shop then returns to the built-in hours); while
# other calendars exist, another must be made the shop's first, so "the shop's calendar" never
# silently changes meaning.

WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_DASHES = re.compile(r"\s*[-–—]\s*")
# Special days further than this from today are typos (a year 2062 instead of 2026).
SPECIAL_DAY_YEARS = 5


def access_calendar(member: Membership, calendar_id: int | str) -> BusinessCalendar:
    """The member's shop's calendar with this id, or NotFound (also for another shop's)."""
    try:
        return BusinessCalendar.objects.get(pk=calendar_id, tenant=member.tenant)
    except (BusinessCalendar.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def calendars_of(tenant: Tenant) -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.filter(tenant=tenant)


def _minutes(text: str) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(_("“%(time)s” is not a time; write it as 09:00.") % {"time": text.strip()})
    hours, minutes = int(match[1]), int(match[2] or 0)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(_("“%(time)s” is not a time of day.") % {"time": text.strip()})
    return hours * 60 + minutes


def parse_hours(text: str) -> list[list[int]]:
    """Opening intervals from text such as "09:00-13:00, 15:00-19:00" (empty: closed), sorted.

    Raises ValueError with a translated message the user can act on: a bad time, an interval that
    ends before it starts, or two that overlap. "24:00" is the end of the day.
    """
    intervals: list[list[int]] = []
    for part in re.split(r"[,;\n]", text or ""):
        if not part.strip():
            continue
        ends = _DASHES.split(part.strip())
        if len(ends) != 2:
            raise ValueError(
                _("“%(part)s” is not an interval; write it as 09:00-17:00.") % {"part": part.strip()}
            )
        start, end = _minutes(ends[0]), _minutes(ends[1])
        if start >= end:
            raise ValueError(
                _("%(start)s-%(end)s ends before it starts.")
                % {"start": format_minutes(start), "end": format_minutes(end)}
            )
        intervals.append([start, end])
    intervals.sort()
    for before, after in itertools.pairwise(intervals):
        if after[0] < before[1]:
            raise ValueError(
                _("%(first)s and %(second)s overlap.")
                % {"first": format_interval(before), "second": format_interval(after)}
            )
    return intervals


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_interval(pair: list[int] | tuple[int, int]) -> str:
    return f"{format_minutes(pair[0])}-{format_minutes(pair[1])}"


def format_hours(hours: Any) -> str:
    """The text parse_hours reads back: "09:00-13:00, 15:00-19:00" ("" for a closed day)."""
    return ", ".join(format_interval(pair) for pair in hours)


def _week_for_arithmetic(week: list[list[list[int]]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple((start, end) for start, end in day) for day in week)


def check_calendar(tenant: Tenant, calendar: BusinessCalendar | None, data: dict[str, Any]) -> dict[str, Any]:
    """Validated fields of a calendar from form-like data: name, time_zone, country, subdivision,
    public_holidays and the week as seven texts (mon … sun). Raises Invalid with field errors."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Give the calendar a name of 1 to 100 characters.")]
    else:
        same_name = calendars_of(tenant).filter(name=name)
        if calendar is not None:
            same_name = same_name.exclude(pk=calendar.pk)
        if same_name.exists():
            errors["name"] = [_("Another calendar of this shop has this name.")]
    clean["name"] = name

    time_zone = str(data.get("time_zone") or "").strip()
    if time_zone:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [_("Unknown time zone; use a name such as Europe/Warsaw.")]
    clean["time_zone"] = time_zone

    country = str(data.get("country") or "").strip().upper()
    subdivision = str(data.get("subdivision") or "").strip().upper()
    effective_country = country or tenant.country
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = [_("Use a two-letter country code such as PL.")]
    elif effective_country:
        try:
            businesstime.public_holidays(effective_country, None, [timezone.now().year])
        except ValueError:
            if country:
                errors["country"] = [_("There is no list of public holidays for this country.")]
        else:
            if subdivision:
                try:
                    businesstime.public_holidays(effective_country, subdivision, [timezone.now().year])
                except ValueError:
                    errors["subdivision"] = [_("This country has no region with this code.")]
    clean["country"] = country
    clean["subdivision"] = subdivision
    clean["public_holidays"] = bool(data.get("public_holidays"))

    week: list[list[list[int]]] = []
    for field in WEEKDAY_FIELDS:
        try:
            week.append(parse_hours(str(data.get(field) or "")))
        except ValueError as exc:
            errors[field] = [str(exc)]
            week.append([])
    clean["week"] = week
    if errors:
        raise Invalid(fields=errors)
    try:  # the arithmetic's own check, the last word on what it accepts
        businesstime.Calendar("UTC", week=_week_for_arithmetic(week))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return clean


def do_save_calendar(
    member: Membership, calendar: BusinessCalendar | None, data: dict[str, Any]
) -> BusinessCalendar:
    """Create (calendar None) or update a calendar of the member's shop. A shop's first calendar
    becomes the shop's calendar, so creating one is enough to replace the built-in hours."""
    require(member, Role.ADMIN)
    tenant = member.tenant
    clean = check_calendar(tenant, calendar, data)
    try:
        with transaction.atomic():
            if calendar is None:
                first = not calendars_of(tenant).select_for_update().exists()
                calendar = BusinessCalendar.objects.create(tenant=tenant, is_default=first, **clean)
                kind = "calendar.created"
            else:
                for key, value in clean.items():
                    setattr(calendar, key, value)
                calendar.updated_at = timezone.now()
                calendar.save(update_fields=[*clean, "updated_at"])
                kind = "calendar.updated"
            record_event(tenant, kind, actor=member, data={"calendar": calendar.pk, "name": calendar.name})
    except IntegrityError:  # the same name saved by someone else a moment ago
        raise Invalid(fields={"name": [_("Another calendar of this shop has this name.")]}) from None
    return calendar


def do_make_shop_calendar(member: Membership, calendar: BusinessCalendar) -> None:
    """Make `calendar` the shop's calendar, in one transaction: at no moment are there two."""
    require(member, Role.ADMIN)
    now = timezone.now()
    with transaction.atomic():
        # Lock the shop's calendars: two admins switching at once end with one shop's calendar.
        list(calendars_of(member.tenant).select_for_update().order_by("pk"))
        # Clear the old one first: the database allows at most one default per shop.
        calendars_of(member.tenant).filter(is_default=True).exclude(pk=calendar.pk).update(
            is_default=False, updated_at=now
        )
        calendars_of(member.tenant).filter(pk=calendar.pk).update(is_default=True, updated_at=now)
        record_event(member.tenant, "calendar.made_default", actor=member, data={"calendar": calendar.pk})
    calendar.is_default, calendar.updated_at = True, now


def do_delete_calendar(member: Membership, calendar: BusinessCalendar) -> None:
    """Delete a calendar; its teams and channels fall back to the shop's calendar. The shop's
    calendar goes only as the last one (Conflict otherwise: make another the shop's first)."""
    require(member, Role.ADMIN)
    with transaction.atomic():
        others = calendars_of(member.tenant).select_for_update().exclude(pk=calendar.pk)
        if calendar.is_default and others.exists():
            raise Conflict(
                _("This is the shop's calendar: make another calendar the shop's before deleting it.")
            )
        Team.objects.filter(tenant=member.tenant, calendar=calendar).update(calendar=None)
        Channel.objects.filter(tenant=member.tenant, calendar=calendar).update(calendar=None)
        record_event(
            member.tenant,
            "calendar.deleted",
            actor=member,
            data={"calendar": calendar.pk, "name": calendar.name},
        )
        calendar.delete()


def check_calendar_day(data: dict[str, Any]) -> dict[str, Any]:
    """A special day from form-like data: date (YYYY-MM-DD), hours text (empty: closed), note."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    raw_date = data.get("date")
    day: dt.date | None = raw_date if isinstance(raw_date, dt.date) else None
    if day is None:
        try:
            day = dt.date.fromisoformat(str(raw_date or "").strip())
        except ValueError:
            errors["date"] = [_("Give a date such as 2026-12-24.")]
    if day is not None and abs(day.year - timezone.now().year) > SPECIAL_DAY_YEARS:
        errors["date"] = [_("Give a date within %(years)s years of today.") % {"years": SPECIAL_DAY_YEARS}]
    clean["date"] = day
    try:
        clean["hours"] = parse_hours(str(data.get("hours") or ""))
    except ValueError as exc:
        errors["hours"] = [str(exc)]
    note = str(data.get("note") or "").strip()
    if len(note) > 200:
        errors["note"] = [_("Keep the note under 200 characters.")]
    clean["note"] = note
    if errors:
        raise Invalid(fields=errors)
    return clean


def do_save_calendar_day(member: Membership, calendar: BusinessCalendar, data: dict[str, Any]) -> CalendarDay:
    """Add a special day, or replace the one already on that date."""
    require(member, Role.ADMIN)
    clean = check_calendar_day(data)
    with transaction.atomic():
        day, created = CalendarDay.objects.update_or_create(
            calendar=calendar, date=clean["date"], defaults={"hours": clean["hours"], "note": clean["note"]}
        )
        _touch(calendar)
        record_event(
            member.tenant,
            "calendar.day_saved",
            actor=member,
            data={"calendar": calendar.pk, "date": day.date.isoformat(), "created": created},
        )
    return day


def do_remove_calendar_day(member: Membership, calendar: BusinessCalendar, day_id: int | str) -> None:
    require(member, Role.ADMIN)
    with transaction.atomic():
        try:
            day = CalendarDay.objects.get(pk=day_id, calendar=calendar)
        except (CalendarDay.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None
        day.delete()
        _touch(calendar)
        record_event(
            member.tenant,
            "calendar.day_removed",
            actor=member,
            data={"calendar": calendar.pk, "date": day.date.isoformat()},
        )


def _touch(calendar: BusinessCalendar) -> None:
    """Mark the calendar changed, so cached arithmetic is rebuilt (see build_calendar)."""
    calendar.updated_at = timezone.now()
    calendar.save(update_fields=["updated_at"])


def holiday_names(
    country: str, subdivision: str, years: list[int], language: str | None
) -> dict[dt.date, str]:
    """Public holidays with names in `language` where the holidays package has it (else in the
    country's own language); {} for a country it does not know."""
    import holidays  # only the settings pages need the names

    try:
        supported = holidays.country_holidays(country).supported_languages
    except NotImplementedError:
        return {}
    wanted = None
    if language:
        for candidate in (language, language.replace("-", "_"), "en_US" if language.startswith("en") else ""):
            if candidate in supported:
                wanted = candidate
                break
    try:
        return businesstime.public_holidays(country, subdivision or None, years, language=wanted)
    except ValueError:
        return {}


def do_set_calendar(
    member: Membership, target: Team | Channel, calendar_id: int | str | None
) -> BusinessCalendar | None:
    """Give a team or a channel its own calendar (None or "": back to the shop's calendar)."""
    require(member, Role.ADMIN)
    if target.tenant_id != member.tenant.pk:
        raise NotFound()
    calendar = access_calendar(member, calendar_id) if calendar_id not in (None, "") else None
    with transaction.atomic():
        target.calendar = calendar
        target.save(update_fields=["calendar"])
        record_event(
            member.tenant,
            "team.calendar_set" if isinstance(target, Team) else "channel.calendar_set",
            actor=member,
            data={
                "team" if isinstance(target, Team) else "channel": target.pk,
                "calendar": calendar.pk if calendar else None,
            },
        )
    return calendar
