"""Settings › Response times and Settings › Promise to customers: admins edit the shop's
response-time targets and the acknowledgement; new conversations are timed and acknowledged by
what was saved; bad input gets an error beside its field and changes nothing; agents look but
cannot touch; another shop's members get 404."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.desk.actions import promise, sla
from frontdesk.desk.models import Event, Membership, Message, Role, SlaPolicy, Tenant
from tests.desk.views.conftest import signed_in, text_of
from tests.factories import ChannelFactory, MembershipFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant) -> Membership:  # type: ignore[no-untyped-def]
    return MembershipFactory(tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example")


@pytest.fixture
def as_admin(admin: Membership) -> Client:
    return signed_in(admin)


def url(tenant: Tenant, suffix: str = "") -> str:
    return f"/t/{tenant.slug}/settings/response-times/{suffix}"


def promise_url(tenant: Tenant) -> str:
    return f"/t/{tenant.slug}/settings/promise/"


def create(client: Client, tenant: Tenant, name: str, **fields: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "name": name,
        "enabled": "on",
        "business_hours": "on",
        "warn_percent": "80",
        "first_response_minutes": "1h 30m",
        **fields,
    }
    return client.post(url(tenant, "new/"), data)


SERVICE = {
    "acknowledge": "on",
    "ack_period_hours": "24",
    "promise_minutes": "2h",
    "handling_minutes": "10",
    "margin_percent": "20",
    "round_minutes": "30",
    "template_pl": "",
    "template_en": "",
}


def test_a_policy_with_conditions_is_created_and_times_the_conversations_it_matches(
    as_admin, tenant, api_channel
):
    email = ChannelFactory(tenant=tenant, kind="email", name="Mailbox")

    response = create(
        as_admin,
        tenant,
        "API customers",
        channels=[str(api_channel.pk)],
        priorities=["normal", "high"],
        languages="pl, EN",
        resolution_minutes="2d",
        legal_days="14",
    )

    assert response.status_code == 302
    policy = SlaPolicy.objects.get(tenant=tenant)
    assert policy.first_response_minutes == 90
    assert policy.resolution_minutes == 2 * 1440
    assert policy.legal_days == 14
    assert policy.conditions == {
        "channels": [api_channel.pk],
        "priorities": ["normal", "high"],
        "languages": ["pl", "en"],
    }
    matched = receive(api_channel, "Gdzie jest moje zamówienie?", external_id="c-1", language="pl")
    assert sla.matching_policy(matched) == policy
    assert matched.sla_policy_id == policy.pk
    assert matched.first_response_due is not None
    assert sla.matching_policy(receive(email, "Hello", email="ola@example.org")) is None
    listing = text_of(as_admin.get(url(tenant)))
    assert "API customers" in listing
    assert "first response 1h 30m; resolved 2d; legal deadline 14 days (business hours)" in listing
    assert "Channel: Shop backend" in listing
    assert "Priority: Normal, High" in listing
    assert Event.objects.filter(kind="sla_policy.created").count() == 1


def test_customer_attribute_conditions_are_read_from_key_value_lines(as_admin, tenant, api_channel):
    create(as_admin, tenant, "VIP", customer_attributes="segment = vip\ncountry=PL")

    policy = SlaPolicy.objects.get()
    assert policy.conditions == {"customer_attributes": {"segment": "vip", "country": "PL"}}
    conversation = receive(api_channel, "Hi", external_id="c-2")
    assert sla.matching_policy(conversation) is None
    conversation.customer.attributes = {"segment": "vip", "country": "PL"}
    conversation.customer.save(update_fields=["attributes"])
    assert sla.matching_policy(conversation) == policy


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "first_response_minutes",
            "-30",
            "“-30” is not a duration; write minutes (90) or hours and minutes (1h 30m).",
        ),
        ("first_response_minutes", "0", "Give a time longer than zero."),
        ("warn_percent", "100", "Give a percentage from 1 to 99."),
        (
            "languages",
            "polish",
            "“polish” is not a language code; use two or three letters such as pl or en.",
        ),
        ("customer_attributes", "vip", "“vip” is not an attribute; write one per line as key = value."),
        ("channel_kinds", ["pigeon"], "Choose among the kinds of channel Frontdesk has."),
        ("priorities", ["asap"], "Choose among the priorities low, normal, high and urgent."),
    ],
)
def test_bad_input_gets_a_clear_error_beside_its_field_and_creates_nothing(
    as_admin, tenant, field, value, message
):
    response = create(as_admin, tenant, "Broken", **{field: value})

    assert response.status_code == 422
    assert message in text_of(response)
    assert not SlaPolicy.objects.exists()


def test_another_shops_channel_or_team_cannot_be_a_condition(as_admin, tenant, other_tenant):
    foreign_channel = ChannelFactory(tenant=other_tenant)
    foreign_team = TeamFactory(tenant=other_tenant)

    response = create(
        as_admin, tenant, "Sneaky", channels=[str(foreign_channel.pk)], teams=[str(foreign_team.pk)]
    )

    assert response.status_code == 422
    assert "Choose among this shop's channels." in text_of(response)
    assert "Choose among this shop's teams." in text_of(response)
    assert not SlaPolicy.objects.exists()


def test_a_bad_edit_changes_nothing_and_a_duplicate_name_is_refused(as_admin, tenant):
    create(as_admin, tenant, "Standard")
    create(as_admin, tenant, "Urgent", priorities=["urgent"])
    urgent = SlaPolicy.objects.get(name="Urgent")
    before = (urgent.name, urgent.first_response_minutes, urgent.updated_at)

    response = as_admin.post(
        url(tenant, f"{urgent.pk}/"),
        {"action": "save", "name": "Standard", "warn_percent": "80", "first_response_minutes": "-5"},
    )

    assert response.status_code == 422
    text = text_of(response)
    assert "Another response-time target of this shop has this name." in text
    assert "is not a duration" in text
    urgent.refresh_from_db()
    assert (urgent.name, urgent.first_response_minutes, urgent.updated_at) == before


def test_moving_a_policy_up_changes_which_one_a_conversation_gets(as_admin, tenant, api_channel):
    create(as_admin, tenant, "Everyone", first_response_minutes="8h")
    create(as_admin, tenant, "Polish speakers", languages="pl", first_response_minutes="1h")
    everyone, polish = SlaPolicy.objects.order_by("position")
    first = receive(api_channel, "Dzień dobry", external_id="c-3", language="pl")
    assert sla.matching_policy(first) == everyone

    response = as_admin.post(url(tenant, f"{polish.pk}/"), {"action": "up"})

    assert response.status_code == 302
    assert list(SlaPolicy.objects.order_by("position").values_list("name", flat=True)) == [
        "Polish speakers",
        "Everyone",
    ]
    assert sla.matching_policy(first) == polish
    listing = text_of(as_admin.get(url(tenant)))
    assert "1 ↓ Polish speakers first response 1h" in listing
    assert "2 ↑ Everyone first response 8h" in listing
    as_admin.post(url(tenant, f"{polish.pk}/"), {"action": "disable"})
    assert sla.matching_policy(first) == everyone
    as_admin.post(url(tenant, f"{everyone.pk}/"), {"action": "delete"})
    assert sla.matching_policy(first) is None
    assert not SlaPolicy.objects.filter(pk=everyone.pk).exists()


def test_the_promise_settings_are_saved_and_read_by_the_acknowledgement_and_the_promise(
    as_admin, tenant, api_channel
):
    tenant.service = {"acknowledge": False, "queue_weights": {"vip": 500}}
    tenant.save(update_fields=["service"])

    response = as_admin.post(
        promise_url(tenant),
        {
            **SERVICE,
            "template_en": "Got it, #{number}: {who} answers {when}. {status_url}",
            "offer_call": "on",
        },
    )

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.service["queue_weights"] == {"vip": 500}
    assert tenant.service["acknowledge"] is True
    assert tenant.service["offer_call"] is True
    assert promise.setting(tenant, "promise_minutes") == 120
    assert promise.setting(tenant, "round_minutes") == 30
    assert tenant.service["ack_templates"] == {"en": "Got it, #{number}: {who} answers {when}. {status_url}"}
    conversation = receive(api_channel, "Hello", external_id="c-4", language="en")
    ack = Message.objects.get(conversation=conversation, author_kind="system")
    assert ack.text.startswith(f"Got it, #{conversation.number}: Our team answers ")
    page = text_of(as_admin.get(promise_url(tenant)))
    assert "Got it, #1042: Our team answers today by 14:30. https://example.com/s/abc/" in page
    assert Event.objects.filter(kind="service.updated").count() == 1


def test_acknowledgements_turned_off_send_none(as_admin, tenant, api_channel):
    as_admin.post(promise_url(tenant), {**SERVICE})
    as_admin.post(promise_url(tenant), {**{k: v for k, v in SERVICE.items() if k != "acknowledge"}})

    conversation = receive(api_channel, "Hello", external_id="c-5")

    tenant.refresh_from_db()
    assert tenant.service["acknowledge"] is False
    assert not Message.objects.filter(conversation=conversation, author_kind="system").exists()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Thanks {name}!", "Unknown placeholder {name}: use {number}, {who}, {when} or {status_url}."),
        ("Thanks {0}!", "Unknown placeholder {0}: use {number}, {who}, {when} or {status_url}."),
        ("Thanks {number!", "A lone { or } in the text: write {{ or }} for a brace, or use a placeholder."),
    ],
)
def test_a_template_with_an_unknown_placeholder_gets_a_field_error_and_nothing_is_saved(
    as_admin, tenant, template, message
):
    before = dict(tenant.service)

    response = as_admin.post(promise_url(tenant), {**SERVICE, "template_pl": template})

    assert response.status_code == 422
    assert message in text_of(response)
    tenant.refresh_from_db()
    assert tenant.service == before


def test_the_promise_page_shows_each_languages_built_in_text_as_the_example(as_admin, tenant):
    page = as_admin.get(promise_url(tenant)).content.decode()

    assert 'placeholder="Dziękujemy, otrzymaliśmy Twoją wiadomość (numer sprawy #{number}).' in page
    assert 'placeholder="Thank you, we have your message (reference #{number}).' in page


def test_bad_numbers_in_the_promise_settings_get_field_errors(as_admin, tenant):
    response = as_admin.post(
        promise_url(tenant),
        {**SERVICE, "promise_minutes": "-1h", "round_minutes": "0", "margin_percent": "x"},
    )

    assert response.status_code == 422
    text = text_of(response)
    assert "is not a duration" in text
    assert "Give a number of minutes from 1 to 60." in text
    assert "Give a percentage from 0 to 500." in text


def test_an_agent_sees_the_settings_but_cannot_change_them(agent, tenant, admin):
    SlaPolicy.objects.create(tenant=tenant, name="Standard", first_response_minutes=60)
    policy = SlaPolicy.objects.get()
    client = signed_in(agent)

    assert "Standard" in text_of(client.get(url(tenant)))
    assert client.get(url(tenant, f"{policy.pk}/")).status_code == 200
    assert client.get(promise_url(tenant)).status_code == 200
    assert create(client, tenant, "Mine").status_code == 403
    assert client.post(url(tenant, f"{policy.pk}/"), {"action": "delete"}).status_code == 403
    assert client.post(url(tenant, f"{policy.pk}/"), {"action": "disable"}).status_code == 403
    assert client.post(promise_url(tenant), SERVICE).status_code == 403
    policy.refresh_from_db()
    tenant.refresh_from_db()
    assert policy.enabled
    assert SlaPolicy.objects.count() == 1
    assert tenant.service == {"acknowledge": False}


def test_another_shops_policy_is_not_found(outsider_client, tenant, other_tenant):
    policy = SlaPolicy.objects.create(tenant=tenant, name="Standard", first_response_minutes=60)

    assert (
        outsider_client.get(f"/t/{other_tenant.slug}/settings/response-times/{policy.pk}/").status_code == 404
    )
    response = outsider_client.post(
        f"/t/{other_tenant.slug}/settings/response-times/{policy.pk}/", {"action": "delete"}
    )
    assert response.status_code == 404
    assert outsider_client.get(url(tenant)).status_code == 404
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()


def test_the_settings_menu_links_both_pages(as_admin, tenant):
    text = as_admin.get(url(tenant)).content.decode()

    assert url(tenant) in text
    assert promise_url(tenant) in text
