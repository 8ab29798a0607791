"""An email channel's ingestion log: how each mailbox folder is fetched, what arrived, and the
quarantine (rejected and failed mail) an admin can download and process again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.models import Channel, Conversation, Event, MailboxState, RawInbound, RawState
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def channel_url(channel: Channel) -> str:
    return f"/t/{channel.tenant.slug}/settings/channels/{channel.pk}/"


def raw_url(raw: RawInbound, slug: str | None = None) -> str:
    return f"/t/{slug or raw.channel.tenant.slug}/settings/channels/{raw.channel_id}/raw/{raw.pk}/"


def email_channel(tenant) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )


def mail(sender: str = "jan@example.org", message_id: str = "<q1@example.org>") -> bytes:
    return (
        f"From: Jan Kowalski <{sender}>\r\n"
        "To: support@rowery.example\r\n"
        "Subject: Rower nie dotarł\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Zamówiłem rower tydzień temu i nadal go nie ma.\r\n"
    ).encode()


def stored(channel: Channel, body: bytes, state: str, error: str = "", key: str = "") -> RawInbound:
    return RawInbound.objects.create(
        tenant=channel.tenant,
        channel=channel,
        body=body,
        content_type="message/rfc822",
        state=state,
        error=error,
        dedupe_key=key,
        attempts=1,
    )


def test_each_mailbox_folder_shows_its_last_sync_counts_and_error(as_admin, tenant):
    channel = email_channel(tenant)
    now = timezone.now()
    MailboxState.objects.create(
        channel=channel,
        folder="INBOX",
        last_sync_at=now,
        last_success_at=now,
        backfill_done=True,
        counts={"fetched": 12, "imported": 10, "duplicates": 2, "failed": 0},
    )
    MailboxState.objects.create(
        channel=channel,
        folder="Reklamacje",
        last_sync_at=now,
        last_success_at=now - dt.timedelta(hours=2),
        last_error="[AUTHENTICATIONFAILED] Invalid credentials (Failure)",
        last_error_at=now,
    )

    page = as_admin.get(channel_url(channel)).content.decode()

    assert page.count('data-testid="mailbox-row"') == 2
    assert "Fetched: 12 · Imported: 10 · Duplicates: 2 · Failed: 0" in page
    assert "[AUTHENTICATIONFAILED] Invalid credentials (Failure)" in page
    assert 'class="mailbox-error"' in page and 'class="mailbox-ok"' in page
    assert "importing older mail" in page  # Reklamacje is still backfilling


def test_the_log_shows_each_mails_message_id_and_the_quarantine(as_admin, tenant):
    channel = email_channel(tenant)
    stored(channel, mail(), RawState.PROCESSED, key="<ok-1@example.org>")
    stored(channel, b"garbage", RawState.FAILED, error="ValueError: boom", key="<bad-1@example.org>")
    stored(channel, mail("support@rowery.example"), RawState.REJECTED, error="own address")

    everything = as_admin.get(channel_url(channel)).content.decode()
    quarantine = as_admin.get(channel_url(channel) + "?state=quarantine").content.decode()

    assert "&lt;ok-1@example.org&gt;" in everything and "Message-ID" in everything
    assert "2 payloads are in quarantine" in everything
    assert quarantine.count('data-testid="raw-row"') == 2
    assert "&lt;ok-1@example.org&gt;" not in quarantine
    # Processing again is offered for quarantined mail only; every mail can be downloaded.
    assert quarantine.count('data-testid="raw-process"') == 2
    assert everything.count('data-testid="raw-download"') == 3
    assert everything.count('data-testid="raw-process"') == 2


def test_a_mail_that_failed_is_processed_again_into_a_conversation(as_admin, tenant, admin):
    channel = email_channel(tenant)
    raw = stored(channel, mail(), RawState.FAILED, error="OperationalError: database is locked")

    response = as_admin.post(raw_url(raw) + "process/", follow=True)

    raw.refresh_from_db()
    assert raw.state == RawState.PROCESSED and raw.error == "" and raw.attempts == 2
    conversation = Conversation.objects.get(tenant=tenant)
    assert conversation.customer.name == "Jan Kowalski"
    assert f"Processed again: it is in conversation #{conversation.number}." in response.content.decode()
    event = Event.objects.get(kind="channel.raw_reprocessed")
    assert event.actor == admin
    assert event.data == {
        "channel": channel.pk,
        "raw": raw.pk,
        "state": "processed",
        "conversations": [conversation.number],
    }


def test_a_mail_rejected_again_keeps_its_reason(as_admin, tenant):
    channel = email_channel(tenant)
    raw = stored(channel, mail("support@rowery.example"), RawState.REJECTED, error="old reason")

    response = as_admin.post(raw_url(raw) + "process/", follow=True)

    raw.refresh_from_db()
    assert raw.state == RawState.REJECTED
    assert "one of the shop&#x27;s own addresses" in response.content.decode()
    assert "Processed again, still rejected" in response.content.decode()
    assert not Conversation.objects.exists()


def test_processing_again_twice_creates_one_message(as_admin, tenant):
    channel = email_channel(tenant)
    first = stored(channel, mail(), RawState.FAILED, error="crash")
    second = stored(channel, mail(), RawState.FAILED, error="crash")

    as_admin.post(raw_url(first) + "process/")
    as_admin.post(raw_url(second) + "process/")

    second.refresh_from_db()
    assert second.state == RawState.DUPLICATE
    assert Conversation.objects.get().messages.count() == 1


def test_mail_that_was_processed_is_not_processed_again(as_admin, tenant):
    channel = email_channel(tenant)
    raw = stored(channel, mail(), RawState.PROCESSED)

    response = as_admin.post(raw_url(raw) + "process/", follow=True)

    assert "Only rejected or failed payloads can be processed again." in response.content.decode()
    assert not Event.objects.filter(kind="channel.raw_reprocessed").exists()


def test_the_raw_mail_downloads_as_an_eml_attachment(as_admin, tenant):
    channel = email_channel(tenant)
    raw = stored(channel, mail(), RawState.FAILED)

    response = as_admin.get(raw_url(raw))

    assert response.status_code == 200
    assert response.content == mail()
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="email-{channel.pk}-raw-{raw.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_agent_may_neither_download_nor_process_raw_mail(as_agent, tenant):
    channel = email_channel(tenant)
    raw = stored(channel, mail(), RawState.FAILED)

    assert as_agent.get(raw_url(raw)).status_code == 403
    assert as_agent.post(raw_url(raw) + "process/").status_code == 403
    raw.refresh_from_db()
    assert raw.state == RawState.FAILED


def test_another_shops_admin_gets_404_for_raw_mail(as_outsider, tenant, outsider):
    channel = email_channel(tenant)
    raw = stored(channel, mail(), RawState.FAILED)
    own = email_channel_of(outsider.tenant)

    for url in (raw_url(raw), raw_url(raw, outsider.tenant.slug)):
        assert as_outsider.get(url).status_code == 404
        assert as_outsider.post(url + "process/").status_code == 404
    # Their own channel's id with our payload's id: the payload must belong to the channel.
    mixed = f"/t/{outsider.tenant.slug}/settings/channels/{own.pk}/raw/{raw.pk}/"
    assert as_outsider.get(mixed).status_code == 404
    assert as_outsider.post(mixed + "process/").status_code == 404
    raw.refresh_from_db()
    assert raw.state == RawState.FAILED


def test_a_payload_of_another_channel_of_the_same_shop_is_404_under_this_one(as_admin, tenant):
    channel = email_channel(tenant)
    other = ChannelFactory(tenant=tenant, kind="form")
    raw = stored(other, b"{}", RawState.FAILED)

    assert as_admin.get(f"/t/{tenant.slug}/settings/channels/{channel.pk}/raw/{raw.pk}/").status_code == 404


def email_channel_of(tenant) -> Channel:  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "help@other.example"},
        inbound_address="help@other.example",
    )


def test_the_channel_list_shows_how_much_each_channel_has_in_quarantine(as_admin, tenant):
    channel = email_channel(tenant)
    quiet = ChannelFactory(tenant=tenant, kind="form", name="Form")
    stored(channel, b"x", RawState.FAILED)
    stored(channel, b"y", RawState.REJECTED)
    stored(channel, b"z", RawState.PROCESSED)
    stored(quiet, b"{}", RawState.PROCESSED)

    page = as_admin.get(f"/t/{tenant.slug}/settings/channels/").content.decode()

    assert page.count('data-testid="quarantine-count"') == 1
    assert "2 in quarantine" in page
    assert f"/settings/channels/{channel.pk}/?state=quarantine" in page
