"""Customers: search, pages, the profile, identities, attributes and merging duplicates."""

from __future__ import annotations

import re

import pytest

from frontdesk.desk.models import Conversation, Customer, CustomerIdentity, Event
from tests.desk.views.conftest import HTMX, text_of
from tests.factories import ChannelFactory, CustomerFactory, receive

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'class="customer-row-name">([^<]*)<', response.content.decode())


@pytest.fixture
def people(tenant):  # type: ignore[no-untyped-def]
    ala = CustomerFactory(tenant=tenant, name="Ala Nowak", email="ala@example.org")
    bartek = CustomerFactory(tenant=tenant, name="Bartek Zieliński", email="bartek@shop.example")
    CustomerIdentity.objects.create(tenant=tenant, customer=bartek, kind="phone", address="+48601234567")
    celina = CustomerFactory(tenant=tenant, name="Celina Wiśniewska", email="celina@example.org")
    return ala, bartek, celina


def test_the_list_shows_customers_newest_first(agent_client, people):
    response = agent_client.get("/t/rowery/customers/")

    assert response.status_code == 200
    assert listed(response) == ["Celina Wiśniewska", "Bartek Zieliński", "Ala Nowak"]
    assert "celina@example.org" in text_of(response)


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("nowak", ["Ala Nowak"]),
        ("bartek zielińsk", ["Bartek Zieliński"]),
        ("shop.example", ["Bartek Zieliński"]),
        ("601 234 567", ["Bartek Zieliński"]),
        ("+48 601-234-567", ["Bartek Zieliński"]),
        ("example.org", ["Celina Wiśniewska", "Ala Nowak"]),
        ("nobody", []),
    ],
)
def test_search_by_name_email_or_phone(agent_client, people, q, found):
    response = agent_client.get("/t/rowery/customers/", {"q": q})

    assert listed(response) == found
    if not found:
        assert "No customer matches" in text_of(response)


def test_search_by_customer_number(agent_client, people):
    assert listed(agent_client.get("/t/rowery/customers/", {"q": f"#{people[0].pk}"})) == ["Ala Nowak"]


def test_live_search_answers_only_the_results(agent_client, people):
    response = agent_client.get("/t/rowery/customers/", {"q": "ala"}, **HTMX)

    assert "<html" not in response.content.decode()
    assert listed(response) == ["Ala Nowak"]


def test_customers_are_paged_by_keyset(agent_client, tenant, monkeypatch):
    monkeypatch.setattr("frontdesk.desk.views.customers.PAGE_SIZE", 2)
    for i in range(5):
        CustomerFactory(tenant=tenant, name=f"Person {i}")
    seen: list[str] = []
    url = "/t/rowery/customers/"
    while url:
        response = agent_client.get(url)
        seen += listed(response)
        match = re.search(r'href="([^"]+)" data-testid="customers-next"', response.content.decode())
        url = match.group(1).replace("&amp;", "&") if match else ""
    assert seen == [f"Person {i}" for i in reversed(range(5))]


def test_a_broken_page_link_is_a_400(agent_client):
    assert agent_client.get("/t/rowery/customers/", {"cursor": "???"}).status_code == 400


def test_merged_away_customers_are_not_listed(agent_client, people):
    Customer.objects.filter(pk=people[0].pk).update(merged_into=people[1])

    assert "Ala Nowak" not in listed(agent_client.get("/t/rowery/customers/"))


def test_the_profile_shows_identities_attributes_and_conversations(agent_client, api_channel):
    conversation = receive(api_channel, "Where is my bike?", external_id="cust-9", name="Jan Kowalski")
    customer = conversation.customer
    customer.attributes = {"segment": "vip", "orders": 12}
    customer.save()

    response = agent_client.get(f"/t/rowery/customers/{customer.pk}/")

    assert response.status_code == 200
    text = text_of(response)
    for expected in ["Jan Kowalski", "cust-9", "jan@example.org", "Where is my bike?"]:
        assert expected in text
    html = response.content.decode()
    assert 'name="attr_key" value="segment"' in html
    assert 'name="attr_value" value="12"' in html


def test_edit_the_profile(agent_client, tenant, people):
    form = ChannelFactory(tenant=tenant, kind="form")
    ala = people[0]

    response = agent_client.post(
        f"/t/rowery/customers/{ala.pk}/update/",
        {
            "name": "Alicja Nowak",
            "language": "pl",
            "preferred_reply_channel": form.pk,
            "preferred_contact_hours": "after 17",
        },
    )

    assert response.status_code == 302
    ala.refresh_from_db()
    assert (ala.name, ala.language, ala.preferred_reply_channel, ala.preferred_contact_hours) == (
        "Alicja Nowak",
        "pl",
        form,
        "after 17",
    )
    assert Event.objects.filter(kind="customer.updated").exists()


def test_an_unknown_language_is_a_422_at_the_form(agent_client, people):
    response = agent_client.post(
        f"/t/rowery/customers/{people[0].pk}/update/", {"language": "klingon", "form_id": "profile"}
    )

    assert response.status_code == 422
    assert 'data-testid="profile-error">Unknown language.</p>' in response.content.decode()


def test_edit_attributes_keeping_the_types_of_untouched_values(agent_client, people):
    ala = people[0]
    ala.attributes = {"orders": 12, "segment": "regular"}
    ala.save()

    agent_client.post(
        f"/t/rowery/customers/{ala.pk}/update/",
        {
            "form_id": "attributes",
            "attr_key": ["orders", "segment", "", "city"],
            "attr_value": ["12", "vip", "", "Kraków"],
        },
    )

    ala.refresh_from_db()
    assert ala.attributes == {"orders": 12, "segment": "vip", "city": "Kraków"}


def test_clearing_an_attribute_name_removes_it(agent_client, people):
    ala = people[0]
    ala.attributes = {"orders": 12}
    ala.save()

    agent_client.post(f"/t/rowery/customers/{ala.pk}/update/", {"attr_key": [""], "attr_value": ["12"]})

    ala.refresh_from_db()
    assert ala.attributes == {}


def test_add_and_remove_identities(agent_client, people):
    ala = people[0]

    response = agent_client.post(
        f"/t/rowery/customers/{ala.pk}/identities/", {"kind": "phone", "address": "601 100 200"}
    )

    assert response.status_code == 302
    phone = ala.identities.get(kind="phone")
    assert phone.address == "+48601100200"
    agent_client.post(f"/t/rowery/customers/{ala.pk}/identities/{phone.pk}/remove/")
    assert not ala.identities.filter(kind="phone").exists()


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"kind": "email", "address": "not an email"}, 422, "is not a valid email address"),
        ({"kind": "phone", "address": "12"}, 422, "is not a valid phone number"),
        ({"kind": "email", "address": "bartek@shop.example"}, 409, "already belongs to another customer"),
        ({"kind": "fax", "address": "1"}, 422, "Unknown identity kind."),
    ],
)
def test_bad_identities_are_refused_with_the_reason(agent_client, people, data, status, message):
    response = agent_client.post(f"/t/rowery/customers/{people[0].pk}/identities/", data)

    assert response.status_code == status
    assert message in text_of(response)


def test_removing_an_identity_of_another_customer_is_404(agent_client, people):
    other_identity = people[1].identities.first()

    response = agent_client.post(f"/t/rowery/customers/{people[0].pk}/identities/{other_identity.pk}/remove/")

    assert response.status_code == 404


def test_merge_a_duplicate_by_email(agent_client, tenant, people, api_channel):
    ala, bartek, _ = people
    conversation = receive(api_channel, "Hi", email="bartek@shop.example", external_id="b")

    response = agent_client.post(f"/t/rowery/customers/{ala.pk}/merge/", {"other": "bartek@shop.example"})

    assert response.status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).customer == ala
    assert set(ala.identities.values_list("address", flat=True)) >= {"ala@example.org", "bartek@shop.example"}
    assert (
        agent_client.get(f"/t/rowery/customers/{bartek.pk}/")["Location"] == f"/t/rowery/customers/{ala.pk}/"
    )


def test_merge_by_number_and_unknown_duplicates(agent_client, people):
    ala, bartek, _ = people

    assert (
        agent_client.post(f"/t/rowery/customers/{ala.pk}/merge/", {"other": f"#{bartek.pk}"}).status_code
        == 302
    )
    missing = agent_client.post(f"/t/rowery/customers/{ala.pk}/merge/", {"other": "ghost@example.org"})
    assert missing.status_code == 422
    assert "No customer matches ghost@example.org." in text_of(missing)
    itself = agent_client.post(f"/t/rowery/customers/{ala.pk}/merge/", {"other": f"#{ala.pk}"})
    assert itself.status_code == 422


def test_a_customer_of_another_shop_cannot_be_merged_in(agent_client, other_tenant, people):
    foreign = CustomerFactory(tenant=other_tenant, email="foreign@example.org")

    response = agent_client.post(f"/t/rowery/customers/{people[0].pk}/merge/", {"other": f"#{foreign.pk}"})

    assert response.status_code == 422
    assert Customer.objects.get(pk=foreign.pk).merged_into is None
