"""Customers: the list with search, and a profile with identities, attributes, conversations, merging."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..access import access_channel, access_customer, access_identity
from ..actions.admin import SUPPORTED_LANGUAGES
from ..actions.customers import do_add_identity, do_merge_customers, do_remove_identity, do_update_customer
from ..errors import ActionError, Invalid, NotFound
from ..lib.addresses import InvalidAddress, normalize_identity
from ..models import Channel, Conversation, Customer, CustomerIdentity, IdentityKind, Membership
from ..templatetags.workspace_tags import attribute_value
from .conversation import error_text
from .workspace import PAGE_SIZE, decode_cursor, encode_cursor, is_htmx, workspace_view

SEARCH_MAX = 200
CONVERSATIONS_SHOWN = 50
ATTRIBUTE_ROWS_EXTRA = 2


def _search(qs: QuerySet[Customer], member: Membership, q: str) -> QuerySet[Customer]:
    """Name contains the words; or an identity (email, phone, id) contains the text or equals it
    normalised (so "+48 600 100 200" finds the stored E.164 number)."""
    q = q.strip()[:SEARCH_MAX]
    if not q:
        return qs
    if q.startswith("#") and q[1:].isdigit():
        return qs.filter(pk=int(q[1:]))
    words = q.split()
    name_match = Q()
    for word in words:
        name_match &= Q(name__icontains=word)
    addresses = {q.lower()}
    for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
        with contextlib.suppress(InvalidAddress, ValueError):
            addresses.add(normalize_identity(kind, q, member.tenant.country))
    identity_match = CustomerIdentity.objects.filter(tenant_id=member.tenant_id).filter(
        Q(address__icontains=q) | Q(address__in=addresses)
    )
    return qs.filter(name_match | Q(pk__in=identity_match.values("customer_id")))


@workspace_view
@require_GET
def customers(request: HttpRequest) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    q = request.GET.get("q", "")
    qs = Customer.objects.filter(tenant_id=member.tenant_id, merged_into__isnull=True)
    qs = _search(qs, member, q).order_by("-id")
    cursor = request.GET.get("cursor", "")
    if cursor:
        try:
            (after,) = decode_cursor(cursor, (int,))
        except Invalid as exc:
            response = render(
                request, "desk/customers/list.html", {"nav": "customers", "q": q, "error": exc.message}
            )
            response.status_code = 400
            return response
        qs = qs.filter(pk__lt=after)
    # Correlated subqueries run for the page's rows only, not for every customer of the shop.
    per_customer = Conversation.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    rows = list(
        qs.prefetch_related("identities").annotate(
            conversation_count=Subquery(per_customer.annotate(n=Count("pk")).values("n")[:1]),
            last_contact=Subquery(per_customer.annotate(at=Max("last_message_at")).values("at")[:1]),
        )[: PAGE_SIZE + 1]
    )
    next_url = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        params = QueryDict(mutable=True)
        if q:
            params["q"] = q
        params["cursor"] = encode_cursor([rows[-1].pk])
        next_url = f"{reverse('customers', args=[member.tenant.slug])}?{params.urlencode()}"
    context = {"nav": "customers", "q": q, "rows": rows, "next_url": next_url, "paged": bool(cursor)}
    template = "desk/customers/_results.html" if is_htmx(request) else "desk/customers/list.html"
    return render(request, template, context)


def language_choices() -> list[tuple[str, str]]:
    """(code, name in the viewer's language) for the languages a shop can answer in."""
    choices = []
    for code in SUPPORTED_LANGUAGES:
        try:
            info = get_language_info(code)
            choices.append((code, f"{info['name_translated']} ({info['name_local']})"))
        except KeyError:
            choices.append((code, code))
    return sorted(choices, key=lambda c: c[1].lower())


def _attribute_rows(customer: Customer) -> list[tuple[str, str]]:
    rows = [(str(k), attribute_value(v)) for k, v in customer.attributes.items()]
    return rows + [("", "")] * ATTRIBUTE_ROWS_EXTRA


def profile_context(
    request: HttpRequest, customer: Customer, *, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    member: Membership = request.member  # type: ignore[attr-defined]
    conversations = list(
        Conversation.objects.filter(tenant_id=member.tenant_id, customer=customer, merged_into__isnull=True)
        .select_related("channel", "assignee__user")
        .order_by("-last_message_at")[: CONVERSATIONS_SHOWN + 1]
    )
    return {
        "nav": "customers",
        "customer": customer,
        "identities": list(customer.identities.all()),
        "identity_kinds": IdentityKind.choices,
        "channels": list(Channel.objects.filter(tenant_id=member.tenant_id, disabled=False).order_by("name")),
        "languages": language_choices(),
        "attribute_rows": _attribute_rows(customer),
        "conversations": conversations[:CONVERSATIONS_SHOWN],
        "more_conversations": len(conversations) > CONVERSATIONS_SHOWN,
        "errors": errors or {},
    }


@workspace_view
@require_GET
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    found = access_customer(member, customer_id)
    if found.merged_into_id:
        # Old links to a merged customer lead to the one it became.
        return HttpResponseRedirect(reverse("customer", args=[member.tenant.slug, found.merged_into_id]))
    return render(request, "desk/customers/detail.html", profile_context(request, found))


def _customer_act(request: HttpRequest, found: Customer, form: str, run: Any) -> HttpResponse:
    """Run an action on the customer; back to the profile, or the profile with the error (4xx)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    try:
        result = run()
    except NotFound:
        raise
    except ActionError as exc:
        fresh = access_customer(member, found.pk)
        response = render(
            request,
            "desk/customers/detail.html",
            profile_context(request, fresh, errors={form: error_text(exc)}),
        )
        response.status_code = exc.status
        return response
    target = result if isinstance(result, Customer) else found
    url = reverse("customer", args=[member.tenant.slug, target.pk])
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _attributes_from(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The attribute rows posted (key_N / value_N) back into a dict. A value shown unchanged keeps
    its original type (numbers stay numbers); edited values are text; an empty key drops the row."""
    keys = request.POST.getlist("attr_key")
    values = request.POST.getlist("attr_value")
    if len(keys) != len(values):
        raise Invalid(_("The attributes could not be read."), fields={"attributes": [_("Malformed.")]})
    result: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        key = key.strip()
        if not key:
            continue
        if len(key) > 100:
            raise Invalid(
                _("Attribute names are at most 100 characters."), fields={"attributes": [_("Too long.")]}
            )
        original = customer.attributes.get(key)
        if original is not None and attribute_value(original) == value:
            result[key] = original
        else:
            result[key] = value[:2000]
    if len(json.dumps(result)) > 50_000:
        raise Invalid(_("Too many attributes."), fields={"attributes": [_("Too large.")]})
    return result


@workspace_view
@require_POST
def update(request: HttpRequest, customer_id: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    found = access_customer(member, customer_id)

    def run() -> Any:
        changes: dict[str, Any] = {}
        if "name" in request.POST:
            changes["name"] = request.POST["name"].strip()[:200]
        if "language" in request.POST:
            language = request.POST["language"].strip().lower()
            if language and language not in SUPPORTED_LANGUAGES:
                raise Invalid(_("Unknown language."), fields={"language": [_("Unknown language.")]})
            changes["language"] = language
        if "preferred_contact_hours" in request.POST:
            changes["preferred_contact_hours"] = request.POST["preferred_contact_hours"].strip()[:100]
        if "preferred_reply_channel" in request.POST:
            value = request.POST["preferred_reply_channel"]
            try:
                changes["preferred_reply_channel"] = access_channel(member, value) if value else None
            except NotFound:
                raise Invalid(
                    _("Unknown channel."), fields={"preferred_reply_channel": [_("Unknown channel.")]}
                ) from None
        if "attr_key" in request.POST:
            changes["attributes"] = _attributes_from(request, found)
        return do_update_customer(member, found, changes)

    return _customer_act(
        request, found, (request.POST.get("form_id") == "attributes" and "attributes") or "profile", run
    )


@workspace_view
@require_POST
def add_identity(request: HttpRequest, customer_id: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    found = access_customer(member, customer_id)
    return _customer_act(
        request,
        found,
        "identity",
        lambda: do_add_identity(member, found, request.POST.get("kind", ""), request.POST.get("address", "")),
    )


@workspace_view
@require_POST
def remove_identity(request: HttpRequest, customer_id: int, identity_id: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    found = access_customer(member, customer_id)
    identity = access_identity(member, found, identity_id)
    return _customer_act(request, found, "identity", lambda: do_remove_identity(member, identity))


@workspace_view
@require_POST
def merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Merge another customer (`other`: "#id", an email or a phone number) into this one."""
    member: Membership = request.member  # type: ignore[attr-defined]
    found = access_customer(member, customer_id)

    def run() -> Any:
        value = request.POST.get("other", "").strip()
        other = _find_customer(member, value)
        if other is None:
            raise Invalid(
                _("No customer matches %(value)s.") % {"value": value[:100]},
                fields={"other": [_("Unknown customer.")]},
            )
        return do_merge_customers(member, other, found)

    return _customer_act(request, found, "merge", run)


def _find_customer(member: Membership, value: str) -> Customer | None:
    if not value:
        return None
    if value.lstrip("#").isdigit():
        try:
            return access_customer(member, value.lstrip("#"))
        except NotFound:
            return None
    for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
        try:
            address = normalize_identity(kind, value, member.tenant.country)
        except (InvalidAddress, ValueError):
            continue
        identity = (
            CustomerIdentity.objects.filter(tenant_id=member.tenant_id, kind=kind, address=address)
            .select_related("customer")
            .first()
        )
        if identity is not None:
            return identity.customer
    return None
