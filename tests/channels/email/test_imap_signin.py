"""Connecting and signing in: IMAPS and STARTTLS with certificates checked, XOAUTH2 (Gmail,
Microsoft 365) with tokens from a refresh token, and what the admin sees when it does not work."""

from __future__ import annotations

import ssl

import pytest

from frontdesk.channels.email.imap import ImapFetcher, LoginFailed
from frontdesk.desk.models import Channel, MailboxState, RawInbound
from tests.channels.email.dovecot import PASSWORD, Dovecot, message, needs_dovecot
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db, needs_dovecot]


def mailbox(tenant, config: dict, secrets: dict) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config=config,
        inbound_address=config["address"],
        secrets=secrets,
    )


# --- TLS ------------------------------------------------------------------------------------------


def test_imaps_with_the_servers_certificate_trusted(tenant, dovecot_tls, settings):
    settings.FRONTDESK_IMAP_CA_FILE = str(dovecot_tls.cert)
    dovecot_tls.append(message(1))
    channel = mailbox(
        tenant,
        dovecot_tls.channel_config(imap_security="ssl", imap_port=dovecot_tls.imaps_port),
        {"imap_password": PASSWORD},
    )

    ImapFetcher(channel).sync_once()

    assert RawInbound.objects.filter(channel=channel).count() == 1


def test_starttls_with_the_servers_certificate_trusted(tenant, dovecot_tls, settings):
    settings.FRONTDESK_IMAP_CA_FILE = str(dovecot_tls.cert)
    dovecot_tls.append(message(1))
    channel = mailbox(
        tenant, dovecot_tls.channel_config(imap_security="starttls"), {"imap_password": PASSWORD}
    )

    ImapFetcher(channel).sync_once()

    assert RawInbound.objects.filter(channel=channel).count() == 1


def test_an_untrusted_certificate_is_refused_and_shown_on_the_channel(tenant, dovecot_tls, settings):
    settings.FRONTDESK_IMAP_CA_FILE = ""
    dovecot_tls.append(message(1))
    channel = mailbox(
        tenant,
        dovecot_tls.channel_config(imap_security="ssl", imap_port=dovecot_tls.imaps_port),
        {"imap_password": PASSWORD},
    )

    with pytest.raises(ssl.SSLCertVerificationError):
        ImapFetcher(channel).sync_once()

    channel.refresh_from_db()
    assert "certificate was not accepted" in channel.last_error
    assert RawInbound.objects.filter(channel=channel).count() == 0


def test_certificate_checks_are_off_only_when_the_operator_turns_them_off(tenant, dovecot_tls, settings):
    settings.FRONTDESK_IMAP_CA_FILE = ""
    settings.FRONTDESK_IMAP_VERIFY_TLS = False  # an explicit setting, for test set-ups
    dovecot_tls.append(message(1))
    channel = mailbox(
        tenant,
        dovecot_tls.channel_config(imap_security="ssl", imap_port=dovecot_tls.imaps_port),
        {"imap_password": PASSWORD},
    )

    ImapFetcher(channel).sync_once()

    assert RawInbound.objects.filter(channel=channel).count() == 1


# --- Passwords ------------------------------------------------------------------------------------


def test_a_wrong_password_is_reported_on_the_channel_and_in_the_mailbox_log(tenant, dovecot):
    channel = mailbox(tenant, dovecot.channel_config(), {"imap_password": "not-it"})

    with pytest.raises(LoginFailed):
        ImapFetcher(channel).sync_once()

    channel.refresh_from_db()
    assert channel.last_error.startswith("IMAP: The server refused the sign-in of frontdesk")
    assert not channel.disabled
    assert "refused the sign-in" in MailboxState.objects.get(channel=channel).last_error


def test_the_channels_error_goes_away_once_the_mailbox_works_but_other_errors_stay(tenant, dovecot):
    channel = mailbox(tenant, dovecot.channel_config(), {"imap_password": "not-it"})
    with pytest.raises(LoginFailed):
        ImapFetcher(channel).sync_once()
    channel.secrets = {"imap_password": PASSWORD}
    channel.save()

    ImapFetcher(channel).sync_once()

    channel.refresh_from_db()
    assert channel.last_error == ""
    Channel.objects.filter(pk=channel.pk).update(last_error="SMTP: sending failed")
    ImapFetcher(channel).sync_once()
    assert Channel.objects.get(pk=channel.pk).last_error == "SMTP: sending failed"


def test_a_missing_folder_is_reported_on_the_channel(tenant, dovecot):
    channel = mailbox(tenant, dovecot.channel_config(imap_folder="Nope"), {"imap_password": PASSWORD})

    with pytest.raises(Exception, match="cannot be opened"):
        ImapFetcher(channel).sync_once()

    channel.refresh_from_db()
    assert "The folder Nope cannot be opened" in channel.last_error


def test_a_password_with_non_ascii_letters_signs_in_with_sasl_plain(tenant):
    dovecot = Dovecot(password="zażółć-gęślą").start()
    try:
        dovecot.append(message(1))
        channel = mailbox(tenant, dovecot.channel_config(), {"imap_password": "zażółć-gęślą"})

        ImapFetcher(channel).sync_once()
    finally:
        dovecot.close()

    assert RawInbound.objects.filter(channel=channel).count() == 1


# --- XOAUTH2 --------------------------------------------------------------------------------------


def oauth_config(dovecot, oauth_server) -> dict:  # type: ignore[no-untyped-def]
    return dovecot.channel_config(
        imap_auth="xoauth2",
        oauth_token_url=f"{oauth_server.base}/token",
        oauth_client_id="frontdesk-test",
    )


def test_xoauth2_signs_in_with_a_token_from_the_refresh_token(tenant, dovecot_oauth, oauth_server):
    dovecot_oauth.append(message(1))
    channel = mailbox(
        tenant,
        oauth_config(dovecot_oauth, oauth_server),
        {"oauth_refresh_token": oauth_server.refresh_token, "oauth_client_secret": "cs-1"},
    )

    ImapFetcher(channel).sync_once()

    assert RawInbound.objects.filter(channel=channel).count() == 1
    [request] = oauth_server.token_requests
    assert request["grant_type"] == "refresh_token"
    assert request["client_id"] == "frontdesk-test"
    assert oauth_server.introspected == sorted(oauth_server.access_tokens)  # Dovecot checked it


def test_a_revoked_refresh_token_is_reported_on_the_channel(tenant, dovecot_oauth, oauth_server):
    channel = mailbox(tenant, oauth_config(dovecot_oauth, oauth_server), {"oauth_refresh_token": "revoked"})

    with pytest.raises(LoginFailed):
        ImapFetcher(channel).sync_once()

    channel.refresh_from_db()
    assert "OAuth sign-in was refused" in channel.last_error
    assert oauth_server.introspected == []


def test_a_token_the_server_does_not_accept_is_a_refused_sign_in(tenant, dovecot_oauth, oauth_server):
    channel = mailbox(
        tenant,
        oauth_config(dovecot_oauth, oauth_server),
        {"oauth_refresh_token": oauth_server.refresh_token},
    )
    ImapFetcher(channel).sync_once()
    oauth_server.access_tokens.clear()  # the provider revoked the access token

    with pytest.raises(LoginFailed):
        ImapFetcher(channel).sync_once()

    assert "refused the sign-in" in Channel.objects.get(pk=channel.pk).last_error
