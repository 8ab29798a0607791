"""Customers and their identities through the API: find, create, change, add addresses, merge."""

from __future__ import annotations

import pytest

from frontdesk.desk.models import Conversation, Customer, CustomerIdentity
from tests.api.conftest import error_of
from tests.factories import CustomerFactory, receive


@pytest.fixture
def jan(tenant):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(tenant=tenant, name="Jan Kowalski", email="jan@example.org")
    CustomerIdentity.objects.create(tenant=tenant, customer=customer, kind="phone", address="+48601234567")
    return customer


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["items"]]


def test_the_list_shows_the_newest_customers_first_with_their_identities(owner_api, tenant, jan):
    ewa = CustomerFactory(tenant=tenant, name="Ewa")
    response = owner_api.get("/customers")
    assert ids(response) == [ewa.pk, jan.pk]
    identities = {(i["kind"], i["address"]) for i in response.json()["items"][1]["identities"]}
    assert identities == {("email", "jan@example.org"), ("phone", "+48601234567")}


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"email": "JAN@example.org "}, True),
        ({"phone": "601 234 567"}, True),
        ({"phone": "+48 601-234-567"}, True),
        ({"name": "kowal"}, True),
        ({"q": "example.org"}, True),
        ({"q": "jan"}, True),
        ({"email": "ewa@example.org"}, False),
        ({"phone": "+48 512 345 678"}, False),
    ],
)
def test_customers_are_found_by_email_phone_or_name(owner_api, tenant, jan, params, found):
    CustomerFactory(tenant=tenant, name="Somebody Else", email="else@elsewhere.test")
    assert ids(owner_api.get("/customers", params)) == ([jan.pk] if found else [])


def test_customers_are_found_by_the_shops_own_id(owner_api, api_channel):
    conversation = receive(api_channel, "Hi", external_id="shop-42")
    assert ids(owner_api.get("/customers", {"external_id": "shop-42"})) == [conversation.customer_id]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"email": "not-an-email"}, "email"), ({"phone": "12"}, "phone"), ({"phone": "call me"}, "phone")],
)
def test_searching_by_an_invalid_email_or_phone_is_422_naming_it(owner_api, params, field):
    response = owner_api.get("/customers", params)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_a_customer_is_created_with_normalised_identities(owner_api):
    response = owner_api.post(
        "/customers",
        {
            "name": "Ola Nowak",
            "email": " Ola@Example.ORG",
            "phone": "601 234 567",
            "external_id": "shop-7",
            "language": "pl",
            "attributes": {"segment": "vip", "orders": 12},
            "identities": [{"kind": "telegram", "address": "12345"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Ola Nowak"
    assert body["attributes"] == {"segment": "vip", "orders": 12}
    assert {(i["kind"], i["address"]) for i in body["identities"]} == {
        ("email", "ola@example.org"),
        ("phone", "+48601234567"),
        ("external", "shop-7"),
        ("telegram", "12345"),
    }
    assert owner_api.get(f"/customers/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "email": "nope@"}, "email"),
        ({"name": "X", "phone": "+48 12"}, "phone"),
        ({"name": "X", "email": "x@example.org", "language": "Polish"}, "language"),
        ({"name": "X", "identities": [{"kind": "pigeon", "address": "roof"}]}, "identities.0.kind"),
    ],
)
def test_creating_with_an_invalid_address_is_422_naming_the_field(owner_api, body, field):
    response = owner_api.post("/customers", body)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]
    assert not Customer.objects.exists()


def test_a_customer_needs_at_least_one_identity(owner_api):
    response = owner_api.post("/customers", {"name": "Nobody"})
    assert response.status_code == 422
    assert error_of(response)["code"] == "no_identity"


def test_creating_a_customer_whose_address_is_taken_is_a_conflict_naming_the_owner(owner_api, jan):
    response = owner_api.post("/customers", {"name": "Jan 2", "email": "jan@example.org"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "identity_taken"
    assert str(jan.pk) in error["message"]


def test_changing_a_customer_changes_only_what_is_given(owner_api, jan, form_channel):
    response = owner_api.patch(
        f"/customers/{jan.pk}",
        {"time_zone": "Europe/Warsaw", "blocked": True, "preferred_reply_channel": form_channel.pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["time_zone"], body["blocked"]) == ("Jan Kowalski", "Europe/Warsaw", True)
    assert body["preferred_reply_channel"] == form_channel.pk
    body = owner_api.patch(f"/customers/{jan.pk}", {"preferred_reply_channel": None}).json()
    assert body["preferred_reply_channel"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"preferred_reply_channel": 9999}, "preferred_reply_channel"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"name": "x" * 201}, "name"),
        ({"blocked": "sometimes"}, "blocked"),
    ],
)
def test_invalid_changes_are_422_naming_the_field(owner_api, jan, body, field):
    response = owner_api.patch(f"/customers/{jan.pk}", body)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_an_identity_is_added_normalised(owner_api, jan):
    response = owner_api.post(
        f"/customers/{jan.pk}/identities", {"kind": "phone", "address": "0048 512 345 678"}
    )
    assert response.status_code == 201
    assert response.json()["address"] == "+48512345678"
    assert jan.identities.count() == 3


@pytest.mark.parametrize(("kind", "address"), [("phone", "123"), ("email", "jan(at)example.org")])
def test_adding_an_invalid_phone_or_email_is_422(owner_api, jan, kind, address):
    response = owner_api.post(f"/customers/{jan.pk}/identities", {"kind": kind, "address": address})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["address"]


def test_adding_the_address_of_another_customer_is_a_conflict(owner_api, tenant, jan):
    ewa = CustomerFactory(tenant=tenant, name="Ewa")
    response = owner_api.post(
        f"/customers/{ewa.pk}/identities", {"kind": "email", "address": "jan@example.org"}
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "identity_taken"


def test_an_identity_is_removed(owner_api, jan):
    phone = jan.identities.get(kind="phone")
    assert owner_api.delete(f"/customers/{jan.pk}/identities/{phone.pk}").status_code == 204
    assert list(jan.identities.values_list("kind", flat=True)) == ["email"]


def test_an_identity_of_another_customer_is_404_under_this_one(owner_api, tenant, jan):
    ewa = CustomerFactory(tenant=tenant, name="Ewa")
    phone = jan.identities.get(kind="phone")
    assert owner_api.delete(f"/customers/{ewa.pk}/identities/{phone.pk}").status_code == 404
    assert jan.identities.count() == 2


def test_merging_moves_identities_and_conversations(owner_api, tenant, form_channel, jan):
    conversation = receive(form_channel, "Hello", email="jan.second@example.org", name="J. K.")
    duplicate = conversation.customer
    response = owner_api.post(f"/customers/{duplicate.pk}/merge", {"into": jan.pk})
    assert response.status_code == 200
    assert response.json()["id"] == jan.pk
    assert "jan.second@example.org" in {i["address"] for i in response.json()["identities"]}
    assert Conversation.objects.get(pk=conversation.pk).customer_id == jan.pk
    assert owner_api.get(f"/customers/{duplicate.pk}").json()["merged_into"] == jan.pk
    assert duplicate.pk not in ids(owner_api.get("/customers"))
    assert duplicate.pk in ids(owner_api.get("/customers", {"include_merged": "true"}))


def test_merging_into_itself_an_unknown_or_a_merged_customer_is_refused(owner_api, tenant, jan):
    ewa = CustomerFactory(tenant=tenant, name="Ewa")
    assert owner_api.post(f"/customers/{jan.pk}/merge", {"into": jan.pk}).status_code == 422
    assert owner_api.post(f"/customers/{jan.pk}/merge", {"into": 9999}).status_code == 422
    owner_api.post(f"/customers/{ewa.pk}/merge", {"into": jan.pk})
    again = owner_api.post(f"/customers/{ewa.pk}/merge", {"into": jan.pk})
    assert again.status_code == 409
    assert error_of(again)["code"] == "customer_merged"
    assert owner_api.post(f"/customers/{jan.pk}/merge", {"into": ewa.pk}).status_code == 422


def test_a_page_of_customers_costs_the_same_few_queries(owner_api, tenant, django_assert_max_num_queries):
    CustomerFactory.create_batch(30, tenant=tenant)
    owner_api.get("/customers")
    with django_assert_max_num_queries(3):
        response = owner_api.get("/customers", {"limit": 30})
    assert len(response.json()["items"]) == 30
