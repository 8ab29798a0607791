"""One's own profile: name, language, time zone, password."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(agent) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.login(username=agent.user.email, password=PASSWORD)
    return client


def test_the_profile_shows_ones_details_and_shops(me, agent):
    page = me.get("/account/").content.decode()

    assert 'value="Anna Agent"' in page
    assert "anna@rowery.example" in page
    assert "Sklep Rowerowy" in page


def test_saving_name_language_and_time_zone(me, agent):
    response = me.post("/account/", {"name": "Anna Nowak", "language": "pl", "time_zone": "Europe/London"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "pl"
    agent.user.refresh_from_db()
    assert (agent.user.name, agent.user.language, agent.user.time_zone) == (
        "Anna Nowak",
        "pl",
        "Europe/London",
    )
    assert '<html lang="pl">' in me.get("/account/").content.decode()


def test_bad_profile_values_are_shown_beside_the_fields(me, agent):
    response = me.post("/account/", {"name": "", "language": "xx", "time_zone": "Mars/Base"})

    assert response.status_code == 422
    page = response.content.decode()
    for field in ("name", "language", "time_zone"):
        assert f'id="id_{field}_error"' in page


def test_changing_the_password_needs_the_current_one(me, agent):
    wrong = me.post(
        "/account/", {"action": "password", "old_password": "nope", "new_password": "a-brand-new-passphrase"}
    )
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.content.decode()

    right = me.post(
        "/account/",
        {"action": "password", "old_password": PASSWORD, "new_password": "a-brand-new-passphrase"},
    )

    assert right.status_code == 302
    agent.user.refresh_from_db()
    assert agent.user.check_password("a-brand-new-passphrase")
    assert me.get("/account/").status_code == 200  # still signed in


def test_the_profile_needs_signing_in(client):
    assert client.get("/account/")["Location"].startswith("/login/")


def test_the_user_menu_links_to_the_profile(me, agent):
    page = me.get(f"/t/{agent.tenant.slug}/").content.decode()

    assert 'href="/account/"' in page
