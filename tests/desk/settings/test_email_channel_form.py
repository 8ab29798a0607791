"""An email channel's settings page: grouped sections, provider presets, reply texts per language,
and passwords that are written but never read back."""

from __future__ import annotations

import html
import json
import re

import pytest

from frontdesk.desk.actions.admin import do_set_channel_secrets
from frontdesk.desk.errors import Forbidden, Invalid
from frontdesk.desk.models import Channel, Event
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Tajne-Haslo-123!"


def new_url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/channels/new/email/"


def channel_url(channel: Channel) -> str:
    return f"/t/{channel.tenant.slug}/settings/channels/{channel.pk}/"


def email_channel(tenant, **config) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support",
        config={"address": "support@rowery.example", **config},
        inbound_address="support@rowery.example",
    )


def form_data(**extra: str) -> dict[str, str]:
    """What the browser posts for a mailbox read over IMAP and answered over SMTP."""
    return {
        "name": "Support",
        "config-address": "support@rowery.example",
        "config-from_name": "Rowery",
        "config-imap_enabled": "on",
        "config-imap_host": "imap.rowery.example",
        "config-imap_port": "993",
        "config-imap_security": "ssl",
        "config-imap_username": "support@rowery.example",
        "config-imap_auth": "password",
        "config-imap_folder": "INBOX",
        "config-imap_idle": "on",
        "config-imap_poll_seconds": "60",
        "config-imap_backfill_days": "7",
        "config-smtp_receive": "on",
        "config-smtp_host": "smtp.rowery.example",
        "config-smtp_port": "587",
        "config-smtp_security": "starttls",
        "config-smtp_username": "support@rowery.example",
        "config-smtp_auth": "password",
        **extra,
    }


def legends(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<legend>([^<]+)</legend>", page)]


def test_the_settings_are_grouped_in_sections(as_admin, tenant):
    page = as_admin.get(new_url(tenant)).content.decode()

    assert legends(page) == [
        "Address",
        "Receiving by IMAP",
        "Built-in SMTP receiver",
        "Sending by SMTP",
        "OAuth 2 sign-in",
        "Text around replies",
    ]
    imap = page[page.index('id="section-imap"') : page.index('id="section-smtp_receive"')]
    assert 'name="config-imap_host"' in imap and 'name="secret-imap_password"' in imap
    assert 'name="config-smtp_host"' not in imap
    # Choices say what they mean, not their stored values.
    assert "SSL/TLS (ports 993, 465)" in page and "OAuth 2 (Gmail, Microsoft 365)" in page


def test_presets_for_gmail_microsoft_365_and_other_servers_are_offered(as_admin, tenant):
    page = as_admin.get(new_url(tenant)).content.decode()

    for key in ("gmail", "gmail_oauth", "microsoft365", "imap"):
        assert f'data-testid="preset-{key}"' in page
    presets = json.loads(html.unescape(re.search(r'data-presets="([^"]*)"', page)[1]))  # type: ignore[index]
    assert presets["gmail"]["values"]["imap_host"] == "imap.gmail.com"
    assert presets["microsoft365"]["values"]["smtp_host"] == "smtp.office365.com"
    assert presets["microsoft365"]["values"]["imap_auth"] == "xoauth2"
    assert "imap_host" not in presets["imap"]["values"]  # the admin types their own server
    assert "<script>" not in page.split("</head>", 1)[1]  # no inline script (CSP): settings.js reads this


def test_reply_texts_get_one_text_area_per_shop_language(as_admin, tenant, admin):
    tenant.languages = ["pl", "en"]
    tenant.save(update_fields=["languages"])

    page = as_admin.get(new_url(tenant)).content.decode()

    assert '<textarea name="config-reply_header__pl"' in page
    assert '<textarea name="config-reply_footer__en"' in page
    assert "In JSON." not in page

    as_admin.post(
        new_url(tenant),
        form_data(
            **{
                "config-reply_header__pl": "Dzień dobry {customer_name},",
                "config-reply_footer__en": "\r\nBye",
            }
        ),
    )
    channel = Channel.objects.get(tenant=tenant, kind="email")
    assert channel.config["reply_header"] == {"pl": "Dzień dobry {customer_name},"}
    assert channel.config["reply_footer"] == {"en": "Bye"}


def test_a_text_in_a_language_the_shop_dropped_is_kept(as_admin, tenant):
    tenant.languages = ["pl"]
    tenant.save(update_fields=["languages"])
    channel = email_channel(tenant, reply_header={"pl": "Dzień dobry,", "de": "Guten Tag,"})

    page = as_admin.get(channel_url(channel)).content.decode()

    assert re.search(r'<textarea name="config-reply_header__de"[^>]*>\s*Guten Tag,</textarea>', page)
    as_admin.post(
        channel_url(channel),
        form_data(
            **{
                "action": "save",
                "config-imap_enabled": "",
                "config-reply_header__pl": "Witamy,",
                "config-reply_header__de": "Guten Tag,",
            }
        ),
    )
    channel.refresh_from_db()
    assert channel.config["reply_header"] == {"pl": "Witamy,", "de": "Guten Tag,"}


def test_an_admin_adds_an_email_channel_with_its_passwords(as_admin, tenant, admin):
    response = as_admin.post(
        new_url(tenant),
        form_data(**{"secret-imap_password": PASSWORD, "secret-smtp_password": PASSWORD + "-smtp"}),
    )

    assert response.status_code == 302
    channel = Channel.objects.get(tenant=tenant, kind="email")
    assert channel.secrets == {"imap_password": PASSWORD, "smtp_password": PASSWORD + "-smtp"}
    assert channel.inbound_address == "support@rowery.example"
    page = as_admin.get(response["Location"]).content.decode()
    # A typed password is never shown back, not even once after creating the channel.
    assert PASSWORD not in page
    assert "only this once" not in page
    assert "The channel Support is ready." in page


def test_passwords_are_shown_as_set_or_not_set_and_never_echoed(as_admin, tenant, admin):
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"imap_password": PASSWORD})

    page = as_admin.get(channel_url(channel)).content.decode()

    assert PASSWORD not in page
    imap = re.search(r'data-testid="secret-imap_password".*?</div>\s*</div>', page, re.S)[0]  # type: ignore[index]
    smtp = re.search(r'data-testid="secret-smtp_password".*?</div>\s*</div>', page, re.S)[0]  # type: ignore[index]
    assert (
        ">set<" in imap
        and 'type="password"' in imap
        and "value=" not in imap.split("<input", 1)[1].split(">")[0]
    )
    assert 'name="secret-imap_password__clear"' in imap
    assert ">not set<" in smtp and "__clear" not in smtp


def test_a_failed_save_does_not_echo_the_typed_password(as_admin, tenant):
    response = as_admin.post(
        new_url(tenant), form_data(**{"config-address": "not an address", "secret-imap_password": PASSWORD})
    )

    assert response.status_code == 422
    assert PASSWORD not in response.content.decode()
    assert not Channel.objects.exists()


def test_an_empty_password_box_keeps_the_stored_password(as_admin, tenant, admin):
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"imap_password": PASSWORD, "smtp_password": "smtp-secret"})

    as_admin.post(channel_url(channel), form_data(action="save", **{"secret-smtp_password": "new-smtp"}))

    channel.refresh_from_db()
    assert channel.secrets == {"imap_password": PASSWORD, "smtp_password": "new-smtp"}
    event = Event.objects.filter(kind="channel.secrets_set").latest("id")
    assert event.data == {"channel": channel.pk, "set": ["smtp_password"], "cleared": []}
    assert "new-smtp" not in json.dumps(event.data)


def test_clear_removes_a_password(as_admin, tenant, admin):
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"imap_password": PASSWORD, "smtp_password": "smtp-secret"})

    as_admin.post(
        channel_url(channel),
        form_data(action="save", **{"config-imap_enabled": "", "secret-imap_password__clear": "on"}),
    )

    channel.refresh_from_db()
    assert channel.secrets == {"smtp_password": "smtp-secret"}
    assert Event.objects.filter(kind="channel.secrets_set").latest("id").data["cleared"] == ["imap_password"]


def test_a_password_with_a_line_break_is_refused_beside_its_box(as_admin, tenant, admin):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel), form_data(action="save", **{"secret-imap_password": "one\r\nA001 LOGOUT"})
    )

    assert response.status_code == 422
    assert "Line breaks are not allowed." in response.content.decode()
    channel.refresh_from_db()
    assert channel.secrets == {}
    assert channel.config == {"address": "support@rowery.example"}  # nothing saved


def test_only_secrets_an_admin_types_can_be_set_and_only_by_an_admin(tenant, admin, agent, api_channel):
    channel = email_channel(tenant)

    with pytest.raises(Invalid) as unknown:
        do_set_channel_secrets(admin, channel, {"api_key": "x"})
    assert "secrets.api_key" in unknown.value.fields
    # The API channel's signing secret is generated (and rotated), never typed in.
    with pytest.raises(Invalid):
        do_set_channel_secrets(admin, api_channel, {"signing_secret": "mine"})
    with pytest.raises(Forbidden):
        do_set_channel_secrets(agent, channel, {"imap_password": PASSWORD})
    assert channel.secrets == {}


def test_the_api_channel_keeps_its_generated_secret_and_no_password_boxes(as_admin, api_channel):
    page = as_admin.get(channel_url(api_channel)).content.decode()

    assert 'type="password"' not in page
    assert 'value="rotate"' in page
    assert api_channel.secrets["signing_secret"] not in page


def test_an_email_channel_has_nothing_to_rotate_and_rotating_never_drops_passwords(as_admin, tenant, admin):
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"imap_password": PASSWORD})

    assert 'value="rotate"' not in as_admin.get(channel_url(channel)).content.decode()
    as_admin.post(channel_url(channel), {"action": "rotate"})

    channel.refresh_from_db()
    assert channel.secrets == {"imap_password": PASSWORD}


def test_the_receiver_instructions_name_the_address_host_and_port(as_admin, tenant, settings):
    settings.FRONTDESK_SMTP_PUBLIC_HOST = "mx.frontdesk.example"
    settings.FRONTDESK_SMTP_PUBLIC_PORT = 2525
    channel = email_channel(tenant, smtp_receive=True)

    page = as_admin.get(channel_url(channel)).content.decode()

    receiver = page[page.index('data-testid="smtp-receiver"') :]
    assert 'value="mx.frontdesk.example"' in receiver and 'value="2525"' in receiver
    assert "rowery.example.  3600  IN  MX  10  mx.frontdesk.example." in receiver
    assert "port forward" in receiver
    assert "FRONTDESK_SMTP_PUBLIC_HOST" not in receiver  # the operator said where it is


def test_without_a_receiver_setting_the_page_says_to_ask_the_operator(as_admin, tenant, settings):
    settings.FRONTDESK_BASE_URL = "https://desk.rowery.example"
    channel = email_channel(tenant, smtp_receive=True)

    page = as_admin.get(channel_url(channel)).content.decode()

    assert 'value="desk.rowery.example"' in page and 'value="25"' in page
    assert "FRONTDESK_SMTP_PUBLIC_HOST" in page


def test_a_channel_that_refuses_smtp_delivery_shows_no_receiver_instructions(as_admin, tenant):
    channel = email_channel(tenant, smtp_receive=False)

    assert 'data-testid="smtp-receiver"' not in as_admin.get(channel_url(channel)).content.decode()


def test_an_agent_gets_403_and_another_shops_admin_404(as_agent, as_outsider, tenant):
    channel = email_channel(tenant)

    assert as_agent.get(channel_url(channel)).status_code == 403
    assert as_agent.post(channel_url(channel), form_data(action="save")).status_code == 403
    assert as_outsider.get(channel_url(channel)).status_code == 404
    assert as_outsider.post(channel_url(channel), form_data(action="save")).status_code == 404
