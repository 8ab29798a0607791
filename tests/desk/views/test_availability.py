"""A member sets their own availability from the user menu."""

from __future__ import annotations

import pytest

from frontdesk.desk.models import Event, Membership

pytestmark = pytest.mark.django_db


def test_set_my_availability_and_go_back(agent_client, agent):
    response = agent_client.post(
        "/t/rowery/me/availability/", {"availability": "away"}, HTTP_REFERER="http://testserver/t/rowery/c/5/"
    )

    assert response.status_code == 302
    assert response["Location"] == "http://testserver/t/rowery/c/5/"
    assert Membership.objects.get(pk=agent.pk).availability == "away"
    assert Event.objects.filter(kind="member.updated").exists()


def test_a_foreign_referrer_is_not_followed(agent_client):
    response = agent_client.post(
        "/t/rowery/me/availability/", {"availability": "online"}, HTTP_REFERER="https://evil.example/"
    )

    assert response["Location"] == "/t/rowery/"


def test_an_unknown_availability_is_a_422(agent_client, agent):
    response = agent_client.post("/t/rowery/me/availability/", {"availability": "sleeping"})

    assert response.status_code == 422
    assert Membership.objects.get(pk=agent.pk).availability == "online"


def test_the_user_menu_offers_it(agent_client):
    assert 'action="/t/rowery/me/availability/"' in agent_client.get("/t/rowery/").content.decode()
