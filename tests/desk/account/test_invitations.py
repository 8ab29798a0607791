"""Accepting an invitation: new people create their account, members of other shops sign in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from frontdesk.desk.actions.admin import do_invite, do_revoke_invitation
from frontdesk.desk.models import Event, Invitation, Membership, Role, User
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def invite(owner, email: str, role: str, capture) -> str:  # type: ignore[no-untyped-def]
    """Invite through the settings page as `owner`; return the link path from the mail."""
    client = Client()
    client.force_login(owner.user)
    with capture(execute=True):
        client.post(f"/t/{owner.tenant.slug}/settings/members/", {"email": email, "role": role})
    match = re.search(r"https?://[^/\s]+(/invitations/[^\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_a_new_person_accepts_by_creating_an_account_and_lands_in_the_inbox(
    client, owner, tenant, django_capture_on_commit_callbacks
):
    link = invite(owner, "nowa@rowery.example", Role.SUPERVISOR, django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["nowa@rowery.example"]

    page = client.get(link).content.decode()
    assert "Join Sklep Rowerowy" in page and "Supervisor" in page
    response = client.post(link, {"name": "Nowa Osoba", "password": "a-good-long-passphrase"})

    assert response.status_code == 302
    assert response["Location"] == reverse("inbox", args=[tenant.slug])
    user = User.objects.get(email="nowa@rowery.example")
    assert user.name == "Nowa Osoba" and user.is_active and user.check_password("a-good-long-passphrase")
    membership = Membership.objects.get(tenant=tenant, user=user)
    assert membership.role == Role.SUPERVISOR
    assert Invitation.objects.get(email="nowa@rowery.example").accepted_at is not None
    assert Event.objects.filter(tenant=tenant, kind="member.added", data__member=membership.pk).exists()
    assert int(client.session["_auth_user_id"]) == user.pk


def test_a_signed_in_person_with_the_invited_address_accepts_with_one_click(
    owner, tenant, django_capture_on_commit_callbacks
):
    someone = MembershipFactory(user__email="ola@elsewhere.example")  # works for another shop too
    link = invite(owner, "ola@elsewhere.example", Role.AGENT, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(someone.user)

    assert "Accept the invitation" in client.get(link).content.decode()
    response = client.post(link, follow=True)

    assert Membership.objects.get(tenant=tenant, user=someone.user).role == Role.AGENT
    assert response.redirect_chain[0][0] == reverse("inbox", args=[tenant.slug])
    assert "Welcome to Sklep Rowerowy" in response.content.decode()


def test_a_signed_out_person_with_an_account_signs_in_and_comes_back(
    client, owner, tenant, django_capture_on_commit_callbacks
):
    UserFactory(email="ola@elsewhere.example")
    link = invite(owner, "ola@elsewhere.example", Role.AGENT, django_capture_on_commit_callbacks)

    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={link}"

    signed_in = client.post(
        response["Location"], {"username": "ola@elsewhere.example", "password": PASSWORD, "next": link}
    )
    assert signed_in["Location"] == link
    client.post(link)

    assert Membership.objects.filter(tenant=tenant, user__email="ola@elsewhere.example").exists()


def test_the_wrong_person_signed_in_is_told_clearly_and_nothing_happens(
    owner, tenant, agent, django_capture_on_commit_callbacks
):
    link = invite(owner, "nowa@rowery.example", Role.ADMIN, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(agent.user)

    response = client.get(link)
    assert response.status_code == 403
    page = response.content.decode()
    assert "signed in as anna@rowery.example, but this invitation is for nowa@rowery.example" in page
    assert client.post(link).status_code == 403

    agent.refresh_from_db()
    assert agent.role == Role.AGENT
    assert Invitation.objects.get().accepted_at is None


def test_expired_revoked_used_and_made_up_invitations_get_a_clear_page(
    client, owner, tenant, django_capture_on_commit_callbacks
):
    expired_link = invite(owner, "a@rowery.example", Role.AGENT, django_capture_on_commit_callbacks)
    Invitation.objects.filter(email="a@rowery.example").update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    revoked_link = invite(owner, "b@rowery.example", Role.AGENT, django_capture_on_commit_callbacks)
    do_revoke_invitation(owner, Invitation.objects.get(email="b@rowery.example"))
    used_link = invite(owner, "c@rowery.example", Role.AGENT, django_capture_on_commit_callbacks)
    Client().post(used_link, {"name": "C", "password": "a-good-long-passphrase"})

    for link in (expired_link, revoked_link, used_link, "/invitations/made-up-token/"):
        response = client.get(link)
        assert response.status_code == 404, link
        assert "This invitation is no longer valid." in response.content.decode()
        assert client.post(link, {"name": "X", "password": "a-good-long-passphrase"}).status_code == 404

    assert not User.objects.filter(email__in=["a@rowery.example", "b@rowery.example"]).exists()


def test_a_weak_password_is_shown_beside_the_field(client, owner, django_capture_on_commit_callbacks):
    link = invite(owner, "nowa@rowery.example", Role.AGENT, django_capture_on_commit_callbacks)

    response = client.post(link, {"name": "Nowa", "password": "password"})

    assert response.status_code == 422
    assert 'id="id_password_error"' in response.content.decode()
    assert not User.objects.filter(email="nowa@rowery.example").exists()


def test_someone_who_signed_up_but_never_confirmed_can_still_join(
    client, owner, tenant, django_capture_on_commit_callbacks
):
    pending = UserFactory(email="nowa@rowery.example", is_active=False)
    link = invite(owner, "nowa@rowery.example", Role.AGENT, django_capture_on_commit_callbacks)

    client.post(link, {"name": "Nowa", "password": "a-good-long-passphrase"})

    pending.refresh_from_db()
    assert pending.is_active and pending.check_password("a-good-long-passphrase")
    assert Membership.objects.filter(tenant=tenant, user=pending).exists()


def test_invitation_links_are_made_by_do_invite(owner):
    _invitation, link = do_invite(owner, "z@rowery.example", Role.AGENT)

    assert re.fullmatch(r"https?://[^/]+/invitations/[\w-]+/", link)
