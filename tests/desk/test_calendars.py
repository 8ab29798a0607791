"""Which opening hours apply to a conversation: the channel's, the team's, the shop's, or the
built-in Monday–Friday 09:00–17:00 with the country's public holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.actions.calendars import business_calendar, forget_calendars
from frontdesk.desk.models import BusinessCalendar, CalendarDay
from tests.factories import ChannelFactory, TeamFactory

pytestmark = pytest.mark.django_db

WARSAW = dt.timezone(dt.timedelta(hours=1))  # CET: these dates are all in winter time


@pytest.fixture(autouse=True)
def _fresh_calendars():  # type: ignore[no-untyped-def]
    forget_calendars()
    yield
    forget_calendars()


def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def test_a_shop_that_set_nothing_up_is_open_on_weekdays_nine_to_five_and_closed_on_polish_holidays(tenant):
    calendar = business_calendar(tenant)
    assert calendar.is_open(at(22, 9))  # Monday
    assert not calendar.is_open(at(22, 17))
    assert not calendar.is_open(at(20, 12))  # Saturday
    assert not calendar.is_open(at(24, 12))  # Wigilia, a public holiday from 2025
    assert calendar.add(at(23, 16), dt.timedelta(hours=2)) == at(29, 10).astimezone(dt.UTC)


def test_the_shops_own_calendar_replaces_the_built_in_one(tenant):
    BusinessCalendar.objects.create(
        tenant=tenant, name="Sklep", is_default=True, week=[[[480, 1200]]] * 6 + [[]]
    )
    calendar = business_calendar(tenant)
    assert calendar.is_open(at(20, 19))  # Saturday evening
    assert not calendar.is_open(at(21, 12))  # Sunday


def test_a_teams_calendar_wins_over_the_shops_and_a_channels_over_the_teams(tenant):
    BusinessCalendar.objects.create(tenant=tenant, name="Sklep", is_default=True)
    phones = BusinessCalendar.objects.create(
        tenant=tenant, name="Telefon", week=[[[600, 840]]] * 5 + [[], []]
    )
    late = BusinessCalendar.objects.create(tenant=tenant, name="Wieczorem", week=[[[960, 1320]]] * 7)
    team = TeamFactory(tenant=tenant, calendar=late)
    channel = ChannelFactory(tenant=tenant, calendar=phones)
    assert business_calendar(tenant, team=team).is_open(at(21, 21))
    assert not business_calendar(tenant, team=team, channel=channel).is_open(at(21, 21))
    assert business_calendar(tenant, team=team, channel=channel).is_open(at(22, 13))


def test_a_special_day_and_a_closure_are_seen_as_soon_as_the_calendar_is_saved(tenant):
    shop = BusinessCalendar.objects.create(tenant=tenant, name="Sklep", is_default=True)
    assert not business_calendar(tenant).is_open(at(21, 11))  # the Sunday before Christmas
    CalendarDay.objects.create(calendar=shop, date=dt.date(2025, 12, 21), hours=[[600, 960]])
    CalendarDay.objects.create(calendar=shop, date=dt.date(2025, 12, 22), hours=[], note="Inwentaryzacja")
    shop.updated_at = timezone.now()
    shop.save(update_fields=["updated_at"])
    calendar = business_calendar(tenant)
    assert calendar.is_open(at(21, 11))
    assert not calendar.is_open(at(22, 11))


def test_public_holidays_can_be_left_open(tenant):
    BusinessCalendar.objects.create(tenant=tenant, name="Zawsze", is_default=True, public_holidays=False)
    assert business_calendar(tenant).is_open(at(24, 12))
