"""The SMS channel, inbound: texts Twilio forwards become customer messages, once, and only when
Twilio signed them."""

from __future__ import annotations

import pytest

from frontdesk.channels.sms.adapter import signature
from frontdesk.desk.models import Channel, Direction, Message, RawInbound, RawState
from tests.factories import ChannelFactory

from .conftest import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER_NUMBER, Phone, twilio_signature

pytestmark = pytest.mark.django_db


def test_the_signature_matches_the_example_in_twilios_documentation():
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]

    assert signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_a_signed_text_becomes_a_customer_message_answered_with_empty_twiml(phone: Phone):
    response = phone.text("Czy mój rower jest gotowy?")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response/>")
    message = Message.objects.get(channel=phone.channel, direction=Direction.IN)
    assert message.text == "Czy mój rower jest gotowy?"
    assert message.customer.identity("phone").address == CUSTOMER_NUMBER
    assert message.conversation.subject == "Czy mój rower jest gotowy?"


def test_the_same_text_posted_twice_is_stored_once(phone: Phone):
    params = phone.params("Halo?")

    first = phone.post(params)
    second = phone.post(params)

    assert (first.status_code, second.status_code) == (200, 200)
    assert Message.objects.filter(channel=phone.channel, direction=Direction.IN).count() == 1
    assert RawInbound.objects.filter(channel=phone.channel, state=RawState.DUPLICATE).count() == 1


def test_the_customers_next_text_continues_their_open_conversation(phone: Phone):
    phone.text("Halo?")
    phone.text("Jest tam ktoś?")

    [first, second] = Message.objects.filter(channel=phone.channel, direction=Direction.IN).order_by("id")
    assert first.conversation_id == second.conversation_id


def test_a_national_number_is_stored_in_international_format(phone: Phone):
    phone.post(phone.params(From="601 234 567"))

    assert Message.objects.get(direction=Direction.IN).customer.identity("phone").address == CUSTOMER_NUMBER


@pytest.mark.parametrize(
    "signature_header",
    ["", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not base64 at all"],
    ids=["missing", "wrong", "junk"],
)
def test_a_text_without_a_valid_signature_is_refused_with_401_and_stores_no_message(
    phone: Phone, signature_header: str
):
    response = phone.post(phone.params(), signature=signature_header)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not Message.objects.exists()
    assert RawInbound.objects.get().state == RawState.REJECTED


def test_a_text_signed_with_another_accounts_token_is_refused(phone: Phone):
    response = phone.post(phone.params(), token="0" * 32)

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_a_changed_parameter_breaks_the_signature(phone: Phone):
    params = phone.params("Pay to account 1")
    signed = twilio_signature(AUTH_TOKEN, phone.public_url, params)
    params["Body"] = "Pay to account 2"

    response = phone.post(params, signature=signed)

    assert response.status_code == 401
    assert not Message.objects.exists()


@pytest.mark.parametrize("missing", ["Body", "From"])
def test_a_text_without_body_or_sender_is_refused_with_400_naming_the_field(phone: Phone, missing: str):
    params = phone.params()
    del params[missing]

    response = phone.post(params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert missing in error["fields"]
    assert missing in error["message"]
    assert not Message.objects.exists()


def test_a_text_for_another_twilio_account_is_refused(phone: Phone):
    response = phone.post(phone.params(AccountSid="AC" + "f" * 32))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_account"


def test_a_picture_message_keeps_the_media_addresses_in_the_text(phone: Phone):
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"

    phone.post(phone.params("Zdjęcie usterki", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"))

    message = Message.objects.get(direction=Direction.IN)
    assert message.text == f"Zdjęcie usterki\n{url}"


def test_an_opt_out_keyword_is_recorded_as_the_customers_message(phone: Phone):
    response = phone.text("STOP")

    assert response.status_code == 200
    assert Message.objects.get(direction=Direction.IN).text == "STOP"


def test_a_channel_without_an_auth_token_says_so(phone: Phone):
    channel = phone.channel
    channel.secrets = {}
    channel.save()

    response = phone.text()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_secret"


def test_another_shops_channel_address_does_not_take_this_shops_texts(phone: Phone, other_tenant):
    theirs = ChannelFactory(
        tenant=other_tenant,
        kind="sms",
        config={"account_sid": "AC" + "1" * 32, "from_number": "+48221234568"},
        secrets={"auth_token": "other-token"},
    )
    params = phone.params()

    response = Phone(phone.client, theirs).post(params, signature=None)

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_an_sms_address_of_a_channel_of_another_kind_is_not_found(phone: Phone, api_channel: Channel):
    response = phone.client.post(
        f"/sms/{api_channel.public_id}/", "Body=Hi", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 404
