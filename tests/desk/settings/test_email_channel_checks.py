"""The "Test sign-in" buttons of an email channel's settings: real servers on 127.0.0.1 (aiosmtpd
for SMTP, Dovecot for IMAP, small OAuth endpoints) answer, and the admin reads a clear success or
the server's refusal."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.desk.actions.admin import do_set_channel_secrets
from frontdesk.desk.models import Channel, Event
from tests.channels.email.dovecot import PASSWORD, Dovecot, OAuthServer, message, needs_dovecot
from tests.channels.email.smtp_peer import SmtpPeer, TokenEndpoint, self_signed_certificate, server_tls
from tests.factories import ChannelFactory

pytestmark = [
    pytest.mark.django_db,
    # The test servers take passwords without TLS on 127.0.0.1, as some tests need.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

HTMX = {"HTTP_HX_REQUEST": "true"}


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


def page_values(**config: object) -> dict[str, str]:
    """The settings form as the browser posts it, with `config` fields changed."""
    values: dict[str, object] = {
        "address": "support@rowery.example",
        "imap_port": 993,
        "imap_security": "ssl",
        "imap_auth": "password",
        "imap_folder": "INBOX",
        "imap_poll_seconds": 60,
        "imap_backfill_days": 7,
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_auth": "password",
        **config,
    }
    data = {"name": "Support"}
    for key, value in values.items():
        if value is True:
            data[f"config-{key}"] = "on"
        elif value not in (False, None):
            data[f"config-{key}"] = str(value)
    return data


def result_of(response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(state, text) of the connection test's answer."""
    page = response.content.decode()
    state = re.search(r'data-state="(\w+)"', page)
    assert state, page[:2000]
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip())
    return state[1], text


@pytest.fixture
def smtp_server() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(users={"support@rowery.example": "smtp-pass"}).start()
    yield peer
    peer.stop()


def test_smtp_sign_in_succeeds_with_the_stored_password_and_sends_nothing(
    as_admin, tenant, admin, smtp_server
):
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"smtp_password": "smtp-pass"})

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_smtp",
            **page_values(
                smtp_host="127.0.0.1",
                smtp_port=smtp_server.port,
                smtp_security="none",
                smtp_username="support@rowery.example",
            ),
        },
        **HTMX,
    )

    assert response.status_code == 200
    state, text = result_of(response)
    assert state == "ok"
    assert f"Signed in to 127.0.0.1:{smtp_server.port} as support@rowery.example. No mail was sent." in text
    assert "<html" not in response.content.decode()  # only the answer, for the page to swap in
    assert smtp_server.mechanisms  # it really signed in
    assert smtp_server.handler.offered == []
    # Testing changes nothing: the settings typed on the page are not saved.
    channel.refresh_from_db()
    assert "smtp_host" not in channel.config
    assert not Event.objects.filter(kind="channel.updated").exists()


def test_a_wrong_password_shows_the_servers_refusal(as_admin, tenant, smtp_server):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_smtp",
            "secret-smtp_password": "wrong",  # typed, not saved: tested as typed
            **page_values(
                smtp_host="127.0.0.1",
                smtp_port=smtp_server.port,
                smtp_security="none",
                smtp_username="support@rowery.example",
            ),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert "The SMTP server refused the sign-in of support@rowery.example: 535" in text
    channel.refresh_from_db()
    assert channel.secrets == {}


def test_no_server_listening_is_said_plainly(as_admin, tenant):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {"action": "check_smtp", **page_values(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")},
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert f"127.0.0.1:{port} refused the connection: is the port right?" in text


def test_starttls_asked_for_but_not_offered(as_admin, tenant, smtp_server):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_smtp",
            **page_values(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="starttls"),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert "does not offer STARTTLS" in text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def test_smtp_with_starttls_and_a_trusted_certificate(as_admin, tenant, settings, certificate):
    cert, key = certificate
    settings.FRONTDESK_SMTP_CA_FILE = str(cert)
    peer = SmtpPeer(users={"support@rowery.example": "pw"}, tls=server_tls(cert, key)).start()
    channel = email_channel(tenant)
    try:
        response = as_admin.post(
            channel_url(channel),
            {
                "action": "check_smtp",
                "secret-smtp_password": "pw",
                **page_values(
                    smtp_host="127.0.0.1",
                    smtp_port=peer.port,
                    smtp_security="starttls",
                    smtp_username="support@rowery.example",
                ),
            },
            **HTMX,
        )
    finally:
        peer.stop()

    state, text = result_of(response)
    assert state == "ok", text
    assert peer.mechanisms  # signed in, after STARTTLS (the server requires TLS for AUTH)


def test_smtp_over_ssl_without_a_user_name_connects_only(as_admin, tenant, settings, certificate):
    cert, key = certificate
    settings.FRONTDESK_SMTP_CA_FILE = str(cert)
    peer = SmtpPeer(tls=server_tls(cert, key), implicit_tls=True).start()
    channel = email_channel(tenant)
    try:
        response = as_admin.post(
            channel_url(channel),
            {
                "action": "check_smtp",
                **page_values(smtp_host="127.0.0.1", smtp_port=peer.port, smtp_security="ssl"),
            },
            **HTMX,
        )
    finally:
        peer.stop()

    state, text = result_of(response)
    assert state == "ok", text
    assert "no user name is set, so Frontdesk sends without signing in" in text


def test_an_untrusted_certificate_is_named(as_admin, tenant, certificate):
    cert, key = certificate
    peer = SmtpPeer(tls=server_tls(cert, key), implicit_tls=True).start()
    channel = email_channel(tenant)
    try:
        response = as_admin.post(
            channel_url(channel),
            {
                "action": "check_smtp",
                **page_values(smtp_host="127.0.0.1", smtp_port=peer.port, smtp_security="ssl"),
            },
            **HTMX,
        )
    finally:
        peer.stop()

    state, text = result_of(response)
    assert state == "failed"
    assert f"The certificate of 127.0.0.1:{peer.port} cannot be trusted" in text


def test_smtp_sign_in_with_oauth(as_admin, tenant, admin):
    endpoint = TokenEndpoint(refresh_token="refresh-1", access_token="access-1")
    peer = SmtpPeer()
    peer.handler.oauth_token = "access-1"
    peer.users = {}
    peer.start()
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"oauth_refresh_token": "refresh-1", "oauth_client_secret": "cs"})
    try:
        good = as_admin.post(
            channel_url(channel),
            {
                "action": "check_smtp",
                **page_values(
                    smtp_host="127.0.0.1",
                    smtp_port=peer.port,
                    smtp_security="none",
                    smtp_auth="xoauth2",
                    oauth_token_url=endpoint.url,
                    oauth_client_id="client-1",
                ),
            },
            **HTMX,
        )
        refused = as_admin.post(
            channel_url(channel),
            {
                "action": "check_smtp",
                "secret-oauth_refresh_token": "revoked",
                **page_values(
                    smtp_host="127.0.0.1",
                    smtp_port=peer.port,
                    smtp_security="none",
                    smtp_auth="xoauth2",
                    oauth_token_url=endpoint.url,
                    oauth_client_id="client-1",
                ),
            },
            **HTMX,
        )
    finally:
        peer.stop()
        endpoint.close()

    assert result_of(good)[0] == "ok"
    assert peer.handler.oauth_users == ["support@rowery.example"]
    assert endpoint.requests[0]["client_id"] == "client-1" and endpoint.requests[0]["client_secret"] == "cs"
    state, text = result_of(refused)
    assert state == "failed"
    assert "The OAuth token endpoint refused the refresh token: HTTP 400" in text and "invalid_grant" in text


def test_without_an_smtp_server_replies_use_the_installations_and_the_test_says_so(as_admin, tenant):
    channel = email_channel(tenant)

    response = as_admin.post(channel_url(channel), {"action": "check_smtp", **page_values()}, **HTMX)

    state, text = result_of(response)
    assert state == "info"
    assert "replies go out through this installation's mail server" in text


def test_settings_that_cannot_work_get_422_with_the_reason(as_admin, tenant):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {"action": "check_imap", **page_values(imap_enabled=True, imap_host="")},
        **HTMX,
    )

    assert response.status_code == 422
    state, text = result_of(response)
    assert state == "failed" and "IMAP needs a server and a user name" in text


def test_without_javascript_the_page_comes_back_with_the_answer_and_the_typed_values(
    as_admin, tenant, smtp_server
):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_smtp",
            **page_values(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none"),
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert 'data-testid="check-smtp-result" data-state="ok"' in page
    assert f'value="{smtp_server.port}"' in page  # what was typed stays on the page, unsaved


def test_the_connection_test_works_before_the_channel_exists(as_admin, tenant, smtp_server):
    response = as_admin.post(
        f"/t/{tenant.slug}/settings/channels/new/email/",
        {
            "action": "check_smtp",
            "secret-smtp_password": "smtp-pass",
            **page_values(
                smtp_host="127.0.0.1",
                smtp_port=smtp_server.port,
                smtp_security="none",
                smtp_username="support@rowery.example",
            ),
        },
        **HTMX,
    )

    assert result_of(response)[0] == "ok", result_of(response)[1]
    assert not Channel.objects.exists()


def test_connection_tests_are_limited(as_admin, tenant, settings, smtp_server):
    settings.FRONTDESK_RATE_CONNECTION_TEST_PER_TENANT = (2, 600)
    channel = email_channel(tenant)
    data = {
        "action": "check_smtp",
        **page_values(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none"),
    }

    answers = [as_admin.post(channel_url(channel), data, **HTMX) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Too many connection tests" in answers[2].content.decode()


def test_other_kinds_have_no_connection_test(as_admin, api_channel):
    response = as_admin.post(channel_url(api_channel), {"action": "check_imap"})

    assert response.status_code == 422
    assert "This kind of channel has no connection test." in response.content.decode()


def test_an_agent_cannot_test_and_another_shop_gets_404(as_agent, as_outsider, tenant, smtp_server):
    channel = email_channel(tenant)
    data = {
        "action": "check_smtp",
        **page_values(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none"),
    }

    assert as_agent.post(channel_url(channel), data, **HTMX).status_code == 403
    assert as_outsider.post(channel_url(channel), data, **HTMX).status_code == 404
    assert smtp_server.mechanisms == [] and not smtp_server.handler.received


# --- IMAP, against a real Dovecot ---------------------------------------------------------------


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


def imap_values(server: Dovecot, **extra: object) -> dict[str, str]:
    values: dict[str, object] = {
        "imap_enabled": True,
        "imap_host": "127.0.0.1",
        "imap_port": server.port,
        "imap_security": "none",
        "imap_username": server.user,
    }
    return page_values(**{**values, **extra})


@needs_dovecot
def test_imap_sign_in_opens_the_folder_and_changes_nothing(as_admin, tenant, admin, dovecot):
    dovecot.append(message(1))
    dovecot.append(message(2))
    before = dovecot.contents()
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"imap_password": PASSWORD})

    response = as_admin.post(channel_url(channel), {"action": "check_imap", **imap_values(dovecot)}, **HTMX)

    state, text = result_of(response)
    assert state == "ok", text
    assert f"Signed in to 127.0.0.1:{dovecot.port} as {dovecot.user}." in text
    assert "The folder INBOX holds 2 messages." in text
    assert "The server supports IDLE" in text
    assert dovecot.contents() == before  # not even marked as read


@needs_dovecot
def test_a_wrong_imap_password_shows_the_servers_refusal(as_admin, tenant, dovecot):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {"action": "check_imap", "secret-imap_password": "wrong", **imap_values(dovecot)},
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert f"The IMAP server refused the sign-in of {dovecot.user}:" in text
    assert "AUTHENTICATIONFAILED" in text


@needs_dovecot
def test_a_folder_that_does_not_exist_is_named_with_the_ones_that_do(as_admin, tenant, dovecot):
    with dovecot.client() as box:
        box.folder.create("Reklamacje")
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_imap",
            "secret-imap_password": PASSWORD,
            **imap_values(dovecot, imap_folder="Zwroty"),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert "Signed in, but the folder Zwroty cannot be opened" in text
    assert "Folders on the server: " in text and "INBOX" in text and "Reklamacje" in text


@needs_dovecot
def test_the_folder_to_move_imported_mail_to_must_exist(as_admin, tenant, dovecot):
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_imap",
            "secret-imap_password": PASSWORD,
            **imap_values(dovecot, imap_move_to="Done"),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert "there is no folder Done to move imported mail to" in text


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    server = Dovecot(tls=True).start()
    yield server
    server.close()


@needs_dovecot
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_over_tls_with_the_servers_ca_trusted(as_admin, tenant, settings, dovecot_tls, security):
    settings.FRONTDESK_IMAP_CA_FILE = str(dovecot_tls.cert)
    port = dovecot_tls.imaps_port if security == "ssl" else dovecot_tls.port
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_imap",
            "secret-imap_password": PASSWORD,
            **imap_values(dovecot_tls, imap_port=port, imap_security=security),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "ok", text


@needs_dovecot
def test_an_untrusted_imap_certificate_is_named(as_admin, tenant, settings, dovecot_tls):
    settings.FRONTDESK_IMAP_CA_FILE = ""
    channel = email_channel(tenant)

    response = as_admin.post(
        channel_url(channel),
        {
            "action": "check_imap",
            "secret-imap_password": PASSWORD,
            **imap_values(dovecot_tls, imap_port=dovecot_tls.imaps_port, imap_security="ssl"),
        },
        **HTMX,
    )

    state, text = result_of(response)
    assert state == "failed"
    assert f"The certificate of 127.0.0.1:{dovecot_tls.imaps_port} cannot be trusted" in text


@needs_dovecot
def test_imap_sign_in_with_oauth(as_admin, tenant, admin):
    identity = OAuthServer(refresh_token="rt-good")
    server = Dovecot(oauth=identity).start()
    channel = email_channel(tenant)
    do_set_channel_secrets(admin, channel, {"oauth_refresh_token": "rt-good"})
    values = imap_values(
        server, imap_auth="xoauth2", oauth_token_url=f"{identity.base}/token", oauth_client_id="frontdesk"
    )
    try:
        good = as_admin.post(channel_url(channel), {"action": "check_imap", **values}, **HTMX)
        revoked = as_admin.post(
            channel_url(channel),
            {"action": "check_imap", "secret-oauth_refresh_token": "rt-revoked", **values},
            **HTMX,
        )
    finally:
        server.close()
        identity.close()

    state, text = result_of(good)
    assert state == "ok", text
    assert identity.introspected  # Dovecot checked the access token Frontdesk got
    state, text = result_of(revoked)
    assert state == "failed"
    assert "The OAuth token endpoint refused the refresh token: HTTP 400" in text


def test_a_test_with_unusable_values_says_which_ones(as_admin, tenant):
    response = as_admin.post(
        f"/t/{tenant.slug}/settings/channels/new/email/",
        {"action": "check_smtp", **page_values(smtp_host="127.0.0.1", smtp_port="99999")},
        **HTMX,
    )

    assert response.status_code == 422
    state, text = result_of(response)
    assert state == "failed"
    assert "Correct these settings first." in text and "SMTP port:" in text
