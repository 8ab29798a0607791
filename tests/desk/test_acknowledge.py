"""The acknowledgement: reference, who handles it and by when, in the customer's language and time
zone, once per conversation and period, never to automatic replies or blocked customers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from frontdesk.desk.actions.acknowledge import do_acknowledge, when_words
from frontdesk.desk.actions.calendars import forget_calendars
from frontdesk.desk.actions.status import conversation_for_token
from frontdesk.desk.models import AuthorKind, Delivery, Event, Message, Tenant
from tests.factories import ChannelFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=WARSAW)


@pytest.fixture(autouse=True)
def _fresh_calendars():  # type: ignore[no-untyped-def]
    forget_calendars()
    yield
    forget_calendars()


@pytest.fixture
def channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="api")


def incoming(channel, text: str = "Gdzie jest paczka?", **extra):  # type: ignore[no-untyped-def]
    # The API channel answers to the shop's own customer id (its recipient kind is "external").
    extra.setdefault("external_id", "shop-customer-" + extra.get("email", "jan@example.org"))
    conversation = receive(channel, text, **extra)
    # Test shops receive without acknowledgements (tests/factories.py); here the acknowledgement is
    # asked for at a chosen moment instead, so the shop turns them on only now.
    # (A copy of the shop: the channel's own must keep receiving without them.)
    conversation.tenant = Tenant.objects.get(pk=conversation.tenant_id)
    conversation.tenant.service = {k: v for k, v in conversation.tenant.service.items() if k != "acknowledge"}
    return conversation, conversation.messages.filter(author_kind=AuthorKind.CUSTOMER).latest("id")


def test_a_customer_writing_is_acknowledged_once_in_the_same_transaction(channel, tenant):
    tenant.service = {}
    tenant.save(update_fields=["service"])
    conversation = receive(channel, "Gdzie jest paczka?", external_id="c-1")
    acks = Message.objects.filter(conversation=conversation, author_kind=AuthorKind.SYSTEM)
    assert acks.count() == 1
    assert Delivery.objects.filter(message=acks.get()).count() == 1
    conversation.refresh_from_db()
    assert conversation.promised_by is not None and conversation.promise_sent_at is not None
    receive(channel, "I jeszcze jedno", external_id="c-1")
    assert acks.count() == 1
    auto = receive(channel, "Nieobecność", email="ola@example.org", external_id="c-2", is_auto_reply=True)
    assert not Message.objects.filter(conversation=auto, author_kind=AuthorKind.SYSTEM).exists()


def test_the_customer_is_told_the_reference_who_and_when_in_polish(channel, tenant):
    conversation, message = incoming(channel, language="pl")
    conversation.team = TeamFactory(tenant=tenant, name="Reklamacje")
    conversation.save()
    ack = do_acknowledge(conversation, message, now=MONDAY_10)
    assert ack is not None
    text, link = ack.text.rsplit(" ", 1)
    assert text == (
        f"Dziękujemy, otrzymaliśmy Twoją wiadomość (numer sprawy #{conversation.number}). "
        "Zespół Reklamacje odpowie dziś do 13:00. Jeśli coś się zmieni, damy znać. "
        "Szczegóły i wybór sposobu odpowiedzi:"
    )
    # The link to the status page: signed and timestamped, so compared by what it opens.
    assert link.startswith(f"{settings.FRONTDESK_BASE_URL}/s/")
    assert conversation_for_token(link.removesuffix("/").rsplit("/", 1)[1]) == conversation
    assert ack.author_kind == AuthorKind.SYSTEM
    assert Delivery.objects.get(message=ack).recipient == "shop-customer-jan@example.org"
    conversation.refresh_from_db()
    assert conversation.promised_by == dt.datetime(2026, 11, 23, 13, 0, tzinfo=WARSAW)
    made = Event.objects.get(kind="promise.made", conversation=conversation)
    assert made.data["why"]["by"] == "target"


def test_an_english_customer_writing_on_friday_night_hears_of_monday(channel):
    conversation, message = incoming(channel, "Where is my parcel?", language="en")
    friday_night = dt.datetime(2026, 11, 20, 22, 0, tzinfo=WARSAW)
    ack = do_acknowledge(conversation, message, now=friday_night)
    assert ack is not None
    assert "Our team will answer on Monday, 23 November, by 12:00." in ack.text


def test_the_words_follow_the_customers_clock_and_language():
    now = dt.datetime(2026, 11, 23, 20, 0, tzinfo=WARSAW)
    tomorrow = dt.datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)
    assert when_words(tomorrow, now, WARSAW, "pl") == "jutro, wtorek, do 10:00"
    assert when_words(tomorrow, now, WARSAW, "ru") == "завтра (вторник) до 10:00"
    # 14:00 on Monday in New York; the answer comes at 04:00 on Tuesday there.
    assert when_words(tomorrow, now, ZoneInfo("America/New_York"), "en") == "tomorrow, Tuesday, by 04:00"
    assert when_words(now + dt.timedelta(hours=1), now, WARSAW, "en") == "today by 21:00"


def test_one_acknowledgement_per_period_however_many_messages(channel):
    conversation, message = incoming(channel)
    assert do_acknowledge(conversation, message, now=MONDAY_10) is not None
    conversation, again = incoming(channel, "Jeszcze jedno")
    assert do_acknowledge(conversation, again, now=MONDAY_10 + dt.timedelta(hours=1)) is None
    assert do_acknowledge(conversation, again, now=MONDAY_10 + dt.timedelta(hours=25)) is not None


def test_automatic_replies_and_blocked_customers_get_none(channel):
    conversation, message = incoming(channel, "Out of office", is_auto_reply=True)
    assert do_acknowledge(conversation, message, now=MONDAY_10) is None
    conversation, message = incoming(channel, "Spam", email="spam@example.org")
    conversation.customer.blocked = True
    conversation.customer.save()
    assert do_acknowledge(conversation, message, now=MONDAY_10) is None
    assert not Message.objects.filter(author_kind=AuthorKind.SYSTEM).exists()


def test_a_shop_can_word_it_its_own_way_and_a_broken_template_falls_back(channel, tenant):
    tenant.service = {"acknowledge": False, "ack_templates": {"pl": "Sprawa #{number}: odpowiemy {when}."}}
    tenant.save(update_fields=["service"])
    conversation, message = incoming(channel, language="pl")
    ack = do_acknowledge(conversation, message, now=MONDAY_10)
    assert ack is not None and ack.text == f"Sprawa #{conversation.number}: odpowiemy dziś do 13:00."
    tenant.service = {"acknowledge": False, "ack_templates": {"pl": "Sprawa {numer}"}}
    tenant.save(update_fields=["service"])
    conversation, message = incoming(channel, "Inna sprawa", language="pl", email="ola@example.org")
    ack = do_acknowledge(conversation, message, now=MONDAY_10)
    assert ack is not None and ack.text.startswith("Dziękujemy")


def test_a_shop_can_turn_acknowledgements_off(channel, tenant):
    conversation, message = incoming(channel)
    conversation.tenant.service = {"acknowledge": False}
    assert do_acknowledge(conversation, message, now=MONDAY_10) is None
