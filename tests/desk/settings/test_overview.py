"""The settings overview: the set-up checklist and the sections a role may open."""

from __future__ import annotations

import pytest

from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_a_new_shop_sees_three_steps_to_do(as_owner, tenant):
    response = as_owner.get(f"/t/{tenant.slug}/settings/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "0 of 3 steps done" in page
    for step in ("Add a channel", "Invite your team", "Check your business details"):
        assert step in page


def test_steps_are_ticked_once_done(as_owner, owner, tenant, agent):
    ChannelFactory(tenant=tenant)
    as_owner.post(
        f"/t/{tenant.slug}/settings/general/",
        {
            "name": "Rowery",
            "time_zone": "Europe/Warsaw",
            "languages": ["pl"],
            "default_language": "pl",
            "country": "PL",
        },
    )

    page = as_owner.get(f"/t/{tenant.slug}/settings/").content.decode()

    assert "3 of 3 steps done" in page
    assert "All set" in page
