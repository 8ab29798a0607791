"""Factories for the domain. Tests build what they need with these, never with fixture files."""

from __future__ import annotations

import itertools

import factory
from django.utils import timezone

from frontdesk.channels.base import InboundContact, InboundMessage
from frontdesk.desk.actions.inbound import do_receive_inbound
from frontdesk.desk.models import (
    Channel,
    Conversation,
    Customer,
    CustomerIdentity,
    Membership,
    Role,
    Tag,
    Team,
    Tenant,
    User,
)

PASSWORD = "correct-horse-battery"
_keys = itertools.count(1)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    languages = factory.LazyFunction(lambda: ["pl", "en"])
    # Acknowledgements are on for every real shop; test shops start without them so a test that
    # counts messages counts the customer's and the agents'. Tests of the promise turn them on.
    service = factory.LazyFunction(lambda: {"acknowledge": False})


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.com")
    name = factory.Sequence(lambda n: f"Agent {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AGENT
    availability = "online"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    kind = "api"
    name = factory.Sequence(lambda n: f"Channel {n}")
    config = factory.LazyFunction(dict)

    @factory.post_generation
    def secrets(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        """Secrets as do_create_channel makes them (the API channel's signing secret)."""
        if create and not obj.secrets_encrypted:
            obj.secrets = extracted if extracted is not None else obj.adapter.generate_secrets()
            obj.save(update_fields=["secrets_encrypted"])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")

    @factory.post_generation
    def email(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            address = extracted or f"customer{obj.pk}@example.org"
            CustomerIdentity.objects.create(tenant=obj.tenant, customer=obj, kind="email", address=address)


def receive(
    channel: Channel,
    text: str = "Where is my parcel?",
    *,
    email: str = "jan@example.org",
    name: str = "Jan Kowalski",
    key: str | None = None,
    **extra: object,
) -> Conversation:
    """A customer message arriving through `channel`, the way every channel delivers one."""
    result = do_receive_inbound(
        channel,
        InboundMessage(
            dedupe_key=key or f"test-{next(_keys)}",
            contact=InboundContact(
                name=name, email=email, external_id=str(extra.pop("external_id", "")) or ""
            ),
            text=text,
            sent_at=timezone.now(),
            **extra,  # type: ignore[arg-type]
        ),
    )
    return result.conversation
