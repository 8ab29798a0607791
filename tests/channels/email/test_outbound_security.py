"""Sending over TLS (STARTTLS, SSL) with verified certificates, and signing in with a password
(AUTH PLAIN, LOGIN) or an OAuth token (XOAUTH2); a refused sign-in shows on the channel."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.channels.base import RawPayload
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import receive_raw
from frontdesk.desk.models import Channel, Conversation, DeliveryState, DeliveryStatus, Message
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import ChannelFactory

from .smtp_peer import SmtpPeer, TokenEndpoint, self_signed_certificate, server_tls

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = (
    b"From: Jan Kowalski <jan@example.org>\r\nTo: support@rowery.example\r\nSubject: Paczka\r\n"
    b"Message-ID: <first@example.org>\r\n\r\nGdzie jest paczka?\r\n"
)
USERS = {"support@rowery.example": "s3cret-app-password"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate, settings) -> Path:  # type: ignore[no-untyped-def]
    """The test server's self-signed certificate is trusted through the explicit setting."""
    settings.FRONTDESK_SMTP_CA_FILE = str(certificate[0])
    return certificate[0]


@pytest.fixture
def peers() -> Iterator[list[SmtpPeer]]:
    started: list[SmtpPeer] = []
    yield started
    for peer in started:
        peer.stop()


def mailbox_for(tenant, peer: SmtpPeer, peers: list[SmtpPeer], secrets=None, **config) -> Channel:  # type: ignore[no-untyped-def]
    peers.append(peer.start())
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config=peer.config(**config),
        inbound_address="support@rowery.example",
        secrets=secrets or {},
    )


def send(agent, mailbox: Channel) -> Message:  # type: ignore[no-untyped-def]
    _raw, [result] = receive_raw(mailbox, RawPayload(body=FIRST))
    conversation: Conversation = result.conversation
    message = do_reply(agent, conversation, "It ships today.")
    run_ready_tasks()
    message.refresh_from_db()
    return message


def test_starttls_with_the_servers_certificate_trusted(tenant, agent, certificate, trusted, peers):
    peer = SmtpPeer(tls=server_tls(*certificate))
    mailbox = mailbox_for(tenant, peer, peers)

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    [received] = peer.received
    assert received.tls
    assert received.message["Message-ID"] == message.provider_id


def test_ssl_from_the_first_byte(tenant, agent, certificate, trusted, peers):
    peer = SmtpPeer(tls=server_tls(*certificate), implicit_tls=True)
    mailbox = mailbox_for(tenant, peer, peers)

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    assert peer.received[0].tls


def test_an_untrusted_certificate_stops_sending_and_shows_on_the_channel(tenant, agent, certificate, peers):
    peer = SmtpPeer(tls=server_tls(*certificate))
    mailbox = mailbox_for(tenant, peer, peers)

    message = send(agent, mailbox)

    mailbox.refresh_from_db()
    delivery = message.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING  # retried: certificates get renewed, CAs added
    assert "certificate cannot be trusted" in delivery.last_error
    assert "certificate cannot be trusted" in mailbox.last_error
    assert peer.received == []


def test_verification_is_off_only_when_the_operator_turns_it_off(tenant, agent, certificate, peers, settings):
    settings.FRONTDESK_SMTP_VERIFY_TLS = False
    peer = SmtpPeer(tls=server_tls(*certificate))
    mailbox = mailbox_for(tenant, peer, peers)

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error


def test_a_server_without_starttls_gets_nothing_in_the_clear(tenant, agent, peers):
    peer = SmtpPeer()
    mailbox = mailbox_for(
        tenant, peer, peers, smtp_security="starttls", smtp_username="support@rowery.example"
    )

    message = send(agent, mailbox)

    mailbox.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "does not offer STARTTLS" in mailbox.last_error
    assert peer.received == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_signing_in_with_a_password(tenant, agent, certificate, trusted, peers, mechanism):
    others = (*({"PLAIN", "LOGIN"} - {mechanism}), "XOAUTH2")
    peer = SmtpPeer(tls=server_tls(*certificate), users=USERS, exclude_mechanisms=others)
    mailbox = mailbox_for(
        tenant,
        peer,
        peers,
        secrets={"smtp_password": "s3cret-app-password"},
        smtp_username="support@rowery.example",
    )

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    assert peer.mechanisms == [mechanism]
    assert peer.received[0].login == "support@rowery.example"


def test_a_refused_password_fails_the_reply_and_shows_on_the_channel(
    tenant, agent, certificate, trusted, peers
):
    peer = SmtpPeer(tls=server_tls(*certificate), users=USERS)
    mailbox = mailbox_for(
        tenant,
        peer,
        peers,
        secrets={"smtp_password": "an-old-password"},
        smtp_username="support@rowery.example",
    )

    message = send(agent, mailbox)

    mailbox.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert message.deliveries.get().attempts == 1
    assert "refused the sign-in: 535" in message.delivery_error
    assert "refused the sign-in: 535" in mailbox.last_error
    assert peer.received == []


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(refresh_token="1//refresh-me", access_token="ya29.fresh-access-token")
    yield endpoint
    endpoint.close()


def oauth_mailbox(tenant, peer: SmtpPeer, peers: list[SmtpPeer], token_endpoint: TokenEndpoint) -> Channel:  # type: ignore[no-untyped-def]
    return mailbox_for(
        tenant,
        peer,
        peers,
        secrets={"oauth_refresh_token": "1//refresh-me", "oauth_client_secret": "client-secret"},
        smtp_auth="xoauth2",
        smtp_username="support@rowery.example",
        oauth_token_url=token_endpoint.url,
        oauth_client_id="frontdesk-client",
    )


def test_signing_in_with_an_oauth_token(tenant, agent, certificate, trusted, peers, token_endpoint):
    peer = SmtpPeer(tls=server_tls(*certificate))
    peer.handler.oauth_token = "ya29.fresh-access-token"
    mailbox = oauth_mailbox(tenant, peer, peers, token_endpoint)

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    assert peer.handler.oauth_users == ["support@rowery.example"]
    [token_request] = token_endpoint.requests
    assert token_request["client_id"] == "frontdesk-client"
    assert peer.received[0].tls


def test_a_refused_oauth_token_fails_the_reply_and_shows_on_the_channel(
    tenant, agent, certificate, trusted, peers, token_endpoint
):
    peer = SmtpPeer(tls=server_tls(*certificate))
    peer.handler.oauth_token = "ya29.some-other-token"
    mailbox = oauth_mailbox(tenant, peer, peers, token_endpoint)

    message = send(agent, mailbox)

    mailbox.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "535 5.7.8 Username and Password not accepted" in mailbox.last_error


def test_the_tls_context_verifies_by_default(settings):
    from frontdesk.channels.email.outbound import tls_context

    context = tls_context()

    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_a_stale_cached_oauth_token_is_refreshed_once_and_the_reply_goes_out(
    tenant, agent, certificate, trusted, peers, token_endpoint
):
    from django.core.cache import cache

    from frontdesk.channels.email.oauth import _cache_key

    peer = SmtpPeer(tls=server_tls(*certificate))
    peer.handler.oauth_token = "ya29.fresh-access-token"
    mailbox = oauth_mailbox(tenant, peer, peers, token_endpoint)
    cache.set(_cache_key(mailbox, mailbox.secrets), "ya29.revoked-yesterday", 3600)

    message = send(agent, mailbox)

    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    assert len(token_endpoint.requests) == 1
