"""Forgotten passwords: a mailed link to set a new one."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_login_page_links_to_password_reset(client):
    assert 'href="/password/reset/"' in client.get("/login/").content.decode()


def test_a_member_gets_a_link_and_sets_a_new_password(client, settings):
    settings.FRONTDESK_BASE_URL = "https://desk.rowery.example"
    user = UserFactory(email="anna@rowery.example", name="Anna")

    response = client.post("/password/reset/", {"email": "Anna@Rowery.example"}, follow=True)

    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["anna@rowery.example"]
    assert message.subject == "Set a new Frontdesk password"
    link = re.search(r"https://desk\.rowery\.example(/password/reset/\S+/)", message.body)
    assert link, message.body

    form = client.get(link.group(1), follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
        follow=True,
    )

    assert "Your password is changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase")
    # The link works once.
    assert "This link does not work" in client.get(link.group(1), follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post("/password/reset/", {"email": "nobody@rowery.example"}, follow=True)

    assert "Check your email" in response.content.decode()
    assert not mail.outbox


def test_a_weak_new_password_is_refused_beside_the_field(client):
    UserFactory(email="anna@rowery.example")
    client.post("/password/reset/", {"email": "anna@rowery.example"})
    link = re.search(r"https?://[^/\s]+(/password/reset/\S+/)", mail.outbox[0].body).group(1)  # type: ignore[union-attr]
    form_url = client.get(link, follow=True).redirect_chain[-1][0]

    response = client.post(form_url, {"new_password1": "short", "new_password2": "short"})

    assert response.status_code == 200  # Django's view re-renders the form
    assert 'id="id_new_password2_error"' in response.content.decode()


def test_password_reset_is_rate_limited(client, settings):
    settings.FRONTDESK_SIGNUP_RATE_PER_HOUR = 1
    UserFactory(email="anna@rowery.example")
    client.post("/password/reset/", {"email": "anna@rowery.example"})

    response = client.post("/password/reset/", {"email": "anna@rowery.example"})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert len(mail.outbox) == 1
