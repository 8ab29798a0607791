"""The built-in SMTP/LMTP receiver, fed by smtplib as a shop's MX or forwarding rule would feed it.

The promise: 250 means the message is in the database. Anything else gets an answer the sending
server understands (550 not ours, 552 too big, 451 try again) and nothing half-stored.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from frontdesk.channels.email import smtpd
from frontdesk.channels.email.smtpd import SmtpReceiver
from frontdesk.desk.models import Conversation, RawInbound
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.email.dovecot import free_port, message
from tests.factories import ChannelFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def email_channel(tenant, address: str, **config):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": address, **config},
        inbound_address=address,
    )


@pytest.fixture
def support(tenant):  # type: ignore[no-untyped-def]
    return email_channel(tenant, "support@rowery.example")


@pytest.fixture
def receiver() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver("127.0.0.1", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def lmtp_receiver() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver("127.0.0.1", free_port(), lmtp=True).start()
    yield server
    server.stop()


def send(receiver: SmtpReceiver, raw: bytes, to: list[str], sender: str = "jan@example.org") -> dict:
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        return client.sendmail(sender, to, raw)


def test_accepted_mail_is_in_the_database_when_the_sender_hears_250(receiver, support):
    refused = send(receiver, message(1), ["support@rowery.example"])

    assert refused == {}
    raw = RawInbound.objects.get(channel=support)  # committed before the 250, not after
    assert bytes(raw.body) == message(1)
    assert raw.dedupe_key == "<msg-1@example.org>"
    assert raw.headers["x-frontdesk-rcpt"] == "support@rowery.example"
    assert raw.headers["x-frontdesk-mail-from"] == "jan@example.org"
    assert raw.remote_addr == "127.0.0.1"


def test_the_message_becomes_a_conversation_after_the_session(receiver, support):
    send(receiver, message(1, subject="Zwrot roweru"), ["support@rowery.example"])

    run_ready_tasks()  # the processing was queued in the same commit

    conversation = Conversation.objects.get(channel=support)
    assert conversation.subject == "Zwrot roweru"
    assert RawInbound.objects.get().state == "processed"


def test_mail_for_an_address_no_channel_receives_is_refused_with_550(receiver, support):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(receiver, message(1), ["sales@rowery.example"])

    code, answer = refused.value.recipients["sales@rowery.example"]
    assert code == 550 and b"no such mailbox" in answer
    assert RawInbound.objects.count() == 0


def test_a_plus_tag_routes_to_the_channel_of_the_address(receiver, support):
    send(receiver, message(1), ["Support+Orders-RW-1@rowery.example"])

    raw = RawInbound.objects.get(channel=support)
    assert raw.headers["x-frontdesk-rcpt"] == "Support+Orders-RW-1@rowery.example"


def test_a_channel_of_its_own_for_a_plus_address_wins(receiver, support, tenant):
    orders = email_channel(tenant, "support+orders@rowery.example")

    send(receiver, message(1), ["support+orders@rowery.example"])

    assert RawInbound.objects.get().channel_id == orders.pk


def test_the_size_limit_is_announced_and_enforced_with_552(settings, support):
    settings.FRONTDESK_EMAIL_MAX_BYTES = 10_000
    server = SmtpReceiver("127.0.0.1", free_port()).start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "10000"
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # the SIZE= of MAIL FROM
                client.sendmail(
                    "jan@example.org", ["support@rowery.example"], message(1, body=("x" * 70 + "\r\n") * 300)
                )
            assert refused.value.smtp_code == 552
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:  # a sender that does not say
            client.ehlo()
            client.mail("jan@example.org")
            client.rcpt("support@rowery.example")
            code, _answer = client.data(message(2, body=("x" * 70 + "\r\n") * 300))
            assert code == 552
    finally:
        server.stop()
    assert RawInbound.objects.count() == 0


def test_disabled_channels_and_channels_not_receiving_over_smtp_refuse_mail(receiver, tenant):
    disabled = email_channel(tenant, "old@rowery.example")
    disabled.disabled = True
    disabled.save()
    email_channel(tenant, "imap-only@rowery.example", smtp_receive=False)

    for address in ("old@rowery.example", "imap-only@rowery.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(receiver, message(1), [address])
    assert RawInbound.objects.count() == 0


def test_when_the_database_fails_the_sender_is_told_to_try_again_and_nothing_is_stored(
    receiver, support, tenant, monkeypatch
):
    other = email_channel(tenant, "shop@rowery.example")
    real = smtpd.store_message

    def failing_for_the_second(channel, raw, **kwargs):  # type: ignore[no-untyped-def]
        if channel.pk == other.pk:
            raise ConnectionError("database gone")
        return real(channel, raw, **kwargs)

    monkeypatch.setattr(smtpd, "store_message", failing_for_the_second)
    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(receiver, message(1), ["support@rowery.example", "shop@rowery.example"])

    assert failed.value.smtp_code == 451
    assert RawInbound.objects.count() == 0  # all recipients or none: the sender sends it again


def test_one_message_to_two_shops_is_stored_once_for_each_and_only_for_them(receiver, support):
    other_shop = TenantFactory(slug="other-shop")
    theirs = email_channel(other_shop, "help@other.example")
    email_channel(other_shop, "unrelated@other.example")

    send(receiver, message(1), ["support@rowery.example", "support+x@rowery.example", "help@other.example"])

    assert sorted(RawInbound.objects.values_list("channel_id", flat=True)) == sorted([support.pk, theirs.pk])
    ours = RawInbound.objects.get(channel=support)
    assert ours.headers["x-frontdesk-rcpt"] == "support@rowery.example, support+x@rowery.example"
    assert ours.tenant_id == support.tenant_id
    assert RawInbound.objects.get(channel=theirs).headers["x-frontdesk-rcpt"] == "help@other.example"


def test_a_bounce_with_the_null_sender_is_accepted(receiver, support):
    send(receiver, message(1), ["support@rowery.example"], sender="")

    assert RawInbound.objects.get().headers["x-frontdesk-mail-from"] == "<>"


def test_lmtp_answers_for_each_recipient(lmtp_receiver, support, tenant, monkeypatch):
    shop = email_channel(tenant, "shop@rowery.example")
    real = smtpd.store_message

    def failing_for_shop(channel, raw, **kwargs):  # type: ignore[no-untyped-def]
        if channel.pk == shop.pk:
            raise ConnectionError("database gone")
        return real(channel, raw, **kwargs)

    monkeypatch.setattr(smtpd, "store_message", failing_for_shop)
    with smtplib.LMTP("127.0.0.1", lmtp_receiver.port, timeout=10) as client:
        assert client.ehlo()[0] == 250  # smtplib's LMTP says LHLO
        assert client.mail("postfix@rowery.example")[0] == 250
        assert client.rcpt("support@rowery.example")[0] == 250
        assert client.rcpt("nobody@rowery.example")[0] == 550
        assert client.rcpt("shop@rowery.example")[0] == 250
        assert client.rcpt("support+x@rowery.example")[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(message(1).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b".\r\n")
        answers = [client.getreply() for _ in range(3)]  # one per accepted recipient, in order

    assert [code for code, _text in answers] == [250, 451, 250]
    assert b"support@rowery.example" in answers[0][1] and b"shop@rowery.example" in answers[1][1]
    assert list(RawInbound.objects.values_list("channel_id", flat=True)) == [support.pk]


def test_starttls_is_offered_with_a_certificate_and_used_by_senders(settings, support, tmp_path):
    import ssl

    from tests.channels.email.dovecot import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    settings.FRONTDESK_SMTPD_TLS_CERT_FILE, settings.FRONTDESK_SMTPD_TLS_KEY_FILE = str(cert), str(key)
    server = SmtpReceiver("127.0.0.1", free_port()).start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=ssl.create_default_context(cafile=str(cert)))
            client.sendmail("jan@example.org", ["support@rowery.example"], message(1))
    finally:
        server.stop()
    assert RawInbound.objects.filter(channel=support).count() == 1


def test_listen_addresses_are_read_as_host_and_port():
    assert smtpd.parse_listen("192.0.2.1:2525") == ("192.0.2.1", 2525)
    assert smtpd.parse_listen("[::]:25") == ("::", 25)
    assert smtpd.parse_listen("2424") == ("127.0.0.1", 2424)
    for wrong in ("host:", "host:smtp", "1.2.3.4:70000"):
        with pytest.raises(ValueError):
            smtpd.parse_listen(wrong)
