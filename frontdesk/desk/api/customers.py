"""Customers and their identities (email, phone, the shop's own id, …): find, create, change, merge."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from frontdesk.channels.base import InboundContact

from ..access import access_channel, access_customer, access_identity
from ..actions.customers import (
    do_add_identity,
    do_create_customer,
    do_merge_customers,
    do_remove_identity,
    do_update_customer,
)
from ..errors import Conflict, Invalid
from ..lib.addresses import InvalidAddress, normalize_email, normalize_phone
from ..models import Customer, CustomerIdentity, IdentityKind
from . import errors
from .auth import member_of
from .common import related
from .pagination import paginate
from .schemas import (
    CustomerId,
    CustomerIn,
    CustomerMerge,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    IdentityId,
    IdentityIn,
    IdentityOut,
    NotGiven,
    PageParams,
    Timestamp,
)

router = Router(tags=["customers"])

ORDERINGS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "updated_at": ("updated_at", "id"),
}


class CustomerFilters(Schema):
    email: str | NotGiven = Field(None, max_length=320, description="Exact email address (any case).")
    phone: str | NotGiven = Field(
        None, max_length=40, description="Phone number; national numbers are read in the shop's country."
    )
    external_id: str | NotGiven = Field(
        None, max_length=320, description="The shop's own id for the customer."
    )
    name: str | NotGiven = Field(None, max_length=200, description="Part of the name (any case).")
    q: str | NotGiven = Field(
        None, min_length=1, max_length=200, description="Part of the name or of any address."
    )
    updated_after: Timestamp | NotGiven = Field(None, description="Only those changed after this time.")
    include_merged: bool = Field(False, description="Include customers merged into others.")
    sort: Literal["-id", "updated_at"] = Field(
        "-id", description="`-id`: newest first; `updated_at`: oldest change first (to sync changes)."
    )


def _with_identity(qs: QuerySet[Customer], member: Any, kind: str, address: str) -> QuerySet[Customer]:
    owners = CustomerIdentity.objects.filter(tenant=member.tenant, kind=kind, address=address)
    return qs.filter(pk__in=owners.values("customer_id"))


def _filtered(member: Any, f: CustomerFilters) -> QuerySet[Customer]:
    qs = Customer.objects.filter(tenant=member.tenant).prefetch_related("identities")
    if not f.include_merged:
        qs = qs.filter(merged_into=None)
    try:
        if f.email:
            qs = _with_identity(qs, member, IdentityKind.EMAIL, normalize_email(f.email))
    except InvalidAddress as exc:
        raise Invalid(str(exc), fields={"email": [_("Enter a valid email address.")]}) from None
    try:
        if f.phone:
            qs = _with_identity(
                qs, member, IdentityKind.PHONE, normalize_phone(f.phone, member.tenant.country)
            )
    except InvalidAddress as exc:
        raise Invalid(str(exc), fields={"phone": [_("Enter a valid phone number.")]}) from None
    if f.external_id:
        qs = _with_identity(qs, member, IdentityKind.EXTERNAL, f.external_id.strip())
    if f.name:
        qs = qs.filter(name__icontains=f.name)
    if f.q:
        addresses = CustomerIdentity.objects.filter(tenant=member.tenant, address__icontains=f.q)
        qs = qs.filter(Q(name__icontains=f.q) | Q(pk__in=addresses.values("customer_id")))
    if f.updated_after:
        qs = qs.filter(updated_at__gt=f.updated_after)
    return qs


@router.get("", response=errors.responses({200: CustomerPage}, errors.LIST), summary="List customers")
def list_customers(
    request: HttpRequest, filters: Query[CustomerFilters], page: Query[PageParams]
) -> dict[str, Any]:
    """Customers of the shop, newest first; find one by email, phone, the shop's id or name."""
    rows, next_cursor = paginate(
        _filtered(member_of(request), filters), ORDERINGS[filters.sort], cursor=page.cursor, limit=page.limit
    )
    return {"items": rows, "next_cursor": next_cursor}


@router.post("", response=errors.responses({201: CustomerOut}, errors.CREATE), summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> HttpStatus:
    """A new customer with at least one identity (email, phone, external_id or `identities`).

    When one of the addresses already belongs to a customer the answer is 409 (`identity_taken`)
    naming that customer: update it, or merge, instead."""
    member = member_of(request)
    contact = InboundContact(
        name=payload.name,
        email=payload.email or "",
        phone=payload.phone or "",
        external_id=(payload.external_id or "").strip(),
        language=payload.language,
        identities=[(i.kind, i.address) for i in payload.identities],
        attributes=payload.attributes,
    )
    customer = do_create_customer(member, contact)
    return HttpStatus(201, access_customer(member, customer.pk))


@router.get(
    "/{int:customer_id}",
    response=errors.responses({200: CustomerOut}, errors.READ),
    summary="Read a customer",
)
def get_customer(request: HttpRequest, customer_id: CustomerId) -> Customer:
    """One customer with their identities. A merged customer points at the one it was merged into."""
    return access_customer(member_of(request), customer_id)


@router.patch(
    "/{int:customer_id}",
    response=errors.responses({200: CustomerOut}, errors.WRITE),
    summary="Change a customer",
)
def update_customer(request: HttpRequest, customer_id: CustomerId, payload: CustomerPatch) -> Customer:
    """Change only the fields given. `attributes` replaces all attributes."""
    member = member_of(request)
    customer = access_customer(member, customer_id)
    changes = {name: getattr(payload, name) for name in payload.model_fields_set}
    if "preferred_reply_channel" in changes and changes["preferred_reply_channel"] is not None:
        changes["preferred_reply_channel"] = related(
            access_channel, member, changes["preferred_reply_channel"], "preferred_reply_channel"
        )
    if changes:
        do_update_customer(member, customer, changes)
    return access_customer(member, customer_id)


@router.post(
    "/{int:customer_id}/identities",
    response=errors.responses({201: IdentityOut}, errors.WRITE),
    summary="Add an identity",
)
def add_identity(request: HttpRequest, customer_id: CustomerId, payload: IdentityIn) -> HttpStatus:
    """A new address for the customer. An address of another customer is a 409 (`identity_taken`):
    merge the two customers instead."""
    member = member_of(request)
    customer = access_customer(member, customer_id)
    return HttpStatus(201, do_add_identity(member, customer, payload.kind, payload.address))


@router.delete(
    "/{int:customer_id}/identities/{int:identity_id}",
    response=errors.responses({204: None}, errors.DELETE),
    summary="Remove an identity",
)
def remove_identity(request: HttpRequest, customer_id: CustomerId, identity_id: IdentityId) -> HttpStatus:
    """Forget one of the customer's addresses: messages from it are no longer matched to them."""
    member = member_of(request)
    customer = access_customer(member, customer_id)
    do_remove_identity(member, access_identity(member, customer, identity_id))
    return HttpStatus(204, None)


@router.post(
    "/{int:customer_id}/merge",
    response=errors.responses({200: CustomerOut}, errors.WRITE),
    summary="Merge into another customer",
)
def merge_customer(request: HttpRequest, customer_id: CustomerId, payload: CustomerMerge) -> Customer:
    """Merge this customer into `into`: identities and conversations move there. Answers with the
    customer merged into."""
    member = member_of(request)
    source = access_customer(member, customer_id)
    target = related(access_customer, member, payload.into, "into")
    if source.merged_into_id:
        raise Conflict(_("This customer was already merged into another."), code="customer_merged")
    if target.merged_into_id:
        raise Invalid(
            _("The customer to merge into was itself merged into another."),
            fields={"into": [_("Merged already.")]},
        )
    do_merge_customers(member, source, target)
    return access_customer(member, target.pk)
