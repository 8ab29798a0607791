"""Business hours: the shop's calendars, their weekly hours, special days and public holidays.

Every member may look (agents promise customers reply times from them); only admins change
anything, which the actions enforce (desk/actions/calendars.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ..actions.calendars import (
    WEEKDAY_FIELDS,
    access_calendar,
    calendars_of,
    do_delete_calendar,
    do_make_shop_calendar,
    do_remove_calendar_day,
    do_save_calendar,
    do_save_calendar_day,
    format_hours,
    holiday_names,
)
from ..errors import ActionError, Forbidden, Invalid
from ..models import BusinessCalendar, Channel, Role, Team, Tenant
from ..models.service import DEFAULT_WEEK
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_forms import set_choices, time_zone_choices

_HOURS_HELP = gettext_lazy(
    "For example 09:00-17:00, or 09:00-13:00, 14:00-18:00 for a split shift; empty: closed."
)


class CalendarForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("The hours below are in this time zone."),
    )
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        required=False,
        help_text=gettext_lazy(
            "Two-letter code (PL) whose public holidays close the calendar; empty: the shop's country."
        ),
    )
    subdivision = forms.CharField(
        label=gettext_lazy("Region"),
        max_length=10,
        required=False,
        help_text=gettext_lazy("Optional, for regional holidays (e.g. BY for Bavaria in DE)."),
    )
    public_holidays = forms.BooleanField(label=gettext_lazy("Closed on public holidays"), required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = str(self.initial.get("time_zone") or "")
        shop_zone = _("The shop's time zone (%(zone)s)") % {"zone": tenant.time_zone}
        set_choices(self, "time_zone", [("", shop_zone), *time_zone_choices(current)])
        # The week as seven text inputs, Monday first, each labelled with the day's name.
        for index, field in enumerate(WEEKDAY_FIELDS):
            self.fields[field] = forms.CharField(
                label=WEEKDAYS[index],
                required=False,
                max_length=200,
                help_text=_HOURS_HELP if index == 0 else "",
            )


class DayForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.CharField(
        label=gettext_lazy("Hours"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Empty: closed all day."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)


def _initial(row: BusinessCalendar | None) -> dict[str, Any]:
    """Form values of a calendar row; None gives the built-in hours (a new calendar starts there)."""
    week = row.week if row else DEFAULT_WEEK
    values: dict[str, Any] = {
        "name": row.name if row else "",
        "time_zone": row.time_zone if row else "",
        "country": row.country if row else "",
        "subdivision": row.subdivision if row else "",
        "public_holidays": row.public_holidays if row else True,
    }
    values.update({field: format_hours(hours) for field, hours in zip(WEEKDAY_FIELDS, week, strict=True)})
    return values


def _week_summary(week: Any) -> list[dict[str, str]]:
    return [
        {"day": str(WEEKDAYS[index]), "hours": format_hours(hours) or _("closed")}
        for index, hours in enumerate(week)
    ]


@settings_view(Role.AGENT)
def calendars(request: MemberRequest) -> HttpResponse:
    """The shop's calendars, or the built-in hours when it has none."""
    tenant = request.member.tenant
    rows = list(calendars_of(tenant).order_by("-is_default", "name"))
    teams = Team.objects.filter(tenant=tenant, calendar__isnull=False).order_by("name")
    channels = Channel.objects.filter(tenant=tenant, calendar__isnull=False).order_by("name")
    items = [
        {
            "calendar": row,
            "week": _week_summary(row.week),
            "teams": [team for team in teams if team.calendar_id == row.pk],
            "channels": [channel for channel in channels if channel.calendar_id == row.pk],
        }
        for row in rows
    ]
    return page(
        request,
        "calendars.html",
        {
            "section": "settings_calendars",
            "items": items,
            "builtin_week": _week_summary(DEFAULT_WEEK),
            "can_edit": request.member.is_admin,
        },
    )


def _edit_page(
    request: MemberRequest,
    row: BusinessCalendar | None,
    form: CalendarForm,
    *,
    day_form: DayForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = request.member.tenant
    year = timezone.localdate().year
    holidays: dict[Any, str] = {}
    country = (row.country if row else "") or tenant.country
    if country:
        holidays = holiday_names(country, row.subdivision if row else "", [year, year + 1], get_language())
    return page(
        request,
        "calendar.html",
        {
            "section": "settings_calendars",
            "calendar": row,
            "form": form,
            "day_form": day_form or DayForm(),
            "days": [{"day": day, "hours": format_hours(day.hours) or _("closed")} for day in row.days.all()]
            if row
            else [],
            "holidays": sorted(holidays.items()),
            "holiday_country": country,
            "can_edit": request.member.is_admin,
        },
        status=status,
    )


@settings_view(Role.AGENT, methods=("GET", "POST"))
def calendar_new(request: MemberRequest) -> HttpResponse:
    """A new calendar, pre-filled with the built-in hours; POST creates it."""
    tenant = request.member.tenant
    if request.method != "POST":
        initial = _initial(None)
        if not calendars_of(tenant).exists():
            initial["name"] = _("Opening hours")
        return _edit_page(request, None, CalendarForm(initial=initial, tenant=tenant))
    if not request.member.is_admin:
        raise Forbidden(_("Only an admin of this shop can change business hours."))
    form = CalendarForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _edit_page(request, None, form, status=422)
    try:
        row = do_save_calendar(request.member, None, form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return _edit_page(request, None, form, status=exc.status)
    messages.success(request, _("The calendar %(name)s is created.") % {"name": row.name})
    return redirect("settings_calendar", tenant.slug, row.pk)


@settings_view(Role.AGENT, methods=("GET", "POST"))
def calendar_detail(request: MemberRequest, calendar_id: int) -> HttpResponse:
    """One calendar; POST with `action`: save, make_default, delete, add_day, remove_day."""
    row = access_calendar(request.member, calendar_id)
    tenant = request.member.tenant
    form = CalendarForm(initial=_initial(row), tenant=tenant)
    if request.method != "POST":
        return _edit_page(request, row, form)
    # Checked here too (the actions check again) so an agent's POST is refused before its form is
    # validated: a 403, never a list of field errors.
    if not request.member.is_admin:
        raise Forbidden(_("Only an admin of this shop can change business hours."))
    action = request.POST.get("action", "save")
    back = redirect("settings_calendar", tenant.slug, row.pk)
    if action == "make_default":
        do_make_shop_calendar(request.member, row)
        messages.success(request, _("%(name)s is now the shop's calendar.") % {"name": row.name})
        return back
    if action == "delete":
        do_delete_calendar(request.member, row)
        messages.success(request, _("The calendar %(name)s is deleted.") % {"name": row.name})
        return redirect("settings_calendars", tenant.slug)
    if action == "remove_day":
        do_remove_calendar_day(request.member, row, request.POST.get("day", ""))
        messages.success(request, _("The special day is removed."))
        return back
    if action == "add_day":
        day_form = DayForm(request.POST)
        if not day_form.is_valid():
            return _edit_page(request, row, form, day_form=day_form, status=422)
        try:
            do_save_calendar_day(request.member, row, day_form.cleaned_data)
        except ActionError as exc:
            apply_errors(day_form, exc)
            return _edit_page(request, row, form, day_form=day_form, status=exc.status)
        messages.success(request, _("The special day is saved."))
        return back
    if action != "save":
        raise Invalid(_("Unknown action."))
    form = CalendarForm(request.POST, initial=_initial(row), tenant=tenant)
    if not form.is_valid():
        return _edit_page(request, row, form, status=422)
    try:
        do_save_calendar(request.member, row, form.cleaned_data)
    except ActionError as exc:
        row.refresh_from_db()
        apply_errors(form, exc)
        return _edit_page(request, row, form, status=exc.status)
    messages.success(request, _("The calendar %(name)s is saved.") % {"name": row.name})
    return back
