"""No shop sees another: every page under /t/<slug>/ answers 404 to members of other shops.

The URL list is read from the URL configuration itself, so a page added later is covered (or this
test fails until the object its URL names is added to `url_kwargs`). Each area's own tests check
the details; this is the net under all of them. The REST API has its own matrix (tests/api).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from frontdesk.desk.actions.admin import do_create_api_token, do_invite
from frontdesk.desk.actions.chat import do_start_session
from frontdesk.desk.actions.conversations import do_add_note
from frontdesk.desk.models import (
    Attachment,
    BusinessCalendar,
    Callback,
    CallbackState,
    Membership,
    RawInbound,
    RawState,
    SlaPolicy,
)
from tests.factories import ChannelFactory, MembershipFactory, TagFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


def tenant_routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p

    for route, pattern in walk(get_resolver().url_patterns, ""):
        if "<slug:slug>" in route:
            yield route, pattern


ROUTES = sorted({route for route, _ in tenant_routes()})


@pytest.fixture
def shop_a(tenant, owner, api_channel) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One of everything in shop A, named by the URL keyword that addresses it."""
    colleague = MembershipFactory(tenant=tenant)
    conversation = receive(
        api_channel, "Gdzie jest paczka?", external_id="c-1", html="<p>Gdzie jest paczka?</p>"
    )
    note = do_add_note(owner, conversation, "internal")
    attachment = Attachment(tenant=tenant, message=note, token="tok-a", filename="a.txt", size=1)
    attachment.file.save("tok-a", ContentFile(b"a"), save=False)
    attachment.save()
    invitation, _ = do_invite(owner, "new@rowery.example")
    token, _ = do_create_api_token(owner, "backend")
    form_channel = ChannelFactory(tenant=tenant, kind="form")
    chat_channel = ChannelFactory(tenant=tenant, kind="chat")
    now = timezone.now()
    callback = Callback.objects.create(
        tenant=tenant,
        conversation=conversation,
        phone="+48601234567",
        window_start=now,
        window_end=now + dt.timedelta(hours=2),
        due_at=now,
        state=CallbackState.DUE,
    )
    return {
        "slug": tenant.slug,
        "number": conversation.number,
        "message_id": conversation.messages.get(direction="in").pk,
        "customer_id": conversation.customer_id,
        "identity_id": conversation.customer.identities.first().pk,
        "token": attachment.token,
        "member_id": colleague.pk,
        "invitation_id": invitation.pk,
        "team_id": TeamFactory(tenant=tenant).pk,
        "tag_id": TagFactory(tenant=tenant).pk,
        "channel_id": form_channel.pk,
        "raw_id": RawInbound.objects.create(
            tenant=tenant, channel=form_channel, body=b"{}", state=RawState.FAILED, error="boom"
        ).pk,
        "kind": "api",
        "token_id": token.pk,
        "public_id": do_start_session(chat_channel).visitor.public_id,
        "calendar_id": BusinessCalendar.objects.create(tenant=tenant, name="Sklep", is_default=True).pk,
        "callback_id": callback.pk,
        "policy_id": SlaPolicy.objects.create(tenant=tenant, name="Szybko", first_response_minutes=60).pk,
    }


def url_for(route: str, kwargs: dict[str, Any]) -> str:
    name = next(p.name for r, p in tenant_routes() if r == route)
    wanted = {k: v for k, v in kwargs.items() if f":{k}>" in route}
    return reverse(name, kwargs=wanted)


def client_of(member: Membership) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_every_tenant_url_names_only_objects_this_test_knows(shop_a):
    for route in ROUTES:
        for name in re.findall(r"<\w+:(\w+)>", route):
            assert name in shop_a, f"{route}: add an object of shop A for <{name}> to shop_a"


@pytest.mark.parametrize("route", ROUTES)
def test_the_shops_owner_reaches_the_url(route, shop_a, owner):
    """The control: without it, a URL that 404s for everyone would pass the tests below."""
    response = client_of(owner).get(url_for(route, shop_a))

    assert response.status_code != 404, route


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_member_of_another_shop_gets_404_at_this_shops_address(route, method, shop_a, outsider):
    response = getattr(client_of(outsider), method)(url_for(route, shop_a))

    assert response.status_code == 404, route
    assert b"Gdzie jest paczka" not in response.content


# Addresses that name an object of the shop (not only the shop, or a kind of channel).
OBJECT_ROUTES = [r for r in ROUTES if re.search(r"<(?!slug:slug|slug:kind)\w+:\w+>", r)]


@pytest.mark.parametrize("route", OBJECT_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_member_of_another_shop_gets_404_for_this_shops_objects_in_their_own_shop(
    route, method, shop_a, owner, outsider
):
    """Shop B's address with shop A's ids: the lookups are scoped, not only the address."""
    if getattr(client_of(owner), method)(url_for(route, shop_a)).status_code == 405:
        pytest.skip(f"{route} does not take {method.upper()}")
    response = getattr(client_of(outsider), method)(url_for(route, {**shop_a, "slug": outsider.tenant.slug}))

    assert response.status_code == 404, route
    assert b"Gdzie jest paczka" not in response.content
