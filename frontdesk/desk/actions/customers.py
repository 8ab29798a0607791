"""Customers and their identities."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk.channels.base import InboundContact

from ..errors import Conflict, Invalid
from ..events import record_event
from ..lib.addresses import InvalidAddress, normalize_identity
from ..models import (
    Channel,
    Conversation,
    Customer,
    CustomerIdentity,
    IdentityKind,
    Membership,
    Message,
    Tenant,
)


def contact_identities(tenant: Tenant, contact: InboundContact) -> list[tuple[str, str]]:
    """The contact's identities, normalised, strongest first. Raises Invalid for a bad address."""
    raw: list[tuple[str, str, str]] = []
    if contact.external_id:
        raw.append((IdentityKind.EXTERNAL, contact.external_id, "external_id"))
    if contact.email:
        raw.append((IdentityKind.EMAIL, contact.email, "email"))
    if contact.phone:
        raw.append((IdentityKind.PHONE, contact.phone, "phone"))
    raw.extend((kind, address, kind) for kind, address in contact.identities)
    result: list[tuple[str, str]] = []
    for kind, address, field in raw:
        try:
            result.append((kind, normalize_identity(kind, address, tenant.country)))
        except InvalidAddress as exc:
            raise Invalid(str(exc), fields={field: [str(exc)]}) from None
    return result


def find_or_create_customer(tenant: Tenant, contact: InboundContact) -> Customer:
    """The customer the contact's identities point to, created when none does.

    Identities are claims of the channel, not proofs: when they point at two different customers we
    keep them apart (the first, strongest match wins) and never merge automatically.
    """
    identities = contact_identities(tenant, contact)
    if not identities:
        raise Invalid(_("A customer needs at least one of: email, phone, external id."), code="no_identity")
    existing = {
        (i.kind, i.address): i
        for i in CustomerIdentity.objects.filter(
            tenant=tenant, address__in=[a for _k, a in identities]
        ).select_related("customer")
    }
    customer: Customer | None = None
    for key in identities:
        if key in existing:
            customer = existing[key].customer
            break
    while customer is not None and customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if customer is None:
        customer = Customer.objects.create(
            tenant=tenant,
            name=contact.name[:200],
            language=contact.language[:10],
            attributes=contact.attributes or {},
        )
    else:
        changed = []
        if contact.name and not customer.name:
            customer.name = contact.name[:200]
            changed.append("name")
        if contact.language and not customer.language:
            customer.language = contact.language[:10]
            changed.append("language")
        if contact.attributes:
            customer.attributes = {**customer.attributes, **contact.attributes}
            changed.append("attributes")
        if changed:
            customer.updated_at = timezone.now()
            customer.save(update_fields=[*changed, "updated_at"])
    for kind, address in identities:
        if (kind, address) not in existing:
            CustomerIdentity.objects.create(tenant=tenant, customer=customer, kind=kind, address=address)
    return customer


def check_create_customer(member: Membership, contact: InboundContact) -> list[tuple[str, str]]:
    identities = contact_identities(member.tenant, contact)
    if not identities:
        raise Invalid(
            _("A customer needs at least one of: email, phone, external_id, identities."),
            code="no_identity",
            fields={"email": [_("Give an email, a phone or another identity.")]},
        )
    for kind, address in identities:
        taken = CustomerIdentity.objects.filter(tenant=member.tenant, kind=kind, address=address).first()
        if taken is not None:
            raise Conflict(
                _("%(address)s already belongs to customer %(id)s.")
                % {"address": address, "id": taken.customer_id},
                code="identity_taken",
            )
    return identities


def do_create_customer(member: Membership, contact: InboundContact) -> Customer:
    """A customer entered by a member (or the shop's systems through the API), not by a message."""
    check_create_customer(member, contact)
    try:
        with transaction.atomic():
            customer = find_or_create_customer(member.tenant, contact)
            record_event(member.tenant, "customer.created", actor=member, data={"customer": customer.pk})
    except IntegrityError:
        # Another request added one of these addresses since we looked.
        raise Conflict(
            _("One of these addresses already belongs to a customer."), code="identity_taken"
        ) from None
    return customer


CUSTOMER_FIELDS = ("name", "language", "time_zone", "preferred_contact_hours", "attributes", "blocked")


def check_update_customer(member: Membership, customer: Customer, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - {*CUSTOMER_FIELDS, "preferred_reply_channel"}
    if unknown:
        raise Invalid(fields={name: [_("Unknown field.")] for name in sorted(unknown)})
    if "attributes" in changes and not isinstance(changes["attributes"], dict):
        raise Invalid(fields={"attributes": [_("Must be an object.")]})
    channel = changes.get("preferred_reply_channel")
    if channel is not None and (not isinstance(channel, Channel) or channel.tenant_id != member.tenant_id):
        raise Invalid(fields={"preferred_reply_channel": [_("Unknown channel.")]})
    return changes


def do_update_customer(member: Membership, customer: Customer, changes: dict[str, Any]) -> Customer:
    changes = check_update_customer(member, customer, changes)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(customer, name, value)
        customer.updated_at = timezone.now()
        customer.save(update_fields=[*changes.keys(), "updated_at"])
        record_event(
            member.tenant,
            "customer.updated",
            actor=member,
            data={"customer": customer.pk, "fields": sorted(changes)},
        )
    return customer


def check_add_identity(member: Membership, customer: Customer, kind: str, address: str) -> tuple[str, str]:
    if kind not in IdentityKind.values:
        raise Invalid(fields={"kind": [_("Unknown identity kind.")]})
    try:
        normalized = normalize_identity(kind, address, member.tenant.country)
    except InvalidAddress as exc:
        raise Invalid(str(exc), fields={"address": [str(exc)]}) from None
    other = CustomerIdentity.objects.filter(tenant=member.tenant, kind=kind, address=normalized).first()
    if other is not None:
        raise Conflict(
            _("%(address)s already belongs to another customer; merge the customers instead.")
            % {"address": normalized},
            code="identity_taken",
        )
    return kind, normalized


def do_add_identity(member: Membership, customer: Customer, kind: str, address: str) -> CustomerIdentity:
    kind, address = check_add_identity(member, customer, kind, address)
    try:
        with transaction.atomic():
            identity = CustomerIdentity.objects.create(
                tenant=member.tenant, customer=customer, kind=kind, address=address
            )
            record_event(
                member.tenant,
                "customer.identity_added",
                actor=member,
                data={"customer": customer.pk, "kind": kind, "address": address},
            )
    except IntegrityError:
        raise Conflict(_("This address already belongs to a customer."), code="identity_taken") from None
    return identity


def do_remove_identity(member: Membership, identity: CustomerIdentity) -> None:
    with transaction.atomic():
        record_event(
            member.tenant,
            "customer.identity_removed",
            actor=member,
            data={"customer": identity.customer_id, "kind": identity.kind, "address": identity.address},
        )
        identity.delete()


def merge_customer_rows(source: Customer, target: Customer) -> None:
    """Move identities, conversations, messages and chat visitors of `source` to `target`; source
    stays as a pointer. Inside the caller's transaction."""
    from ..models import ChatVisitor

    CustomerIdentity.objects.filter(customer=source).update(customer=target)
    Conversation.objects.filter(customer=source).update(customer=target)
    Message.objects.filter(customer=source).update(customer=target)
    ChatVisitor.objects.filter(customer=source).update(customer=target)
    target.attributes = {**source.attributes, **target.attributes}
    target.name = target.name or source.name
    target.language = target.language or source.language
    target.updated_at = timezone.now()
    target.save(update_fields=["attributes", "name", "language", "updated_at"])
    source.merged_into = target
    source.save(update_fields=["merged_into"])


def do_merge_customers(member: Membership, source: Customer, target: Customer) -> Customer:
    """Move everything of `source` (identities, conversations) to `target`; source stays as a pointer."""
    if source.pk == target.pk:
        raise Invalid(_("A customer cannot be merged into itself."))
    if source.tenant_id != target.tenant_id or source.tenant_id != member.tenant_id:
        raise Invalid(_("Unknown customer."))
    with transaction.atomic():
        merge_customer_rows(source, target)
        record_event(
            member.tenant, "customer.merged", actor=member, data={"customer": target.pk, "merged": source.pk}
        )
    return target
