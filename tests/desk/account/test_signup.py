"""Self-service sign-up of a new shop: register, confirm the address, land in an empty shop."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail, signing

from frontdesk.desk.actions.signup import SIGNUP_SALT
from frontdesk.desk.models import Event, Membership, Role, Tenant, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "shop_name": "Sklep z Rowerami",
    "name": "Jan Nowak",
    "email": "Jan@Rowery.example",
    "password": "a-good-long-passphrase",
}


@pytest.fixture(autouse=True)
def _signup_on(settings):  # type: ignore[no-untyped-def]
    settings.FRONTDESK_SIGNUP_ENABLED = True


def sign_up(client, django_capture_on_commit_callbacks, **changes: str):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/signup/", {**FORM, **changes}, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9,pl;q=0.8")


def confirmation_link() -> str:
    match = re.search(r"https?://[^/\s]+(/signup/confirm/[^\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_a_new_shop_signs_up_confirms_and_lands_on_its_checklist(client, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert "jan@rowery.example" in client.get("/signup/sent/").content.decode()
    user = User.objects.get(email="jan@rowery.example")
    assert user.is_active is False and user.name == "Jan Nowak"
    assert not Tenant.objects.exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jan@rowery.example"]

    link = confirmation_link()
    assert "Confirm" in client.get(link).content.decode()
    response = client.post(link, follow=True)

    tenant = Tenant.objects.get()
    assert tenant.name == "Sklep z Rowerami"
    assert (tenant.time_zone, tenant.country, tenant.languages) == ("Europe/Warsaw", "PL", ["en", "pl"])
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER
    assert Event.objects.filter(tenant=tenant, kind="tenant.created").exists()
    user.refresh_from_db()
    assert user.is_active
    assert response.redirect_chain[-1][0] == f"/t/{tenant.slug}/settings/"
    page = response.content.decode()
    assert "0 of 3 steps done" in page and "Add a channel" in page
    assert response.context["user"] == user  # signed in


def test_confirming_twice_is_harmless(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    link = confirmation_link()
    client.post(link)
    stranger = type(client)()

    again = stranger.post(link, follow=True)

    assert Tenant.objects.count() == 1
    assert "confirmed already" in again.content.decode()
    assert again.redirect_chain[-1][0] == "/login/"
    assert "This link was used already" in stranger.get(link).content.decode()


def test_a_forged_link_gets_a_clear_400(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    forged = "/signup/confirm/" + signing.dumps({"u": User.objects.get().pk, "s": "x"}, salt="another") + "/"

    response = client.get(forged)

    assert response.status_code == 400
    assert "This confirmation link is not valid." in response.content.decode()
    assert client.post(forged).status_code == 400
    assert not Tenant.objects.exists()


def test_a_link_older_than_three_days_gets_a_clear_400(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = confirmation_link()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3 * 24 * 3600 + 60)

    response = client.post(link)

    assert response.status_code == 400
    assert "This confirmation link has expired." in response.content.decode()
    assert not Tenant.objects.exists()
    assert not User.objects.get().is_active


def test_an_address_with_an_account_is_not_revealed_but_mailed(client, django_capture_on_commit_callbacks):
    UserFactory(email="jan@rowery.example")

    response = sign_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert User.objects.count() == 1
    assert "already have an account" in mail.outbox[0].body
    assert "/password/reset/" in mail.outbox[0].body
    assert "/signup/confirm/" not in mail.outbox[0].body


def test_signing_up_again_before_confirming_keeps_the_first_password(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    sign_up(
        client, django_capture_on_commit_callbacks, password="someone-elses-passphrase", shop_name="Other"
    )

    user = User.objects.get()
    assert user.check_password(FORM["password"])
    assert len(mail.outbox) == 2
    client.post(confirmation_link())
    assert Tenant.objects.get().name == "Other"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "12345678901234"}, "password"),
        ({"email": "not-an-address"}, "email"),
        ({"shop_name": ""}, "shop_name"),
    ],
)
def test_bad_input_is_shown_beside_the_field(client, django_capture_on_commit_callbacks, changes, field):
    response = sign_up(client, django_capture_on_commit_callbacks, **changes)

    assert response.status_code == 422
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not User.objects.exists()
    assert not mail.outbox


def test_a_password_like_the_email_is_refused(client, django_capture_on_commit_callbacks):
    response = sign_up(
        client,
        django_capture_on_commit_callbacks,
        email="kowalski.rowery@example.com",
        password="kowalski.rowery",
    )

    assert response.status_code == 422
    assert "too similar" in response.content.decode()


def test_sign_up_is_rate_limited_per_address(client, django_capture_on_commit_callbacks, settings):
    settings.FRONTDESK_SIGNUP_RATE_PER_HOUR = 2
    for n in range(2):
        assert (
            sign_up(client, django_capture_on_commit_callbacks, email=f"a{n}@rowery.example").status_code
            == 302
        )

    response = sign_up(client, django_capture_on_commit_callbacks, email="a3@rowery.example")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert User.objects.count() == 2
    other_address = client.post("/signup/", {**FORM, "email": "b@rowery.example"}, REMOTE_ADDR="10.1.2.3")
    assert other_address.status_code == 302


def test_the_login_page_links_to_sign_up_when_enabled(client):
    assert "/signup/" in client.get("/login/").content.decode()


def test_sign_up_is_404_when_the_operator_has_not_enabled_it(client, settings):
    settings.FRONTDESK_SIGNUP_ENABLED = False
    token = signing.dumps({"u": 1}, salt=SIGNUP_SALT)

    assert client.get("/signup/").status_code == 404
    assert client.post("/signup/", FORM).status_code == 404
    assert client.get(f"/signup/confirm/{token}/").status_code == 404
    assert client.post(f"/signup/confirm/{token}/").status_code == 404
    assert "/signup/" not in client.get("/login/").content.decode()
    assert not User.objects.exists()


def test_a_signed_in_member_can_still_open_sign_up(client, owner):
    client.login(username=owner.user.email, password=PASSWORD)

    assert client.get("/signup/").status_code == 200
