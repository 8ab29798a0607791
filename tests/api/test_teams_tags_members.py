"""Teams, tags, members, invitations and channels through the API, with the roles the UI enforces."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from frontdesk.desk.models import Invitation, Membership, Role, Tag, Team
from tests.api.conftest import Api, error_of, token_for
from tests.factories import ChannelFactory, MembershipFactory, TagFactory, TeamFactory

# --- Teams ------------------------------------------------------------------------------------------


def test_a_team_is_created_with_members_read_changed_and_deleted(owner_api, owner, agent):
    response = owner_api.post(
        "/teams", {"name": "Returns", "description": "Parcels back", "members": [agent.pk]}
    )
    assert response.status_code == 201, response.content
    team = response.json()
    assert [m["email"] for m in team["members"]] == ["anna@rowery.example"]

    changed = owner_api.patch(f"/teams/{team['id']}", {"name": "Returns & refunds"}).json()
    assert changed["name"] == "Returns & refunds"
    assert changed["description"] == "Parcels back"
    assert [m["id"] for m in changed["members"]] == [agent.pk]

    assert (
        owner_api.patch(f"/teams/{team['id']}", {"members": [owner.pk]}).json()["members"][0]["id"]
        == owner.pk
    )
    assert owner_api.delete(f"/teams/{team['id']}").status_code == 204
    assert owner_api.get(f"/teams/{team['id']}").status_code == 404


def test_team_members_are_added_and_removed_one_by_one(owner_api, tenant, owner, agent):
    team = TeamFactory(tenant=tenant)
    body = owner_api.post(f"/teams/{team.pk}/members", {"member": agent.pk}).json()
    assert [m["id"] for m in body["members"]] == [agent.pk]
    assert owner_api.post(f"/teams/{team.pk}/members", {"member": agent.pk}).status_code == 200
    assert owner_api.delete(f"/teams/{team.pk}/members/{agent.pk}").status_code == 204
    assert list(team.members.all()) == []
    assert owner_api.delete(f"/teams/{team.pk}/members/{agent.pk}").status_code == 404


def test_team_names_are_unique_in_a_shop(owner_api, tenant):
    TeamFactory(tenant=tenant, name="Returns")
    response = owner_api.post("/teams", {"name": "Returns"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "duplicate_name"


def test_unknown_members_in_a_team_are_422(owner_api):
    response = owner_api.post("/teams", {"name": "Returns", "members": [9999]})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["members"]
    assert not Team.objects.exists()


def test_an_agent_reads_teams_but_cannot_change_them(agent_api, tenant):
    team = TeamFactory(tenant=tenant)
    assert agent_api.get("/teams").status_code == 200
    for response in (
        agent_api.post("/teams", {"name": "Mine"}),
        agent_api.patch(f"/teams/{team.pk}", {"name": "Mine"}),
        agent_api.delete(f"/teams/{team.pk}"),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"


def test_a_supervisor_creates_teams_but_only_an_admin_deletes_them(tenant):
    supervisor = MembershipFactory(tenant=tenant, role=Role.SUPERVISOR)
    api = Api(Client(), token_for(supervisor))
    team = api.post("/teams", {"name": "Night shift"}).json()
    assert api.delete(f"/teams/{team['id']}").status_code == 403


# --- Tags -------------------------------------------------------------------------------------------


def test_a_tag_is_created_renamed_recoloured_and_deleted(owner_api):
    tag = owner_api.post("/tags", {"name": "vip"}).json()
    assert tag["color"] == "#6b7280"
    assert owner_api.patch(f"/tags/{tag['id']}", {"color": "#1d4ed8"}).json() == {**tag, "color": "#1d4ed8"}
    assert owner_api.patch(f"/tags/{tag['id']}", {"name": "VIP"}).json()["name"] == "VIP"
    assert owner_api.delete(f"/tags/{tag['id']}").status_code == 204
    assert not Tag.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"), [({"name": ""}, "name"), ({"name": "x", "color": "blue"}, "color")]
)
def test_an_invalid_tag_is_422(owner_api, body, field):
    response = owner_api.post("/tags", body)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_tag_names_are_unique_in_a_shop(owner_api, tenant):
    TagFactory(tenant=tenant, name="vip")
    assert error_of(owner_api.post("/tags", {"name": "vip"}))["code"] == "duplicate_name"


def test_an_agent_cannot_create_or_delete_tags(agent_api, tenant):
    tag = TagFactory(tenant=tenant)
    assert agent_api.post("/tags", {"name": "mine"}).status_code == 403
    assert agent_api.delete(f"/tags/{tag.pk}").status_code == 403


# --- Members ----------------------------------------------------------------------------------------


def test_members_are_listed_with_their_role_and_teams(owner_api, tenant, owner, agent):
    team = TeamFactory(tenant=tenant, name="Returns")
    team.members.add(agent)
    MembershipFactory(tenant=tenant, is_active=False)
    items = owner_api.get("/members").json()["items"]
    assert [(m["email"], m["role"]) for m in items] == [
        ("owner@rowery.example", "owner"),
        ("anna@rowery.example", "agent"),
    ]
    assert items[1]["teams"] == [{"id": team.pk, "name": "Returns"}]
    assert len(owner_api.get("/members", {"is_active": "all"}).json()["items"]) == 3
    assert [m["role"] for m in owner_api.get("/members", {"role": "agent"}).json()["items"]] == ["agent"]


def test_me_is_the_member_the_token_acts_as(agent_api, agent):
    assert agent_api.get("/members/me").json()["id"] == agent.pk


def test_an_admin_changes_roles_capacity_and_languages(owner_api, agent):
    response = owner_api.patch(
        f"/members/{agent.pk}", {"role": "supervisor", "capacity": 5, "languages": ["pl", "en"]}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["role"], response.json()["capacity"]) == ("supervisor", 5)
    assert response.json()["languages"] == ["pl", "en"]


def test_anyone_may_change_their_own_availability_but_nothing_else(agent_api, agent, owner):
    assert agent_api.patch(f"/members/{agent.pk}", {"availability": "away"}).json()["availability"] == "away"
    assert agent_api.patch(f"/members/{agent.pk}", {"role": "admin"}).status_code == 403
    assert agent_api.patch(f"/members/{owner.pk}", {"availability": "away"}).status_code == 403


def test_nobody_gives_a_role_above_their_own(tenant, agent):
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    response = Api(Client(), token_for(admin)).patch(f"/members/{agent.pk}", {"role": "owner"})
    assert response.status_code == 403


def test_the_last_owner_stays(owner_api, owner):
    response = owner_api.patch(f"/members/{owner.pk}", {"role": "admin"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "last_owner"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"capacity": 101}, "capacity"), ({"role": "boss"}, "role"), ({"availability": 1}, "availability")],
)
def test_invalid_member_changes_are_422(owner_api, agent, body, field):
    response = owner_api.patch(f"/members/{agent.pk}", body)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_an_admin_invites_by_email_lists_and_revokes(owner_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(
            "/members/invitations", {"email": "New.Person@Example.org", "role": "agent"}
        )
    assert response.status_code == 201, response.content
    invitation = response.json()
    assert invitation["email"] == "new.person@example.org"
    assert mail.outbox[-1].to == ["new.person@example.org"]
    assert [i["id"] for i in owner_api.get("/members/invitations").json()["items"]] == [invitation["id"]]
    assert owner_api.delete(f"/members/invitations/{invitation['id']}").status_code == 204
    assert owner_api.get("/members/invitations").json()["items"] == []
    again = owner_api.delete(f"/members/invitations/{invitation['id']}")
    assert again.status_code == 409
    assert error_of(again)["code"] == "invitation_closed"


def test_inviting_an_invalid_email_is_422(owner_api):
    response = owner_api.post("/members/invitations", {"email": "not an email"})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["email"]
    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_a_conflict(owner_api, agent):
    response = owner_api.post("/members/invitations", {"email": "anna@rowery.example"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "already_member"


def test_an_agent_cannot_invite(agent_api):
    assert agent_api.post("/members/invitations", {"email": "x@example.org"}).status_code == 403
    assert not Membership.objects.filter(user__email="x@example.org").exists()


# --- Channels ---------------------------------------------------------------------------------------


def test_channels_are_listed_with_what_they_can_do(agent_api, api_channel, form_channel):
    items = agent_api.get("/channels").json()["items"]
    assert [(c["name"], c["kind"], c["recipient_kind"], c["can_send"]) for c in items] == [
        ("Contact form", "form", "email", True),
        ("Shop backend", "api", "external", True),
    ]
    assert agent_api.get(f"/channels/{api_channel.pk}").json()["public_id"] == str(api_channel.public_id)


def test_channels_are_read_only(owner_api, api_channel):
    assert owner_api.patch(f"/channels/{api_channel.pk}", {"name": "x"}).status_code == 405
    assert owner_api.post("/channels", {"name": "x"}).status_code == 405


# --- Cost -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "queries"), [("/teams", 4), ("/members", 3), ("/tags", 2), ("/channels", 2)]
)
def test_a_page_costs_the_same_few_queries_however_many_rows_it_has(
    owner_api, tenant, owner, django_assert_max_num_queries, path, queries
):
    for _ in range(12):
        member = MembershipFactory(tenant=tenant)
        team = TeamFactory(tenant=tenant)
        team.members.add(member, owner)
        TagFactory(tenant=tenant)
        ChannelFactory(tenant=tenant, kind="form")
    owner_api.get(path)
    with django_assert_max_num_queries(queries):
        response = owner_api.get(path, {"limit": 12})
    assert len(response.json()["items"]) == 12
