"""Members and invitations in the settings: roles, capacity, deactivation, the last owner."""

from __future__ import annotations

import pytest
from django.core import mail

from frontdesk.desk.models import Event, Invitation, Membership, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def members_url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/members/"


def member_url(member: Membership) -> str:
    return f"/t/{member.tenant.slug}/settings/members/{member.pk}/"


def test_the_list_shows_every_member_with_role_availability_capacity_languages(
    as_admin, tenant, agent, owner
):
    agent.capacity, agent.languages = 5, ["pl", "en"]
    agent.save(update_fields=["capacity", "languages"])

    page = as_admin.get(members_url(tenant)).content.decode()

    assert "Anna Agent" in page and "anna@rowery.example" in page
    assert "Olga Owner" in page
    assert "Agent" in page and "Owner" in page
    assert "Online" in page
    assert ">5<" in page
    assert "Polish" in page and "English" in page


def test_an_admin_invites_by_email_and_the_mail_goes_out_after_commit(
    as_admin, tenant, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(
            members_url(tenant), {"email": "Nowy@Rowery.example", "role": "supervisor"}, follow=True
        )

    page = response.content.decode()
    assert "An invitation is on its way to nowy@rowery.example." in page
    invitation = Invitation.objects.get(tenant=tenant)
    assert (invitation.email, invitation.role) == ("nowy@rowery.example", Role.SUPERVISOR)
    assert "nowy@rowery.example" in page  # among the pending invitations
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nowy@rowery.example"]
    assert "/invitations/" in mail.outbox[0].body
    assert Event.objects.filter(tenant=tenant, kind="member.invited", actor=admin).exists()


def test_an_admin_cannot_invite_an_owner(as_admin, tenant):
    page = as_admin.get(members_url(tenant)).content.decode()
    assert '<option value="owner"' not in page

    response = as_admin.post(members_url(tenant), {"email": "boss@rowery.example", "role": "owner"})

    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_refused_with_a_readable_error(as_admin, tenant, agent):
    response = as_admin.post(members_url(tenant), {"email": "anna@rowery.example", "role": "agent"})

    assert response.status_code == 409
    assert "anna@rowery.example is already a member." in response.content.decode()
    assert not mail.outbox


def test_a_bad_email_is_shown_beside_the_field(as_admin, tenant):
    response = as_admin.post(members_url(tenant), {"email": "not-an-address", "role": "agent"})

    assert response.status_code == 422
    assert 'id="id_email_error"' in response.content.decode()


def test_revoking_an_invitation_closes_it_and_records_it(as_admin, tenant, admin):
    as_admin.post(members_url(tenant), {"email": "nowy@rowery.example", "role": "agent"})
    invitation = Invitation.objects.get()

    response = as_admin.post(
        f"/t/{tenant.slug}/settings/invitations/{invitation.pk}/", {"action": "revoke"}, follow=True
    )

    assert "is revoked" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Event.objects.filter(tenant=tenant, kind="invitation.revoked", actor=admin).exists()
    assert "No pending invitations." in response.content.decode()


def test_resending_an_invitation_mails_a_new_link_and_retires_the_old_one(
    as_admin, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        as_admin.post(members_url(tenant), {"email": "nowy@rowery.example", "role": "supervisor"})
    first = Invitation.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        as_admin.post(f"/t/{tenant.slug}/settings/invitations/{first.pk}/", {"action": "resend"})

    first.refresh_from_db()
    assert first.revoked_at is not None
    second = Invitation.objects.exclude(pk=first.pk).get()
    assert second.is_open and second.role == Role.SUPERVISOR
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body != mail.outbox[1].body


def test_revoking_twice_is_a_clear_4xx(as_admin, tenant):
    as_admin.post(members_url(tenant), {"email": "nowy@rowery.example", "role": "agent"})
    invitation = Invitation.objects.get()
    url = f"/t/{tenant.slug}/settings/invitations/{invitation.pk}/"
    as_admin.post(url, {"action": "revoke"})

    response = as_admin.post(url, {"action": "revoke"})

    assert response.status_code == 422
    assert "no longer pending" in response.content.decode()


def test_an_admin_changes_role_capacity_and_languages(as_admin, agent, admin):
    response = as_admin.post(
        member_url(agent),
        {"action": "save", "role": "supervisor", "capacity": "3", "languages": ["en"]},
        follow=True,
    )

    assert "Saved changes to Anna Agent." in response.content.decode()
    agent.refresh_from_db()
    assert (agent.role, agent.capacity, agent.languages) == (Role.SUPERVISOR, 3, ["en"])
    event = Event.objects.get(kind="member.updated")
    assert event.actor == admin and event.data["role"] == "supervisor"


def test_a_capacity_out_of_range_is_shown_beside_the_field(as_admin, agent):
    response = as_admin.post(member_url(agent), {"action": "save", "role": "agent", "capacity": "500"})

    assert response.status_code == 422
    assert 'id="id_capacity_error"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.capacity == 0


def test_deactivating_and_reactivating_a_member(as_admin, agent):
    response = as_admin.post(member_url(agent), {"action": "deactivate"}, follow=True)

    assert "can no longer sign in to this shop" in response.content.decode()
    agent.refresh_from_db()
    assert agent.is_active is False

    as_admin.post(member_url(agent), {"action": "reactivate"})

    agent.refresh_from_db()
    assert agent.is_active is True
    assert Event.objects.filter(kind="member.updated").count() == 2


def test_an_admin_cannot_edit_an_owner_and_sees_why(as_admin, owner):
    page = as_admin.get(member_url(owner)).content.decode()
    assert "Only an owner can change an owner." in page

    response = as_admin.post(member_url(owner), {"action": "deactivate"})

    assert response.status_code == 403
    assert "higher than yours" in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_the_last_owner_cannot_step_down(as_owner, owner):
    response = as_owner.post(member_url(owner), {"action": "save", "role": "admin", "capacity": "0"})

    assert response.status_code == 409
    assert "A shop needs at least one owner." in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_owner_steps_down_when_another_owner_remains(as_owner, owner, tenant):
    MembershipFactory(tenant=tenant, role=Role.OWNER)

    as_owner.post(member_url(owner), {"action": "save", "role": "admin", "capacity": "0"})

    owner.refresh_from_db()
    assert owner.role == Role.ADMIN


def test_nobody_deactivates_themselves(as_admin, admin):
    page = as_admin.get(member_url(admin)).content.decode()
    assert 'value="deactivate"' not in page

    response = as_admin.post(member_url(admin), {"action": "deactivate"})

    assert response.status_code == 422
    assert "You cannot deactivate yourself." in response.content.decode()
