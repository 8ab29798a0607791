"""`frontdesk demo`: the demo shop that `make run` loads."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.desk.demo import DEMO_PASSWORD
from frontdesk.desk.models import (
    Channel,
    Conversation,
    CustomerIdentity,
    Delivery,
    DeliveryStatus,
    Direction,
    Message,
    Role,
    Team,
    Tenant,
)
from frontdesk.desk.search import search_conversations

pytestmark = pytest.mark.django_db

SMALL = 60


def demo(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def shop(db) -> Tenant:  # type: ignore[no-untyped-def]
    demo(conversations=SMALL, seed=7)
    return Tenant.objects.get(slug="rowerownia")


def test_the_demo_shop_is_a_polish_bike_shop_with_its_team(shop):
    assert (shop.name, shop.languages, shop.time_zone, shop.country) == (
        "Rowerownia",
        ["pl", "en"],
        "Europe/Warsaw",
        "PL",
    )
    roles = sorted(shop.memberships.values_list("role", flat=True))
    assert roles.count(Role.AGENT) == 5
    assert {Role.OWNER, Role.ADMIN, Role.SUPERVISOR} <= set(roles)
    assert sorted(Team.objects.filter(tenant=shop).values_list("name", flat=True)) == [
        "Obsługa klienta",
        "Zwroty i reklamacje",
    ]
    assert all(team.members.exists() for team in Team.objects.filter(tenant=shop))
    assert sorted(Channel.objects.filter(tenant=shop).values_list("kind", flat=True)) == [
        "api",
        "chat",
        "email",
        "form",
    ]
    assert {"dostawa", "zwrot", "reklamacja", "faktura", "kod rabatowy", "vip"} <= set(
        shop.tags.values_list("name", flat=True)
    )


def test_the_conversations_are_varied_and_in_both_languages(shop):
    conversations = Conversation.objects.filter(tenant=shop)

    assert SMALL <= conversations.count() <= SMALL + 6  # a few duplicates merged into the first
    assert set(conversations.values_list("language", flat=True)) == {"pl", "en"}
    assert conversations.values("status").distinct().count() >= 4
    assert conversations.exclude(assignee=None).exists()
    assert conversations.filter(assignee=None).exists()
    assert conversations.filter(tags__isnull=False).exists()
    directions = dict(
        Message.objects.filter(tenant=shop).values_list("direction").annotate(n=Count("id")).order_by()
    )
    assert directions[Direction.IN] > SMALL
    assert directions[Direction.OUT] > SMALL // 2
    assert directions[Direction.NOTE] > 0
    assert Message.objects.filter(tenant=shop, direction=Direction.NOTE, mentions__isnull=False).exists()
    assert CustomerIdentity.objects.filter(tenant=shop, kind="phone", address__startswith="+48").exists()
    assert CustomerIdentity.objects.filter(tenant=shop, kind="external").exists()


def test_the_history_spreads_over_the_last_weeks_and_nothing_waits_to_be_sent(shop):
    now = timezone.now()
    times = Message.objects.filter(tenant=shop).values_list("created_at", flat=True)

    assert max(times) <= now
    assert min(times) < now - dt.timedelta(days=20)
    assert not Conversation.objects.filter(tenant=shop, last_message_at__gt=now).exists()
    assert set(Delivery.objects.filter(tenant=shop).values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert not DBTaskResult.objects.filter(status="READY", task_path__endswith=".send_delivery").exists()


def test_the_logins_are_printed_and_work(db, client):
    out = demo(conversations=5, seed=1)

    assert "Demo logins" in out
    assert DEMO_PASSWORD in out
    assert "katarzyna@rowerownia.example" in out
    assert client.login(username="anna@rowerownia.example", password=DEMO_PASSWORD)


def test_if_empty_does_nothing_the_second_time(db):
    demo("--if-empty", conversations=10, seed=3)
    counts = (Tenant.objects.count(), Conversation.objects.count(), Message.objects.count())

    out = demo("--if-empty", conversations=10, seed=3)

    assert "not loaded" in out
    assert (Tenant.objects.count(), Conversation.objects.count(), Message.objects.count()) == counts


def test_loading_twice_needs_reset_and_the_same_seed_gives_the_same_shop(db):
    demo(conversations=15, seed=11)
    first = list(Conversation.objects.order_by("number").values_list("number", "subject", "status"))

    with pytest.raises(CommandError):
        demo(conversations=15, seed=11)
    demo("--reset", conversations=15, seed=11)

    assert list(Conversation.objects.order_by("number").values_list("number", "subject", "status")) == first
    assert Tenant.objects.filter(slug="rowerownia").count() == 1


def test_the_demo_can_be_searched(shop):
    identity = CustomerIdentity.objects.filter(tenant=shop, kind="email").first()
    by_email = search_conversations(shop.pk, identity.address)
    by_number = search_conversations(shop.pk, "#1")
    by_words = search_conversations(shop.pk, "zamówienie")

    assert by_email.hits
    assert all(hit.conversation.customer_id == identity.customer_id for hit in by_email.hits)
    assert [hit.number for hit in by_number.hits] == [1]
    assert by_words.hits
    assert all("<mark>" in hit.snippet_html for hit in by_words.hits if hit.matched == "message")
