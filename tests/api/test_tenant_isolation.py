"""A token of another shop gets 404 on every object of this shop and never sees its rows in lists."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.desk.actions.admin import do_invite
from frontdesk.desk.models import Conversation, Customer, CustomerIdentity, Event, Invitation, Tag, Team
from tests.api.conftest import error_of
from tests.factories import (
    ChannelFactory,
    MembershipFactory,
    TagFactory,
    TeamFactory,
    receive,
)


@pytest.fixture
def ours(tenant, owner, agent, api_channel) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything of the shop under attack (numbers 1–3, so the other shop has no number 3)."""
    for n in range(2):
        receive(api_channel, f"Earlier {n}", email=f"early{n}@example.org", external_id=f"early-{n}")
    conversation = receive(api_channel, "Secret order", email="jan@ours.example", external_id="jan")
    assert conversation.number == 3
    customer = conversation.customer
    team = TeamFactory(tenant=tenant, name="Ours")
    team.members.add(agent)
    invitation, _link = do_invite(owner, "new@ours.example")
    return {
        "number": conversation.number,
        "message": conversation.messages.get().pk,
        "customer": customer.pk,
        "identity": customer.identities.first().pk,  # type: ignore[union-attr]
        "team": team.pk,
        "tag": TagFactory(tenant=tenant, name="ours").pk,
        "member": agent.pk,
        "invitation": invitation.pk,
        "channel": api_channel.pk,
    }


@pytest.fixture
def theirs(other_tenant, outsider) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The other shop has data of its own, so its lists are not trivially empty."""
    channel = ChannelFactory(tenant=other_tenant, kind="api", name="Their backend")
    conversation = receive(channel, "Their question", email="them@theirs.example", external_id="them")
    team = TeamFactory(tenant=other_tenant, name="Theirs")
    return {
        "number": conversation.number,
        "customer": conversation.customer_id,
        "team": team.pk,
        "tag": TagFactory(tenant=other_tenant, name="theirs").pk,
        "member": MembershipFactory(tenant=other_tenant).pk,
        "channel": channel.pk,
    }


def object_requests(o: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """Every operation on an object URL, with a body that would be valid: (method, path template) →
    (url, body). The test below checks this covers every such operation in the schema."""
    n, c, t = o["number"], o["customer"], o["team"]
    return {
        ("get", "/conversations/{number}"): (f"/conversations/{n}", None),
        ("patch", "/conversations/{number}"): (f"/conversations/{n}", {"status": "open"}),
        ("post", "/conversations/{number}/merge"): (f"/conversations/{n}/merge", {"into": 1}),
        ("get", "/conversations/{number}/messages"): (f"/conversations/{n}/messages", None),
        ("get", "/conversations/{number}/messages/{message_id}"): (
            f"/conversations/{n}/messages/{o['message']}",
            None,
        ),
        ("post", "/conversations/{number}/replies"): (f"/conversations/{n}/replies", {"text": "Hi"}),
        ("post", "/conversations/{number}/notes"): (f"/conversations/{n}/notes", {"text": "Hi"}),
        ("get", "/customers/{customer_id}"): (f"/customers/{c}", None),
        ("patch", "/customers/{customer_id}"): (f"/customers/{c}", {"name": "Mallory"}),
        ("post", "/customers/{customer_id}/identities"): (
            f"/customers/{c}/identities",
            {"kind": "email", "address": "mallory@evil.example"},
        ),
        ("delete", "/customers/{customer_id}/identities/{identity_id}"): (
            f"/customers/{c}/identities/{o['identity']}",
            None,
        ),
        ("post", "/customers/{customer_id}/merge"): (f"/customers/{c}/merge", {"into": c}),
        ("get", "/teams/{team_id}"): (f"/teams/{t}", None),
        ("patch", "/teams/{team_id}"): (f"/teams/{t}", {"name": "Mallory"}),
        ("delete", "/teams/{team_id}"): (f"/teams/{t}", None),
        ("post", "/teams/{team_id}/members"): (f"/teams/{t}/members", {"member": o["member"]}),
        ("delete", "/teams/{team_id}/members/{member_id}"): (f"/teams/{t}/members/{o['member']}", None),
        ("get", "/tags/{tag_id}"): (f"/tags/{o['tag']}", None),
        ("patch", "/tags/{tag_id}"): (f"/tags/{o['tag']}", {"name": "Mallory"}),
        ("delete", "/tags/{tag_id}"): (f"/tags/{o['tag']}", None),
        ("get", "/members/{member_id}"): (f"/members/{o['member']}", None),
        ("patch", "/members/{member_id}"): (f"/members/{o['member']}", {"role": "admin"}),
        ("delete", "/members/invitations/{invitation_id}"): (f"/members/invitations/{o['invitation']}", None),
        ("get", "/channels/{channel_id}"): (f"/channels/{o['channel']}", None),
    }


def send(api: Any, method: str, url: str, body: Any) -> Any:
    return getattr(api, method)(url) if body is None else getattr(api, method)(url, body)


def test_the_matrix_covers_every_object_url_of_the_schema(anonymous_api, ours):
    schema = anonymous_api.get("/openapi.json").json()
    templated = {
        (method, path.removeprefix("/api/v1"))
        for path, operations in schema["paths"].items()
        if "{" in path
        for method in operations
    }
    assert templated == set(object_requests(ours))


def test_another_shops_token_gets_404_on_every_object_url(outsider_api, ours, theirs):
    counts = [m.objects.count() for m in (Conversation, Customer, CustomerIdentity, Team, Tag, Invitation)]
    events = Event.objects.count()
    for (method, template), (url, body) in object_requests(ours).items():
        response = send(outsider_api, method, url, body)
        assert response.status_code == 404, f"{method.upper()} {template}: {response.status_code}"
        assert error_of(response)["code"] == "not_found"
    assert [
        m.objects.count() for m in (Conversation, Customer, CustomerIdentity, Team, Tag, Invitation)
    ] == counts
    assert Event.objects.count() == events
    assert Team.objects.get(pk=ours["team"]).name == "Ours"


def test_the_shops_own_token_reaches_the_same_urls(owner_api, ours):
    for (method, template), (url, body) in object_requests(ours).items():
        if method == "get":
            assert send(owner_api, method, url, body).status_code == 200, template


LIST_KEYS = {
    "/conversations": ("number", "number"),
    "/customers": ("id", "customer"),
    "/teams": ("id", "team"),
    "/tags": ("id", "tag"),
    "/members": ("id", "member"),
    "/channels": ("id", "channel"),
}


def test_another_shops_token_never_sees_this_shops_rows_in_lists(outsider_api, ours, theirs):
    for path, (key, name) in LIST_KEYS.items():
        found = {row[key] for row in outsider_api.walk(path, {"limit": 100})}
        assert theirs[name] in found, path
        if name != "number":  # numbers are per shop; ids are global
            assert ours[name] not in found, path
    conversations = outsider_api.walk("/conversations")
    assert [c["subject"] for c in conversations] == ["Their question"]
    messages = outsider_api.walk(f"/conversations/{theirs['number']}/messages")
    assert [m["text"] for m in messages] == ["Their question"]
    assert outsider_api.get("/members/invitations").json()["items"] == []
    assert outsider_api.get("/customers", {"email": "jan@ours.example"}).json()["items"] == []
    assert outsider_api.get("/customers", {"q": "ours.example"}).json()["items"] == []


@pytest.mark.parametrize(
    ("field", "value_of"),
    [("assignee", "member"), ("team", "team"), ("tags", "tag"), ("reply_channel", "channel")],
)
def test_objects_of_another_shop_in_a_body_are_unknown_ids(outsider_api, ours, theirs, field, value_of):
    value = [ours[value_of]] if field == "tags" else ours[value_of]
    response = outsider_api.patch(f"/conversations/{theirs['number']}", {field: value})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_other_references_across_shops_are_unknown_ids_too(outsider_api, ours, theirs):
    checks = [
        (f"/conversations/{theirs['number']}/replies", {"text": "x", "channel": ours["channel"]}, "channel"),
        (f"/customers/{theirs['customer']}/merge", {"into": ours["customer"]}, "into"),
        (f"/teams/{theirs['team']}/members", {"member": ours["member"]}, "member"),
        ("/teams", {"name": "New", "members": [ours["member"]]}, "members"),
    ]
    for url, body, field in checks:
        response = outsider_api.post(url, body)
        assert response.status_code == 422, url
        assert list(error_of(response)["fields"]) == [field], url
    patch = outsider_api.patch(
        f"/customers/{theirs['customer']}", {"preferred_reply_channel": ours["channel"]}
    )
    assert list(error_of(patch)["fields"]) == ["preferred_reply_channel"]


def test_the_same_address_may_belong_to_a_customer_in_each_shop(outsider_api, ours):
    response = outsider_api.post("/customers", {"name": "Jan elsewhere", "email": "jan@ours.example"})
    assert response.status_code == 201
    assert response.json()["id"] != ours["customer"]


def test_filters_by_another_shops_ids_find_nothing(outsider_api, ours, theirs):
    for name in ("assignee", "team", "tag", "channel", "customer"):
        params = {name: ours["member" if name == "assignee" else name]}
        assert outsider_api.get("/conversations", params).json()["items"] == [], params


def test_numbers_are_per_shop(outsider_api, owner_api, ours, theirs):
    assert theirs["number"] == 1
    assert outsider_api.get("/conversations/1").json()["subject"] == "Their question"
    assert owner_api.get("/conversations/1").json()["subject"] == "Earlier 0"
