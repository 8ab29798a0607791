"""Signing in."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def test_signing_in_switches_to_the_users_chosen_language(client, tenant):
    member = MembershipFactory(tenant=tenant, user__email="ola@rowery.example", user__language="pl")

    response = client.post("/login/", {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "pl"


def test_a_wrong_password_keeps_the_person_on_the_login_page(client, agent):
    response = client.post("/login/", {"username": agent.user.email, "password": "not-the-password"})

    assert response.status_code == 200
    assert "django_language" not in response.cookies
    assert b'role="alert"' in response.content


def test_the_favicon_address_browsers_guess_leads_to_ours(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("desk/favicon.svg")
