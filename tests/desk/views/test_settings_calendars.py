"""Settings › Business hours: admins edit the shop's opening hours, closures and special days;
the arithmetic behind due times sees each change at once; agents look but cannot touch; another
shop's members get 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.desk.actions.calendars import business_calendar, forget_calendars, parse_hours
from frontdesk.desk.models import BusinessCalendar, CalendarDay, Event, Membership, Role
from tests.desk.views.conftest import signed_in, text_of
from tests.factories import ChannelFactory, MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db

WARSAW_WINTER = dt.timezone(dt.timedelta(hours=1))
WEEK = {
    "mon": "09:00-13:00, 15:00-19:00",
    "tue": "9-17",
    "wed": "09:00-17:00",
    "thu": "09:00-17:00",
    "fri": "09:00-17:00",
    "sat": "10:00-14:00",
    "sun": "",
}


@pytest.fixture(autouse=True)
def _fresh_calendars():  # type: ignore[no-untyped-def]
    forget_calendars()
    yield
    forget_calendars()


@pytest.fixture
def admin(tenant) -> Membership:  # type: ignore[no-untyped-def]
    return MembershipFactory(tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example")


@pytest.fixture
def as_admin(admin: Membership) -> Client:
    return signed_in(admin)


def hours_url(tenant, suffix: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/hours/{suffix}"


def create(client: Client, tenant, name: str = "Sklep", **fields: str):  # type: ignore[no-untyped-def]
    data = {"name": name, "time_zone": "Europe/Warsaw", "country": "PL", "public_holidays": "on", **WEEK}
    return client.post(hours_url(tenant, "new/"), {**data, **fields})


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 12, day, hour, minute, tzinfo=WARSAW_WINTER)


def test_a_shop_without_a_calendar_sees_the_built_in_hours_and_a_button_to_create_its_own(as_admin, tenant):
    page = as_admin.get(hours_url(tenant))

    assert page.status_code == 200
    text = text_of(page)
    assert "Built-in hours" in text
    assert "Monday: 09:00-17:00" in text
    assert "Sunday: closed" in text
    assert hours_url(tenant, "new/") in page.content.decode()
    form = as_admin.get(hours_url(tenant, "new/")).content.decode()
    assert 'value="09:00-17:00"' in form


def test_an_admin_creates_a_calendar_with_a_split_shift_and_it_becomes_the_shops(as_admin, tenant):
    response = create(as_admin, tenant)

    calendar = BusinessCalendar.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == hours_url(tenant, f"{calendar.pk}/")
    assert calendar.is_default
    assert calendar.week[0] == [[540, 780], [900, 1140]]
    assert calendar.week[1] == [[540, 1020]]
    assert calendar.week[6] == []
    arithmetic = business_calendar(tenant)
    assert arithmetic.is_open(at(22, 12))  # Monday, morning shift
    assert not arithmetic.is_open(at(22, 14))  # the lunch break
    assert arithmetic.is_open(at(22, 18))  # afternoon shift
    listing = text_of(as_admin.get(hours_url(tenant)))
    assert "Sklep the shop's calendar" in listing
    assert "Monday: 09:00-13:00, 15:00-19:00" in listing
    assert Event.objects.filter(kind="calendar.created").count() == 1


def test_an_overlapping_interval_gets_a_clear_error_beside_its_day_and_changes_nothing(as_admin, tenant):
    create(as_admin, tenant)
    calendar = BusinessCalendar.objects.get()
    before = (calendar.week, calendar.updated_at)

    response = as_admin.post(
        hours_url(tenant, f"{calendar.pk}/"),
        {"action": "save", "name": "Sklep", **WEEK, "mon": "09:00-13:00, 12:00-19:00"},
    )

    assert response.status_code == 422
    assert "09:00-13:00 and 12:00-19:00 overlap." in text_of(response)
    calendar.refresh_from_db()
    assert (calendar.week, calendar.updated_at) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tue", "17:00-09:00", "17:00-09:00 ends before it starts."),
        ("wed", "9am-5pm", "“9am” is not a time; write it as 09:00."),
        ("thu", "09:00-25:00", "“25:00” is not a time of day."),
        ("time_zone", "Mars/Olympus", "Select a valid choice."),
        ("country", "XX", "There is no list of public holidays for this country."),
        ("name", "", "This field is required."),
    ],
)
def test_bad_values_are_refused_with_a_readable_message_and_create_nothing(
    as_admin, tenant, field, value, message
):
    response = create(as_admin, tenant, **{field: value})

    assert response.status_code == 422
    assert message in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_name_is_unique_in_the_shop(as_admin, tenant):
    create(as_admin, tenant)

    response = create(as_admin, tenant)

    assert response.status_code == 422
    assert "Another calendar of this shop has this name." in text_of(response)
    assert BusinessCalendar.objects.count() == 1


def test_a_special_day_changes_the_arithmetic_at_once_and_removing_it_restores_the_week(as_admin, tenant):
    create(as_admin, tenant)
    calendar = BusinessCalendar.objects.get()
    assert business_calendar(tenant).is_open(at(29, 10))  # a Monday, built and cached

    response = as_admin.post(
        hours_url(tenant, f"{calendar.pk}/"),
        {"action": "add_day", "date": "2025-12-29", "hours": "", "note": "Stock-taking"},
    )

    assert response.status_code == 302
    assert not business_calendar(tenant).is_open(at(29, 10))
    page = text_of(as_admin.get(hours_url(tenant, f"{calendar.pk}/")))
    assert "Stock-taking" in page
    day = CalendarDay.objects.get()

    as_admin.post(
        hours_url(tenant, f"{calendar.pk}/"),
        {"action": "add_day", "date": "2025-12-28", "hours": "10:00-14:00"},
    )
    assert business_calendar(tenant).is_open(dt.datetime(2025, 12, 28, 11, tzinfo=WARSAW_WINTER))  # a Sunday

    as_admin.post(hours_url(tenant, f"{calendar.pk}/"), {"action": "remove_day", "day": str(day.pk)})
    assert business_calendar(tenant).is_open(at(29, 10))


def test_a_special_day_with_bad_hours_is_refused(as_admin, tenant):
    create(as_admin, tenant)
    calendar = BusinessCalendar.objects.get()

    response = as_admin.post(
        hours_url(tenant, f"{calendar.pk}/"), {"action": "add_day", "date": "2025-12-24", "hours": "14-10"}
    )

    assert response.status_code == 422
    assert "14:00-10:00 ends before it starts." in text_of(response)
    assert not CalendarDay.objects.exists()


def test_the_edit_page_lists_this_and_next_years_public_holidays_in_the_viewers_language(as_admin, tenant):
    create(as_admin, tenant)
    url = hours_url(tenant, f"{BusinessCalendar.objects.get().pk}/")

    polish = text_of(as_admin.get(url, HTTP_ACCEPT_LANGUAGE="pl"))
    english = text_of(as_admin.get(url, HTTP_ACCEPT_LANGUAGE="en"))

    year = timezone.localdate().year
    assert f"11 listopada {year}" in polish and f"11 listopada {year + 1}" in polish
    assert "Święto Niepodległości" in polish and "Independence Day" not in polish
    assert "Independence Day" in english


def test_there_is_only_ever_one_shop_calendar(as_admin, tenant):
    create(as_admin, tenant, name="Sklep")
    create(as_admin, tenant, name="Magazyn", sun="10:00-12:00")
    assert business_calendar(tenant).week[6] == ()
    shop, warehouse = BusinessCalendar.objects.get(name="Sklep"), BusinessCalendar.objects.get(name="Magazyn")
    assert shop.is_default and not warehouse.is_default

    as_admin.post(hours_url(tenant, f"{warehouse.pk}/"), {"action": "make_default"})

    assert list(BusinessCalendar.objects.filter(is_default=True)) == [warehouse]
    assert business_calendar(tenant).week[6] == ((600, 720),)  # the warehouse's Sunday, at once
    assert as_admin.get(hours_url(tenant)).content.decode().count('data-testid="shop-calendar"') == 1


def test_the_shops_calendar_is_deleted_only_as_the_last_one_and_users_of_a_deleted_one_fall_back(
    as_admin, tenant
):
    create(as_admin, tenant, name="Sklep")
    create(as_admin, tenant, name="Magazyn", sun="10:00-12:00")
    shop, warehouse = BusinessCalendar.objects.get(name="Sklep"), BusinessCalendar.objects.get(name="Magazyn")
    team = TeamFactory(tenant=tenant, calendar=warehouse)
    channel = ChannelFactory(tenant=tenant, kind="api", calendar=warehouse)
    listing = text_of(as_admin.get(hours_url(tenant)))
    assert f"team {team.name}" in listing and f"channel {channel.name}" in listing

    refused = as_admin.post(hours_url(tenant, f"{shop.pk}/"), {"action": "delete"})
    as_admin.post(hours_url(tenant, f"{warehouse.pk}/"), {"action": "delete"})

    assert refused.status_code == 409
    assert list(BusinessCalendar.objects.all()) == [shop]
    team.refresh_from_db()
    channel.refresh_from_db()
    assert team.calendar is None and channel.calendar is None
    assert business_calendar(tenant, team=team, channel=channel).week[6] == ()
    as_admin.post(hours_url(tenant, f"{shop.pk}/"), {"action": "delete"})
    assert not BusinessCalendar.objects.exists()


def test_an_agent_sees_the_hours_but_cannot_change_them(agent, as_admin, tenant):
    create(as_admin, tenant)
    calendar = BusinessCalendar.objects.get()
    as_agent = signed_in(agent)
    events = Event.objects.count()

    assert as_agent.get(hours_url(tenant)).status_code == 200
    page = as_agent.get(hours_url(tenant, f"{calendar.pk}/"))
    assert page.status_code == 200
    assert 'value="add_day"' not in page.content.decode()
    for data in (
        {"action": "save", "name": "Hacked", **WEEK},
        {"action": "add_day", "date": "2025-12-29"},
        {"action": "make_default"},
        {"action": "delete"},
    ):
        assert as_agent.post(hours_url(tenant, f"{calendar.pk}/"), data).status_code == 403
    assert create(as_agent, tenant, name="Agent's").status_code == 403

    assert Event.objects.count() == events
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Sklep"]
    assert not CalendarDay.objects.exists()


def test_a_member_of_another_shop_gets_404_for_this_shops_calendar(outsider, owner, tenant):
    as_owner = signed_in(owner)
    create(as_owner, tenant)
    calendar = BusinessCalendar.objects.get()
    as_outsider = signed_in(outsider)
    events = Event.objects.count()

    for url in (hours_url(tenant), hours_url(tenant, "new/"), hours_url(tenant, f"{calendar.pk}/")):
        assert as_outsider.get(url).status_code == 404, url
        assert as_outsider.post(url, {"action": "delete", "name": "Hacked"}).status_code == 404, url
    # Under their own shop's address, this shop's calendar id does not resolve either.
    own = f"/t/{outsider.tenant.slug}/settings/hours/{calendar.pk}/"
    assert as_outsider.get(own).status_code == 404
    assert as_outsider.post(own, {"action": "delete"}).status_code == 404

    assert Event.objects.count() == events
    assert BusinessCalendar.objects.filter(pk=calendar.pk).exists()


def test_hours_text_reads_back_the_way_it_is_shown():
    assert parse_hours("15:00–19:00; 09:00 - 13:00") == [[540, 780], [900, 1140]]
    assert parse_hours("00:00-24:00") == [[0, 1440]]
    assert parse_hours("  ") == []


def test_an_admin_gives_a_team_and_a_channel_their_own_calendar_and_takes_it_back(as_admin, tenant):
    create(as_admin, tenant, name="Sklep")
    create(as_admin, tenant, name="Magazyn", sun="10:00-12:00")
    warehouse = BusinessCalendar.objects.get(name="Magazyn")
    team = TeamFactory(tenant=tenant)
    channel = ChannelFactory(tenant=tenant, kind="api")
    team_url = f"/t/{tenant.slug}/settings/teams/{team.pk}/"
    channel_url = f"/t/{tenant.slug}/settings/channels/{channel.pk}/"
    assert "The shop's calendar" in text_of(as_admin.get(team_url))

    as_admin.post(team_url, {"action": "set_calendar", "calendar": str(warehouse.pk)})
    as_admin.post(channel_url, {"action": "set_calendar", "calendar": str(warehouse.pk)})

    team.refresh_from_db()
    channel.refresh_from_db()
    assert team.calendar == warehouse and channel.calendar == warehouse
    assert business_calendar(tenant, team=team).week[6] == ((600, 720),)
    assert f'value="{warehouse.pk}" selected' in as_admin.get(channel_url).content.decode()
    as_admin.post(team_url, {"action": "set_calendar", "calendar": ""})
    team.refresh_from_db()
    assert team.calendar is None


def test_a_team_cannot_be_given_another_shops_calendar(as_admin, tenant, outsider):
    theirs = BusinessCalendar.objects.create(tenant=outsider.tenant, name="Theirs", is_default=True)
    team = TeamFactory(tenant=tenant)

    response = as_admin.post(
        f"/t/{tenant.slug}/settings/teams/{team.pk}/", {"action": "set_calendar", "calendar": str(theirs.pk)}
    )

    assert response.status_code == 404
    team.refresh_from_db()
    assert team.calendar is None
