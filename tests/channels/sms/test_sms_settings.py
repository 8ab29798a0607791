"""An admin connects Twilio in Settings → Channels: the generated form takes the account, the
sender and the auth token (write-only), and shows the webhook URL to paste into Twilio."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.desk.models import Channel, Role
from tests.factories import MembershipFactory

from .conftest import ACCOUNT_SID, AUTH_TOKEN, SHOP_NUMBER

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(tenant) -> Client:  # type: ignore[no-untyped-def]
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example")
    client = Client()
    client.force_login(admin.user)
    return client


def new_sms_url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/channels/new/sms/"


def test_an_admin_adds_an_sms_channel_and_sees_the_webhook_url_for_twilio(as_admin, tenant):
    response = as_admin.post(
        new_sms_url(tenant),
        {
            "name": "SMS",
            "config-account_sid": ACCOUNT_SID,
            "config-from_number": SHOP_NUMBER,
            "config-messaging_service_sid": "",
            "config-api_base_url": "https://api.twilio.com",
            "secret-auth_token": AUTH_TOKEN,
        },
    )

    assert response.status_code == 302
    channel = Channel.objects.get(tenant=tenant, kind="sms")
    assert channel.config["from_number"] == SHOP_NUMBER
    assert channel.secrets["auth_token"] == AUTH_TOKEN
    page = as_admin.get(response["Location"]).content.decode()
    assert f"/sms/{channel.public_id}/" in page
    assert AUTH_TOKEN not in page  # typed-in secrets are never sent back


def test_a_channel_without_a_sender_is_refused_with_the_reason(as_admin, tenant):
    response = as_admin.post(
        new_sms_url(tenant),
        {"name": "SMS", "config-account_sid": ACCOUNT_SID, "config-api_base_url": "https://api.twilio.com"},
    )

    assert response.status_code == 422
    assert "Give the sender number or a Messaging Service SID" in response.content.decode()
    assert not Channel.objects.exists()


def test_a_malformed_account_sid_and_a_national_number_are_refused(as_admin, tenant):
    response = as_admin.post(
        new_sms_url(tenant),
        {
            "name": "SMS",
            "config-account_sid": "12345",
            "config-from_number": "601234567",
            "config-api_base_url": "https://api.twilio.com",
        },
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert "An account SID is AC followed by 32 hexadecimal characters" in page
    assert "Use the international format" in page
