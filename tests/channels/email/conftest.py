"""Fixtures of the email receiving tests: a real Dovecot IMAP server per test (see dovecot.py),
email channels fetching from it, and short timings so that outages and retries take moments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from frontdesk.desk.models import Channel
from tests.channels.email.dovecot import PASSWORD, Dovecot, OAuthServer
from tests.factories import ChannelFactory


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    """Dovecot with a self-signed certificate for 127.0.0.1: IMAPS, and STARTTLS on the plain port."""
    server = Dovecot(tls=True).start()
    yield server
    server.close()


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    server = OAuthServer(refresh_token="rt-" + "7" * 20)
    yield server
    server.close()


@pytest.fixture
def dovecot_oauth(oauth_server: OAuthServer) -> Iterator[Dovecot]:
    """Dovecot that checks XOAUTH2 tokens at the fake identity provider (its oauth2 passdb)."""
    server = Dovecot(oauth=oauth_server).start()
    yield server
    server.close()


@pytest.fixture
def quick_retries(settings):  # type: ignore[no-untyped-def]
    """Reconnects within moments, and a silent server noticed within seconds."""
    settings.FRONTDESK_IMAP_RETRY_SECONDS = 0.1
    settings.FRONTDESK_IMAP_RETRY_MAX_SECONDS = 0.5
    settings.FRONTDESK_IMAP_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture
def imap_channel(tenant, dovecot: Dovecot) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support mailbox",
        config=dovecot.channel_config(),
        inbound_address="support@rowery.example",
        secrets={"imap_password": PASSWORD},
    )
