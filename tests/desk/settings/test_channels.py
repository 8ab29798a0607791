"""Channels in the settings: add one of each kind through its generated form, connect it, keep it
running (disable, rotate secrets) and see what it received."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from frontdesk.desk.models import Channel, Event, RawInbound, RawState
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def channels_url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/channels/"


def channel_url(channel: Channel) -> str:
    return f"/t/{channel.tenant.slug}/settings/channels/{channel.pk}/"


@pytest.fixture
def api_channel_with_secret(as_admin, tenant):  # type: ignore[no-untyped-def]
    as_admin.post(f"{channels_url(tenant)}new/api/", {"name": "Shop backend", "config-webhook_url": ""})
    return Channel.objects.get(tenant=tenant, kind="api")


def test_the_list_shows_each_channel_with_kind_status_and_last_error(as_admin, tenant):
    ChannelFactory(tenant=tenant, kind="api", name="Backend")
    ChannelFactory(tenant=tenant, kind="form", name="Kontakt", disabled=True)
    ChannelFactory(
        tenant=tenant, kind="api", name="Broken", last_error="The shop's endpoint is gone (HTTP 410)"
    )

    page = as_admin.get(channels_url(tenant)).content.decode()

    assert "Backend" in page and "Kontakt" in page
    assert "Contact form" in page and "API" in page
    assert "Disabled" in page and "Active" in page and "Error" in page
    assert "The shop&#x27;s endpoint is gone (HTTP 410)" in page
    # Every registered kind can be added.
    assert f"{channels_url(tenant)}new/api/" in page
    assert f"{channels_url(tenant)}new/form/" in page


def test_the_form_of_a_kind_is_generated_from_its_config_model(as_admin, tenant):
    page = as_admin.get(f"{channels_url(tenant)}new/form/").content.decode()

    # Strings, a long string as a text area, booleans, bounded integers, lists one per line.
    assert 'name="config-title"' in page and 'maxlength="200"' in page
    assert '<textarea name="config-intro"' in page
    assert 'type="checkbox" name="config-ask_phone"' in page and "checked" in page
    assert 'type="number" name="config-min_seconds" value="3"' in page
    assert 'min="0"' in page and 'max="60"' in page
    assert '<textarea name="config-embed_origins"' in page and "One per line." in page


def test_an_admin_adds_a_contact_form_and_sees_how_to_embed_it(as_admin, tenant, admin):
    response = as_admin.post(
        f"{channels_url(tenant)}new/form/",
        {
            "name": "Formularz",
            "config-title": "Napisz do nas",
            "config-intro": "Odpowiadamy w 3 godziny.",
            "config-min_seconds": "5",
            "config-embed_origins": "https://rowery.example\n\nhttps://sklep.rowery.example\n",
        },
        follow=True,
    )

    page = response.content.decode()
    channel = Channel.objects.get(tenant=tenant, kind="form")
    assert channel.name == "Formularz"
    assert channel.config["title"] == "Napisz do nas"
    assert channel.config["min_seconds"] == 5
    assert channel.config["ask_phone"] is False  # unticked
    assert channel.config["embed_origins"] == ["https://rowery.example", "https://sklep.rowery.example"]
    assert "The channel Formularz is ready." in page
    # Every address the adapter publishes is shown with a copy button.
    for key in channel.adapter.public_urls(channel):
        assert f'id="url-{key}"' in page
        assert f'data-copy="url-{key}"' in page
    assert f"/f/{channel.public_id}/" in page
    assert "&lt;iframe" in page  # the embed snippet, escaped in a text area
    assert Event.objects.filter(kind="channel.created", actor=admin).exists()


def test_an_api_channels_signing_secret_is_shown_once_after_creation(as_admin, tenant):
    response = as_admin.post(
        f"{channels_url(tenant)}new/api/",
        {"name": "Shop backend", "config-webhook_url": "https://rowery.example/frontdesk"},
    )
    channel = Channel.objects.get(tenant=tenant, kind="api")
    secret = channel.secrets["signing_secret"]
    assert response.status_code == 302

    first = as_admin.get(response["Location"]).content.decode()
    again = as_admin.get(response["Location"]).content.decode()

    assert secret in first and "only this once" in first
    assert secret not in again
    assert f"/hooks/{channel.public_id}/" in again  # the inbound address stays visible


def test_a_config_error_is_shown_beside_the_config_field(as_admin, tenant):
    response = as_admin.post(
        f"{channels_url(tenant)}new/api/", {"name": "Backend", "config-webhook_url": "ftp://rowery.example"}
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_config-webhook_url_error"' in page
    assert "Use a full https:// address" in page
    assert 'value="ftp://rowery.example"' in page  # what was typed is kept
    assert not Channel.objects.exists()


def test_a_channel_needs_a_name(as_admin, tenant):
    response = as_admin.post(f"{channels_url(tenant)}new/api/", {"name": ""})

    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()


def test_an_unknown_kind_is_404(as_admin, tenant):
    assert as_admin.get(f"{channels_url(tenant)}new/carrier-pigeon/").status_code == 404


def test_editing_a_channel_saves_name_and_settings(as_admin, tenant, api_channel_with_secret):
    channel = api_channel_with_secret

    response = as_admin.post(
        channel_url(channel),
        {"action": "save", "name": "Backend sklepu", "config-webhook_url": "https://rowery.example/hook"},
        follow=True,
    )

    assert "The channel&#x27;s settings are saved." in response.content.decode()
    channel.refresh_from_db()
    assert channel.name == "Backend sklepu"
    assert channel.config == {"webhook_url": "https://rowery.example/hook"}
    assert Event.objects.filter(kind="channel.updated").exists()


def test_disabling_and_enabling_a_channel(as_admin, tenant):
    channel = ChannelFactory(tenant=tenant, kind="api", last_error="timeout")

    response = as_admin.post(channel_url(channel), {"action": "disable"}, follow=True)
    assert "The channel is disabled" in response.content.decode()
    channel.refresh_from_db()
    assert channel.disabled

    as_admin.post(channel_url(channel), {"action": "enable"})
    channel.refresh_from_db()
    assert not channel.disabled
    assert channel.last_error == ""  # enabling again clears the old error
    assert Event.objects.filter(kind="channel.updated").count() == 2


def test_rotating_secrets_makes_new_ones_and_shows_them_once(as_admin, tenant, api_channel_with_secret):
    channel = api_channel_with_secret
    as_admin.get(channel_url(channel))  # the reveal after creation is used up
    old = channel.secrets["signing_secret"]

    response = as_admin.post(channel_url(channel), {"action": "rotate"}, follow=True)

    channel.refresh_from_db()
    new = channel.secrets["signing_secret"]
    assert new != old
    page = response.content.decode()
    assert new in page and old not in page
    assert new not in as_admin.get(channel_url(channel)).content.decode()
    assert Event.objects.filter(kind="channel.secrets_rotated").exists()


def test_a_contact_form_has_no_secrets_to_rotate(as_admin, tenant):
    channel = ChannelFactory(tenant=tenant, kind="form")

    assert 'value="rotate"' not in as_admin.get(channel_url(channel)).content.decode()


def test_the_ingestion_log_shows_what_was_rejected_and_why(as_admin, tenant, api_channel_with_secret):
    channel = api_channel_with_secret
    forged = Client().post(
        f"/hooks/{channel.public_id}/",
        json.dumps({"customer": {"email": "jan@example.org"}, "text": "hi"}),
        content_type="application/json",
        headers={"X-Frontdesk-Signature": "t=1,v1=00"},
    )
    assert forged.status_code == 401
    raw = RawInbound.objects.get(channel=channel)
    assert raw.state == RawState.REJECTED

    page = as_admin.get(channel_url(channel)).content.decode()

    assert "Ingestion log" in page
    assert "Rejected" in page
    assert raw.error[:40] in page


def test_the_ingestion_log_filters_by_state_and_shows_only_this_channel(as_admin, tenant):
    channel = ChannelFactory(tenant=tenant, kind="api")
    other = ChannelFactory(tenant=tenant, kind="api")
    RawInbound.objects.create(
        tenant=tenant, channel=channel, body=b"{}", state=RawState.FAILED, error="boom one"
    )
    RawInbound.objects.create(tenant=tenant, channel=channel, body=b"{}", state=RawState.PROCESSED)
    RawInbound.objects.create(
        tenant=tenant, channel=other, body=b"{}", state=RawState.FAILED, error="boom two"
    )

    everything = as_admin.get(channel_url(channel)).content.decode()
    failed = as_admin.get(channel_url(channel) + "?state=failed").content.decode()

    assert "boom one" in everything and "Processed" in everything
    assert "boom two" not in everything
    assert "boom one" in failed and "raw-processed" not in failed
