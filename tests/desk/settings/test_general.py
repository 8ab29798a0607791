"""General settings of a shop: name, time zone, languages, country, reopening closed conversations."""

from __future__ import annotations

import pytest

from frontdesk.desk.models import Event

pytestmark = pytest.mark.django_db


def url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/general/"


def form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Rowery Nowak",
        "time_zone": "Europe/Berlin",
        "languages": ["en", "de"],
        "default_language": "de",
        "country": "DE",
        "reopen_closed": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_shows_the_shops_current_settings(as_admin, tenant):
    page = as_admin.get(url(tenant)).content.decode()

    assert 'value="Sklep Rowerowy"' in page
    assert '<optgroup label="Europe">' in page
    assert '<option value="Europe/Warsaw" selected>Europe/Warsaw</option>' in page
    assert '<option value="PL" selected>Poland</option>' in page
    assert 'name="languages" value="pl"' in page and "checked" in page
    assert "reopen it (on)" in page  # the help text of the toggle


def test_an_admin_saves_the_settings_default_language_first(as_admin, tenant, admin):
    response = as_admin.post(url(tenant), form(), follow=True)

    assert response.status_code == 200
    assert "The shop&#x27;s settings are saved." in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.name == "Rowery Nowak"
    assert tenant.time_zone == "Europe/Berlin"
    assert tenant.languages == ["de", "en"]
    assert tenant.country == "DE"
    assert tenant.reopen_closed is True
    event = Event.objects.get(tenant=tenant, kind="tenant.updated")
    assert event.actor == admin


def test_an_unticked_toggle_turns_reopening_off(as_admin, tenant):
    tenant.reopen_closed = True
    tenant.save(update_fields=["reopen_closed"])

    as_admin.post(url(tenant), form(reopen_closed=None))

    tenant.refresh_from_db()
    assert tenant.reopen_closed is False


def test_the_default_language_is_kept_even_when_not_ticked(as_admin, tenant):
    as_admin.post(url(tenant), form(languages=["en"], default_language="pl"))

    tenant.refresh_from_db()
    assert tenant.languages == ["pl", "en"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice."),
        ({"country": "XX"}, "country", "Select a valid choice."),
        ({"languages": ["tlh"]}, "languages", "Select a valid choice."),
    ],
)
def test_bad_values_are_refused_with_the_error_beside_the_field(as_admin, tenant, changes, field, message):
    response = as_admin.post(url(tenant), form(**changes))

    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert message in page
    tenant.refresh_from_db()
    assert tenant.name == "Sklep Rowerowy"
    assert not Event.objects.filter(kind="tenant.updated").exists()


def test_a_legacy_time_zone_of_the_shop_stays_selectable(as_admin, tenant):
    tenant.time_zone = "Poland"
    tenant.save(update_fields=["time_zone"])

    page = as_admin.get(url(tenant)).content.decode()

    assert '<option value="Poland" selected>Poland</option>' in page
