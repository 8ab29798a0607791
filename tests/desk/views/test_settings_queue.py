"""Settings › Queue and assignment: admins change the points that order the queue and turn on
automatic assignment; the queue and the assignment sweep follow what was saved; bad input gets an
error beside its field and changes nothing; the shop's other service settings survive; agents look
but cannot touch; another shop's members get 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from frontdesk.desk.actions import assignment, queue
from frontdesk.desk.models import BusinessCalendar, Conversation, Event, Membership, Role, Tenant
from tests.desk.views.conftest import signed_in, text_of
from tests.factories import ChannelFactory, MembershipFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def open_all_day(tenant: Tenant) -> None:
    """The shop is always open: the queue is in its ordinary order whenever the test runs."""
    BusinessCalendar.objects.create(
        tenant=tenant, name="Always", week=[[[0, 1440]]] * 7, public_holidays=False, is_default=True
    )


@pytest.fixture
def admin(tenant: Tenant) -> Membership:
    # Away: an online admin would be given conversations by the assignment sweep.
    return MembershipFactory(
        tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example", availability="away"
    )


@pytest.fixture
def as_admin(admin: Membership) -> Client:
    return signed_in(admin)


def url(tenant: Tenant) -> str:
    return f"/t/{tenant.slug}/settings/queue/"


# What the page posts when nothing is typed in: every weight empty (the defaults), auto-assign off.
EMPTY = {"auto_mode": "balanced", "auto_max_open": "0", "auto_reassign_minutes": "0"}


def order(tenant: Tenant) -> list[int]:
    tenant.refresh_from_db()
    return [r.conversation.pk for r in queue.ranked_queue(tenant)]


def test_raising_a_channels_points_puts_its_conversations_ahead(as_admin, tenant, api_channel):
    email = ChannelFactory(tenant=tenant, kind="email", name="Mailbox")
    by_email = receive(email, "Where is my parcel?", email="ola@example.org")
    by_api = receive(api_channel, "Where is my parcel?", external_id="c-1")
    assert order(tenant) == [by_api.pk, by_email.pk]

    response = as_admin.post(url(tenant), {**EMPTY, "channel_email": "300"})

    assert response.status_code == 302
    assert order(tenant) == [by_email.pk, by_api.pk]
    assert tenant.service["queue_weights"] == {"channels": {"email": 300}}
    assert queue.weights(tenant)["channels"]["api"] == queue.DEFAULT_WEIGHTS["channels"]["api"]
    assert Event.objects.get(kind="service.updated").data["changed"] == [
        "auto_assign.enabled",
        "auto_assign.max_open",
        "auto_assign.mode",
        "auto_assign.reassign_minutes",
        "queue_weights.channels.email",
    ]


def test_the_customer_value_and_vip_tag_settings_are_read_by_the_queue(as_admin, tenant, api_channel):
    plain = receive(api_channel, "Hi", external_id="c-1", email="a@example.org")
    valued = receive(api_channel, "Hi", external_id="c-2", email="b@example.org")
    valued.customer.attributes = {"lifetime-spend": 5000}
    valued.customer.save(update_fields=["attributes"])

    as_admin.post(
        url(tenant),
        {
            **EMPTY,
            "value_attribute": "lifetime-spend",
            "value_full_at": "1000",
            "value_points": "900",
            "vip_tag": "Gold",
        },
    )

    tenant.refresh_from_db()
    assert queue.weights(tenant)["value_attribute"] == "lifetime-spend"
    assert queue.weights(tenant)["vip_tag"] == "Gold"
    assert order(tenant) == [valued.pk, plain.pk]
    assert ("Customer value (lifetime-spend: 5000)", 900) in queue.explain(valued)


def test_the_page_shows_each_default_and_what_the_shop_set(as_admin, tenant):
    as_admin.post(url(tenant), {**EMPTY, "overdue": "2000"})

    page = as_admin.get(url(tenant)).content.decode()

    assert 'name="overdue" value="2000" placeholder="1000"' in page
    assert 'name="channel_email" placeholder="0"' in page
    text = text_of(as_admin.get(url(tenant)))
    assert "Queue and assignment" in text
    assert "Default: 1000." in text  # overdue
    assert "Default: 120." in text  # live chat
    assert "Default: vip." in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("overdue", "-5", "Give a whole number from 0 to 100000."),
        ("priority_step", "lots", "Give a whole number from 0 to 100000."),
        ("due_horizon_hours", "1000", "Give a whole number from 0 to 720."),
        ("channel_chat", "1e9", "Give a whole number from 0 to 100000."),
        (
            "value_attribute",
            "life time spend",
            "Give the name of a customer attribute: up to 50 letters, digits, _ and -.",
        ),
        (
            "value_attribute",
            "a" * 51,
            "Give the name of a customer attribute: up to 50 letters, digits, _ and -.",
        ),
        ("vip_tag", "v" * 51, "A tag has at most 50 characters."),
        ("auto_max_open", "501", "Give a whole number from 0 to 500."),
        ("auto_reassign_minutes", "10081", "Give a whole number from 0 to 10080."),
        ("auto_mode", "random", "Select a valid choice. random is not one of the available choices."),
    ],
)
def test_a_bad_value_gets_an_error_beside_its_field_and_nothing_is_saved(
    as_admin, tenant, field, value, message
):
    tenant.service = {"queue_weights": {"overdue": 1500}}
    tenant.save(update_fields=["service"])

    response = as_admin.post(
        url(tenant), {**EMPTY, "auto_enabled": "on", "channel_email": "300", field: value}
    )

    assert response.status_code == 422
    assert message in text_of(response)
    tenant.refresh_from_db()
    assert tenant.service == {"queue_weights": {"overdue": 1500}}
    assert not Event.objects.filter(kind="service.updated").exists()


def test_turning_auto_assign_on_makes_the_sweep_assign(as_admin, tenant, api_channel):
    online = MembershipFactory(tenant=tenant, availability="online")
    conversation = receive(api_channel, "Where is my parcel?", external_id="c-1")
    assert assignment.auto_assign_sweep() == 0

    response = as_admin.post(
        url(tenant),
        {
            **EMPTY,
            "auto_enabled": "on",
            "auto_mode": "round_robin",
            "auto_max_open": "5",
            "auto_reassign_minutes": "30",
        },
    )

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert assignment.settings_of(tenant) == assignment.Settings(
        enabled=True, mode="round_robin", max_open=5, reassign_minutes=30
    )
    assert assignment.auto_assign_sweep() == 1
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == online.pk
    page = as_admin.get(url(tenant)).content.decode()
    assert 'id="id_auto_enabled" checked' in page
    assert 'value="round_robin" required id="id_auto_mode_1" checked' in page

    as_admin.post(url(tenant), EMPTY)

    tenant.refresh_from_db()
    assert assignment.settings_of(tenant).enabled is False
    receive(api_channel, "Another one", external_id="c-2", email="b@example.org")
    assert assignment.auto_assign_sweep() == 0


def test_the_shops_other_service_settings_survive_a_save(as_admin, tenant):
    tenant.service = {
        "acknowledge": False,
        "ack_templates": {"en": "Got it, #{number}."},
        "auto_assign": {"enabled": False, "note": "kept"},
        "queue_weights": {"channels": {"whatsapp": 500}},
    }
    tenant.save(update_fields=["service"])

    as_admin.post(url(tenant), {**EMPTY, "channel_chat": "50", "waiting_max": "300"})

    tenant.refresh_from_db()
    assert tenant.service["acknowledge"] is False
    assert tenant.service["ack_templates"] == {"en": "Got it, #{number}."}
    assert tenant.service["auto_assign"]["note"] == "kept"
    assert tenant.service["queue_weights"] == {"waiting_max": 300, "channels": {"whatsapp": 500, "chat": 50}}


def test_emptying_a_field_brings_back_the_default(as_admin, tenant):
    as_admin.post(url(tenant), {**EMPTY, "overdue": "2000", "channel_sms": "5"})
    as_admin.post(url(tenant), {**EMPTY, "channel_sms": "5"})

    tenant.refresh_from_db()
    assert queue.weights(tenant)["overdue"] == queue.DEFAULT_WEIGHTS["overdue"]
    assert queue.weights(tenant)["channels"]["sms"] == 5


def test_an_agent_sees_the_settings_but_cannot_change_them(agent, tenant):
    client = signed_in(agent)

    page = client.get(url(tenant))
    response = client.post(url(tenant), {**EMPTY, "auto_enabled": "on"})

    assert page.status_code == 200
    assert "<fieldset disabled>" in page.content.decode()
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert "auto_assign" not in (tenant.service or {})


def test_another_shops_member_gets_not_found(outsider_client, tenant):
    assert outsider_client.get(url(tenant)).status_code == 404
    assert outsider_client.post(url(tenant), {**EMPTY, "auto_enabled": "on"}).status_code == 404
    tenant.refresh_from_db()
    assert "auto_assign" not in (tenant.service or {})


def test_the_settings_menu_links_the_page(agent, tenant):
    assert url(tenant) in signed_in(agent).get(f"/t/{tenant.slug}/settings/promise/").content.decode()
