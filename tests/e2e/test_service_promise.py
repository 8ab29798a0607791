"""The service promise end to end, in a real browser against a real server: a customer writes through
the contact form after hours, gets the acknowledgement by email with the next morning's promise,
opens the status page from it and asks for the answer by SMS instead."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from frontdesk.desk.actions.calendars import business_calendar
from frontdesk.desk.models import (
    AuthorKind,
    BusinessCalendar,
    CalendarDay,
    Conversation,
    CustomerIdentity,
    DeliveryState,
    Message,
)
from tests.channels.email.dovecot import wait_for
from tests.factories import ChannelFactory

from .conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The test's own words for the days, so the product's table of them is checked, not repeated.
POLISH_WEEKDAYS = ["poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"]
CLOSED_WEEK: list[list[list[int]]] = [[] for _day in range(7)]


def mails_to(server: ServerProcess, address: str) -> list[EmailMessage]:
    """Mail the server sent to `address` (its file backend writes one file per connection, messages
    separated by a line of 79 dashes)."""
    found = []
    folder = Path(server.var_dir) / "mail"
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                message = email.message_from_bytes(chunk.lstrip(b"\n"), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                if address in str(message["To"] or ""):
                    found.append(message)
    return found


def closed_today_open_tomorrow(tenant) -> dt.date:  # type: ignore[no-untyped-def]
    """Make it after hours whenever the test runs: the shop's calendar is closed today (on the shop's
    clock) and every day but tomorrow, open 09:00–17:00. Returns tomorrow's date."""
    today = timezone.now().astimezone(ZoneInfo(tenant.time_zone)).date()
    tomorrow = today + dt.timedelta(days=1)
    calendar = BusinessCalendar.objects.create(
        tenant=tenant, name="Godziny sklepu", week=CLOSED_WEEK, is_default=True
    )
    CalendarDay.objects.create(calendar=calendar, date=today, hours=[], note="Inwentaryzacja")
    CalendarDay.objects.create(calendar=calendar, date=tomorrow, hours=[[540, 1020]])
    return tomorrow


def test_after_hours_the_form_promises_tomorrow_morning_and_the_customer_switches_to_sms(
    new_page, server, watch, tenant, peer
):
    tenant.service = {}  # acknowledgements on, every promise setting at its default
    tenant.save(update_fields=["service"])
    tomorrow = closed_today_open_tomorrow(tenant)
    ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support mailbox",
        # No SMTP server of its own: the installation's, whose mail lands in server.var_dir/mail.
        config={"address": "support@rowery.example", "from_name": "Sklep Rowerowy"},
        inbound_address="support@rowery.example",
    )
    form = ChannelFactory(
        tenant=tenant, kind="form", name="Contact form", config={"title": "Napisz do nas", "min_seconds": 0}
    )
    sms = ChannelFactory(
        tenant=tenant,
        kind="sms",
        name="SMS",
        # Nothing is texted here; were anything sent, it would stay on 127.0.0.1.
        config={
            "account_sid": "AC" + "0123456789abcdef" * 2,
            "from_number": "+48221234567",
            "api_base_url": peer.url,
        },
        secrets={"auth_token": "f" * 32},
    )

    customer = new_page(width=390, height=844)
    trouble = watch(customer)
    customer.goto(f"/f/{form.public_id}/?lang=pl")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Napisz do nas")
    customer.get_by_label("Adres e-mail").fill("zofia@example.org")
    customer.get_by_label("Temat").fill("Rozmiar ramy")
    customer.get_by_label("Twoja wiadomość").fill("Dostałam ramę w rozmiarze M, a zamawiałam L.")
    customer.get_by_role("button", name="Wyślij wiadomość").click()

    expect(customer.get_by_role("heading", level=1)).to_have_text("Dziękujemy, otrzymaliśmy Twoją wiadomość.")
    shown = customer.locator(".reference .number").inner_text()
    assert re.fullmatch(r"#\d+", shown)
    number = int(shown.lstrip("#"))

    # The promise: three business hours (the shop's default) from tomorrow's opening, on the same
    # calendar the server uses.
    zone = ZoneInfo(tenant.time_zone)
    promised = business_calendar(tenant).add(timezone.now(), dt.timedelta(hours=3))
    assert promised.astimezone(zone) == dt.datetime.combine(tomorrow, dt.time(12), tzinfo=zone)
    when = f"jutro, {POLISH_WEEKDAYS[tomorrow.weekday()]}, do 12:00"

    conversation = Conversation.objects.get(tenant=tenant, number=number)
    wait_for(
        lambda: Message.objects.filter(
            conversation=conversation, author_kind=AuthorKind.SYSTEM, delivery_state=DeliveryState.SENT
        ).exists(),
        timeout=20,
        what="the acknowledgement to be sent",
        details=lambda: server.log_path.read_text()[-3000:],
    )
    [mail] = mails_to(server, "zofia@example.org")
    assert f"[#{number}]" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert (
        f"Dziękujemy, otrzymaliśmy Twoją wiadomość (numer sprawy #{number}). Nasz zespół odpowie {when}."
    ) in text, text
    link = re.search(rf"{re.escape(server.url)}/s/[A-Za-z0-9_:-]+/", text)
    assert link, text

    customer.goto(link.group(0))
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"Twoje zgłoszenie nr {number}")
    summary = customer.locator("dl.summary")
    expect(summary.locator("dt:text-is('Numer') + dd")).to_have_text(f"#{number}")
    expect(summary.locator("dt:text-is('Zajmuje się tym') + dd")).to_have_text("Nasz zespół")
    answer_by = summary.locator("dt:text-is('Odpowiedź do') + dd time")
    expect(answer_by).to_have_text(when)
    expect(answer_by).to_have_attribute("datetime", promised.astimezone(zone).isoformat())

    customer.get_by_label("Wiadomość tekstowa (SMS)").check()
    customer.get_by_label("Numer telefonu").fill("601 234 567")
    customer.get_by_role("button", name="Zapisz mój wybór").click()
    expect(customer.get_by_role("status")).to_have_text(
        "Dziękujemy, odpowiemy w wybrany przez Ciebie sposób."
    )
    expect(customer.get_by_label("Wiadomość tekstowa (SMS)")).to_be_checked()
    expect(customer.get_by_label("Numer telefonu")).to_have_value("+48601234567")

    conversation.refresh_from_db()
    assert conversation.promised_by == promised
    assert conversation.reply_channel_id == sms.pk
    conversation.customer.refresh_from_db()
    assert conversation.customer.preferred_reply_channel_id == sms.pk
    assert CustomerIdentity.objects.filter(
        tenant=tenant, customer=conversation.customer, kind="phone", address="+48601234567"
    ).exists()
    assert (trouble.dialogs, trouble.errors, trouble.console) == ([], [], [])
