"""The contact form: a customer fills in the shop's public form and gets a reference number."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest

from frontdesk.channels.form.adapter import form_token
from frontdesk.desk.models import Conversation, Customer, Message, RawInbound, RawState
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    # min_seconds 0: the tests post at machine speed; the minimum fill time has its own test.
    return ChannelFactory(
        tenant=tenant, kind="form", name="Contact", config={"min_seconds": 0, "title": "Write to Rowery"}
    )


def url(channel) -> str:  # type: ignore[no-untyped-def]
    return f"/f/{channel.public_id}/"


def token_from(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the form carries a token"
    return match.group(1)


def filled(token: str, **fields: str) -> dict[str, str]:
    data = {
        "token": token,
        "name": "Jan Kowalski",
        "email": "jan@example.org",
        "phone": "",
        "subject": "Zwrot roweru",
        "message": "Chcę zwrócić rower kupiony w maju.",
        "website": "",
    }
    data.update(fields)
    return data


def send(client, channel, data, **headers):  # type: ignore[no-untyped-def]
    """Post the form the way a browser does (urlencoded)."""
    return client.post(
        url(channel),
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        headers=headers or None,
    )


def test_the_form_shows_its_fields_and_a_fresh_token(client, form):
    response = client.get(url(form))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Write to Rowery" in page
    for name in ("name", "email", "phone", "subject", "message"):
        assert f'name="{name}"' in page
    assert 'for="field-email"' in page
    assert token_from(response) != token_from(client.get(url(form)))
    assert response["Cache-Control"] == "no-store"


def test_a_customer_sends_the_form_and_sees_the_reference_number(client, form, tenant):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token))

    assert response.status_code == 200
    page = response.content.decode()
    assert "#1" in page
    assert "jan@example.org" in page
    conversation = Conversation.objects.get(tenant=tenant, number=1)
    assert conversation.channel == form
    assert conversation.subject == "Zwrot roweru"
    assert conversation.messages.get().text == "Chcę zwrócić rower kupiony w maju."
    assert conversation.customer.identity("email").address == "jan@example.org"
    assert RawInbound.objects.get().state == RawState.PROCESSED


def test_sending_the_same_form_twice_makes_one_conversation(client, form):
    token = token_from(client.get(url(form)))

    first = send(client, form, filled(token))
    again = send(client, form, filled(token))

    assert first.status_code == again.status_code == 200
    assert "#1" in again.content.decode()
    assert Conversation.objects.count() == 1
    assert Message.objects.count() == 1


def test_each_form_opens_its_own_conversation(client, form):
    send(client, form, filled(token_from(client.get(url(form)))))
    second = send(client, form, filled(token_from(client.get(url(form))), message="Jeszcze jedno"))

    assert "#2" in second.content.decode()
    assert Conversation.objects.count() == 2


def test_a_form_sent_too_fast_is_refused_and_keeps_the_text(client, form):
    form.config = {"min_seconds": 5}
    form.save(update_fields=["config"])
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token))

    assert response.status_code == 400
    page = response.content.decode()
    assert "too quickly" in page
    assert "Chcę zwrócić rower kupiony w maju." in page
    assert Conversation.objects.count() == 0
    assert RawInbound.objects.get().state == RawState.REJECTED


def test_a_filled_honeypot_is_refused(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, website="http://spam.example"))

    assert response.status_code == 400
    assert "could not be sent" in response.content.decode()
    assert Conversation.objects.count() == 0


def test_an_expired_form_is_refused_with_a_fresh_token_and_the_text_kept(client, form):
    old = form_token(str(form.public_id), now=time.time() - 25 * 3600)

    response = send(client, form, filled(old))

    assert response.status_code == 400
    page = response.content.decode()
    assert "expired" in page
    assert "Chcę zwrócić rower kupiony w maju." in page
    assert token_from(response) != old
    # The fresh token works.
    assert send(client, form, filled(token_from(response))).status_code == 200


def test_a_token_of_another_shops_form_is_refused(client, form, other_tenant):
    theirs = ChannelFactory(tenant=other_tenant, kind="form", config={"min_seconds": 0})
    their_token = token_from(client.get(url(theirs)))

    response = send(client, form, filled(their_token))

    assert response.status_code == 400
    assert Conversation.objects.count() == 0


def test_a_message_lands_only_in_the_shop_whose_form_it_was(client, form, other_tenant):
    theirs = ChannelFactory(tenant=other_tenant, kind="form", config={"min_seconds": 0})
    send(client, theirs, filled(token_from(client.get(url(theirs)))))
    send(client, form, filled(token_from(client.get(url(form)))))

    assert Conversation.objects.filter(tenant=form.tenant).count() == 1
    assert Conversation.objects.filter(tenant=other_tenant).count() == 1
    assert Customer.objects.filter(tenant=form.tenant).count() == 1


def test_an_invalid_email_shows_the_error_and_keeps_what_was_typed(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, email="jan(at)example"))

    assert response.status_code == 422
    page = response.content.decode()
    assert "does not look like an email address" in page
    assert 'aria-invalid="true"' in page
    assert 'value="jan(at)example"' in page
    assert "Chcę zwrócić rower kupiony w maju." in page
    # The same token still works once the address is fixed.
    assert token_from(response) == token
    assert send(client, form, filled(token)).status_code == 200


def test_an_empty_message_and_missing_email_are_both_named(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, email="", message="  "))

    assert response.status_code == 422
    page = response.content.decode()
    assert "We need your email address" in page
    assert "Write your message" in page


def test_an_invalid_phone_is_refused(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, phone="12"))

    assert response.status_code == 422
    assert "phone number" in response.content.decode()


def test_a_phone_is_stored_in_e164(client, form):
    token = token_from(client.get(url(form)))

    send(client, form, filled(token, phone="601 234 567"))

    assert Customer.objects.get().identity("phone").address == "+48601234567"


def test_a_required_phone_must_be_given(client, form):
    form.config = {"min_seconds": 0, "require_phone": True}
    form.save(update_fields=["config"])
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token))

    assert response.status_code == 422
    assert "We need your phone number" in response.content.decode()


def test_without_embed_origins_the_form_cannot_be_framed(client, form):
    response = client.get(url(form))

    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_shops_sites_may_embed_the_form(client, form):
    form.config = {"embed_origins": ["https://rowery.example", "https://www.rowery.example/"]}
    form.save(update_fields=["config"])

    response = client.get(url(form))

    csp = response["Content-Security-Policy"]
    assert "frame-ancestors https://rowery.example https://www.rowery.example;" in csp
    assert "X-Frame-Options" not in response
    assert "script-src 'self'" in csp


def test_an_embed_origin_with_a_path_is_not_accepted(form):
    with pytest.raises(ValueError):
        form.adapter.validate_config({"embed_origins": ["https://rowery.example/contact"]})


def test_the_settings_page_gets_the_form_address_and_an_embed_snippet(form, settings):
    settings.FRONTDESK_BASE_URL = "https://desk.example"

    urls = form.adapter.public_urls(form)

    assert urls["form_url"] == f"https://desk.example/f/{form.public_id}/"
    assert f'<iframe src="https://desk.example/f/{form.public_id}/"' in urls["embed_snippet"]
    assert 'title="Write to Rowery"' in urls["embed_snippet"]
    assert "channels/embed.js" in urls["embed_snippet"]


def test_too_many_forms_from_one_address_get_429(client, form, settings):
    settings.FRONTDESK_RATE_FORM_PER_IP = (2, 600)
    for _ in range(2):
        assert send(client, form, filled(token_from(client.get(url(form))))).status_code == 200

    response = send(client, form, filled(token_from(client.get(url(form))), message="Third"))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Third" in response.content.decode()
    assert Conversation.objects.count() == 2


def test_the_form_speaks_the_shops_language(client, tenant):
    tenant.languages = ["pl"]
    tenant.save(update_fields=["languages"])
    form = ChannelFactory(tenant=tenant, kind="form")

    response = client.get(url(form), headers={"Accept-Language": "en-GB,en;q=0.9"})

    assert response["Content-Language"] == "pl"
    assert '<html lang="pl">' in response.content.decode()


def test_the_form_speaks_the_browsers_language_when_the_shop_does(client, tenant):
    tenant.languages = ["pl", "en"]
    tenant.save(update_fields=["languages"])
    form = ChannelFactory(tenant=tenant, kind="form")

    response = client.get(url(form), headers={"Accept-Language": "en-GB,en;q=0.9"})

    assert response["Content-Language"] == "en"


def test_the_embedding_site_can_ask_for_a_language(client, form):
    response = client.get(url(form) + "?lang=en", headers={"Accept-Language": "pl"})

    assert response["Content-Language"] == "en"


def test_the_conversation_remembers_the_language_of_the_form(client, form):
    page = client.get(url(form) + "?lang=en")
    language = re.search(r'name="language" value="([^"]*)"', page.content.decode()).group(1)  # type: ignore[union-attr]

    client.post(
        url(form) + "?lang=en",
        urlencode(filled(token_from(page), language=language)),
        content_type="application/x-www-form-urlencoded",
    )

    assert Conversation.objects.get().language == "en"
    assert Customer.objects.get().language == "en"


def test_an_unknown_or_disabled_form_is_404(client, form, tenant):
    api = ChannelFactory(tenant=tenant, kind="api")
    assert client.get("/f/not-a-uuid/").status_code == 404
    assert client.get(url(api)).status_code == 404
    form.disabled = True
    form.save(update_fields=["disabled"])
    assert client.get(url(form)).status_code == 404


def test_other_methods_are_refused(client, form):
    assert client.put(url(form)).status_code == 405


def test_a_body_too_large_is_refused_before_it_is_read(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, message="x" * 300_000))

    assert response.status_code == 413
    assert RawInbound.objects.count() == 0


def test_a_crash_while_processing_still_thanks_the_customer_and_keeps_the_message(client, form, monkeypatch):
    import frontdesk.desk.actions.inbound as inbound

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(inbound, "find_or_create_customer", broken)
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token))

    assert response.status_code == 202
    assert "Your message is saved" in response.content.decode()
    assert RawInbound.objects.get().state == RawState.FAILED


def test_the_form_needs_no_csrf_cookie(form):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = token_from(strict.get(url(form)))

    assert send(strict, form, filled(token)).status_code == 200


def test_a_form_posted_as_multipart_works_too(client, form):
    """A shop may post its own HTML form with enctype="multipart/form-data"."""
    token = token_from(client.get(url(form)))

    response = client.post(url(form), filled(token))

    assert response.status_code == 200
    assert Conversation.objects.count() == 1


def test_customer_input_is_escaped_on_the_re_rendered_form(client, form):
    token = token_from(client.get(url(form)))

    response = send(client, form, filled(token, email="x", message="</textarea><script>alert(1)</script>"))

    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
