"""Teams and tags in the settings: supervisors create and edit them, admins also delete them."""

from __future__ import annotations

import pytest

from frontdesk.desk.models import Event, Tag, Team
from tests.factories import MembershipFactory, TagFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_a_supervisor_creates_a_team_with_members(as_supervisor, tenant, agent, supervisor):
    response = as_supervisor.post(
        f"/t/{tenant.slug}/settings/teams/",
        {"name": "Zwroty", "description": "Returns and refunds", "members": [agent.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "The team Zwroty is created." in page
    team = Team.objects.get(tenant=tenant)
    assert (team.name, team.description) == ("Zwroty", "Returns and refunds")
    assert list(team.members.all()) == [agent]
    assert Event.objects.filter(kind="team.created", actor=supervisor).exists()


def test_a_member_of_another_shop_cannot_be_put_in_a_team(as_supervisor, tenant, outsider):
    response = as_supervisor.post(
        f"/t/{tenant.slug}/settings/teams/", {"name": "Zwroty", "members": [outsider.pk]}
    )

    assert response.status_code == 422
    assert 'id="id_members_error"' in response.content.decode()
    assert not Team.objects.exists()


def test_the_team_form_offers_only_this_shops_active_members(as_supervisor, tenant, agent, outsider):
    gone = MembershipFactory(tenant=tenant, is_active=False, user__name="Gone Person")

    page = as_supervisor.get(f"/t/{tenant.slug}/settings/teams/").content.decode()

    assert "Anna Agent" in page
    assert "Eve Outsider" not in page
    assert gone.user.name not in page


def test_a_duplicate_team_name_is_shown_beside_the_name(as_supervisor, tenant):
    TeamFactory(tenant=tenant, name="Zwroty")

    response = as_supervisor.post(f"/t/{tenant.slug}/settings/teams/", {"name": "Zwroty"})

    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="id_name_error"' in page and "Taken." in page


def test_editing_a_team_changes_its_name_and_members(as_supervisor, tenant, agent, supervisor):
    team = TeamFactory(tenant=tenant, name="Old")
    team.members.add(agent)

    as_supervisor.post(
        f"/t/{tenant.slug}/settings/teams/{team.pk}/",
        {"action": "save", "name": "Reklamacje", "members": [supervisor.pk]},
    )

    team.refresh_from_db()
    assert team.name == "Reklamacje"
    assert list(team.members.all()) == [supervisor]
    assert Event.objects.filter(kind="team.updated").exists()


def test_a_supervisor_cannot_delete_a_team_and_does_not_see_the_button(as_supervisor, tenant):
    team = TeamFactory(tenant=tenant)
    url = f"/t/{tenant.slug}/settings/teams/{team.pk}/"

    assert 'value="delete"' not in as_supervisor.get(url).content.decode()
    response = as_supervisor.post(url, {"action": "delete"})

    assert response.status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()


def test_an_admin_deletes_a_team(as_admin, tenant):
    team = TeamFactory(tenant=tenant, name="Zwroty")
    url = f"/t/{tenant.slug}/settings/teams/{team.pk}/"
    assert 'value="delete"' in as_admin.get(url).content.decode()

    response = as_admin.post(url, {"action": "delete"}, follow=True)

    assert "The team Zwroty is deleted." in response.content.decode()
    assert not Team.objects.exists()
    assert Event.objects.filter(kind="team.deleted").exists()


def test_a_supervisor_creates_and_recolours_a_tag(as_supervisor, tenant):
    response = as_supervisor.post(
        f"/t/{tenant.slug}/settings/tags/", {"name": "reklamacja", "color": "#b42318"}, follow=True
    )
    assert "The tag reklamacja is created." in response.content.decode()
    tag = Tag.objects.get(tenant=tenant)

    as_supervisor.post(
        f"/t/{tenant.slug}/settings/tags/{tag.pk}/",
        {"action": "save", "name": "complaint", "color": "#1d4ed8"},
    )

    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("complaint", "#1d4ed8")
    assert [e.kind for e in Event.objects.filter(kind__startswith="tag.")] == ["tag.created", "tag.updated"]


def test_a_bad_colour_is_shown_beside_the_colour_field(as_supervisor, tenant):
    response = as_supervisor.post(f"/t/{tenant.slug}/settings/tags/", {"name": "vip", "color": "red"})

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_color_error"' in page and "Use a colour such as #1d4ed8." in page
    assert not Tag.objects.exists()


def test_an_admin_deletes_a_tag_a_supervisor_cannot(as_admin, as_supervisor, tenant):
    tag = TagFactory(tenant=tenant, name="vip")
    url = f"/t/{tenant.slug}/settings/tags/{tag.pk}/"

    assert as_supervisor.post(url, {"action": "delete"}).status_code == 403
    as_admin.post(url, {"action": "delete"})

    assert not Tag.objects.exists()
    assert Event.objects.filter(kind="tag.deleted").exists()


def test_an_unknown_action_is_a_clear_4xx(as_admin, tenant):
    tag = TagFactory(tenant=tenant)

    response = as_admin.post(f"/t/{tenant.slug}/settings/tags/{tag.pk}/", {"action": "explode"})

    assert response.status_code == 422
    assert "Unknown action." in response.content.decode()
