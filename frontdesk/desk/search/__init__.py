"""Search: find a tenant's conversations by reference number, customer, or words.

The one interface (used by the web UI and the REST API; keep it stable):

    search_conversations(tenant_id, query, *, limit=20, before=None) -> SearchPage

`query` is whatever was typed; nothing in it is syntax and no input raises anything but
`Invalid` for a malformed `before` cursor. What it finds, newest activity first
(Conversation.last_message_at, then id), always within the one tenant:
  - "#123": conversation number 123 only. "123": that conversation first, then everything else
    the digits match (order numbers in messages, a shop customer id).
  - an email address, a phone number (read in the tenant's country, stored as E.164) or a shop
    customer id: that customer's conversations.
  - words: conversations of customers whose name has all the words (prefix match), and
    conversations with a message (from the customer, a reply, or an internal note — agents see
    notes) or a subject containing all the words. Prefix matching ("paczk" finds "paczki"),
    case and diacritics ignored. On PostgreSQL with the Polish dictionary, inflected forms also
    match ("zwrot" finds "zwrotu", "paczka" finds "paczki"); see docs/search.md.
Conversations merged into another are found only by their number.

    SearchPage(hits: list[Hit], next_cursor: str | None, query: str)
    Hit(conversation: Conversation, matched: "number" | "customer" | "message",
        snippet_html: SafeString, message_id: int | None)
        .conversation_id, .number — shortcuts

`snippet_html` is safe HTML: escaped text with the matching words in <mark>…</mark>; render it
as is. `message_id` is the message the snippet comes from (None for number, customer and
subject matches). `conversation` comes with customer (and its identities), assignee.user, team
and channel loaded. Pass `next_cursor` as `before` for the next page; it is an opaque string.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any, Protocol, cast

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Conversation, Customer, CustomerIdentity, Tenant
from .query import ParsedQuery, Term, highlight, parse

__all__ = ["Hit", "SearchPage", "search_conversations"]

MAX_LIMIT = 100
_CURSOR = re.compile(r"([0-9]{1,19})_([0-9]{1,19})")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Hit:
    conversation: Conversation
    matched: str
    snippet_html: SafeString
    message_id: int | None = None

    @property
    def conversation_id(self) -> int:
        return self.conversation.pk

    @property
    def number(self) -> int:
        return self.conversation.number


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    next_cursor: str | None = None
    query: str = ""


def encode_cursor(conversation: Conversation) -> str:
    delta = conversation.last_message_at - _EPOCH
    microseconds = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{microseconds}_{conversation.pk}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """(last_message_at, id) from a cursor made by `encode_cursor`; Invalid when it is not one."""
    match = _CURSOR.fullmatch(str(cursor).strip())
    try:
        if match is None:
            raise ValueError(cursor)
        return _EPOCH + dt.timedelta(microseconds=int(match.group(1))), int(match.group(2))
    except (ValueError, OverflowError):
        raise Invalid(
            _("This page link is not valid."), code="invalid_cursor", fields={"before": [_("Not valid.")]}
        ) from None


class Backend(Protocol):
    """What sqlite.py and postgres.py provide. `prepared` is the backend's form of the terms."""

    def prepare(self, connection: BaseDatabaseWrapper, terms: Sequence[Term]) -> str: ...
    def conversation_ids_sql(self, tenant_id: int, prepared: str) -> tuple[str, list[Any]]: ...
    def customer_ids_sql(self, tenant_id: int, prepared: str) -> tuple[str, list[Any]]: ...
    def snippets(
        self,
        connection: BaseDatabaseWrapper,
        tenant_id: int,
        prepared: str,
        terms: Sequence[Term],
        conversation_ids: Sequence[int],
    ) -> dict[int, tuple[int, SafeString]]: ...
    def install(self, connection: BaseDatabaseWrapper) -> None: ...
    def rebuild(self, connection: BaseDatabaseWrapper) -> None: ...
    def uninstall(self, connection: BaseDatabaseWrapper) -> None: ...


def backend_for(db: BaseDatabaseWrapper) -> Backend:
    """The search backend of a database connection, chosen by its vendor."""
    if db.vendor == "postgresql":
        from . import postgres

        return cast(Backend, postgres)
    if db.vendor == "sqlite":
        from . import sqlite

        return cast(Backend, sqlite)
    raise NotImplementedError(f"No search backend for {db.vendor}")


def search_conversations(
    tenant_id: int, query: str, *, limit: int = 20, before: str | None = None
) -> SearchPage:
    """The tenant's conversations matching `query`, newest first. See the module docstring."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    cursor = decode_cursor(before) if before else None
    country = Tenant.objects.filter(pk=tenant_id).values_list("country", flat=True).first() or "PL"
    parsed = parse(query, country=country)
    if parsed.is_empty:
        return SearchPage(query=parsed.text)

    conversations = (
        Conversation.objects.filter(tenant_id=tenant_id)
        .select_related("customer", "assignee__user", "team", "channel")
        .prefetch_related("customer__identities")
    )
    # "123" puts conversation 123 first on the first page; "#123" asks for nothing else.
    pinned: Conversation | None = None
    if parsed.number is not None and cursor is None:
        pinned = conversations.filter(number=parsed.number).first()
    pinned_hits = [Hit(pinned, "number", highlight(pinned.subject, []))] if pinned else []
    if parsed.number_only:
        return SearchPage(hits=pinned_hits, query=parsed.text)

    backend = backend_for(connection)
    by_address = set(
        CustomerIdentity.objects.filter(tenant_id=tenant_id, address__in=parsed.addresses).values_list(
            "customer_id", flat=True
        )
    )
    prepared = backend.prepare(connection, parsed.terms) if parsed.terms else ""
    conditions = []
    if by_address:
        conditions.append(Q(customer_id__in=by_address))
    if prepared:
        # Subqueries filtered on the tenant inside the index query, never after a LIMIT.
        sql, params = backend.conversation_ids_sql(tenant_id, prepared)
        conditions.append(Q(pk__in=RawSQL(sql, params)))  # noqa: S611 - constant SQL, bound params
        sql, params = backend.customer_ids_sql(tenant_id, prepared)
        conditions.append(Q(customer_id__in=RawSQL(sql, params)))  # noqa: S611 - constant SQL, bound params
    if not conditions:
        return SearchPage(hits=pinned_hits, query=parsed.text)

    found = conversations.filter(reduce(or_, conditions), merged_into__isnull=True)
    if pinned is not None:
        found = found.exclude(pk=pinned.pk)
    if cursor is not None:
        at, pk = cursor
        found = found.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, pk__lt=pk))
    wanted = limit - len(pinned_hits)
    rows = list(found.order_by("-last_message_at", "-pk")[: wanted + 1])
    more = len(rows) > wanted
    rows = rows[:wanted]
    hits = pinned_hits + _explain(backend, tenant_id, parsed, prepared, rows, by_address)
    return SearchPage(
        hits=hits, next_cursor=encode_cursor(rows[-1]) if more and rows else None, query=parsed.text
    )


def _explain(
    backend: Backend,
    tenant_id: int,
    parsed: ParsedQuery,
    prepared: str,
    rows: list[Conversation],
    by_address: set[int],
) -> list[Hit]:
    """Why each conversation of the page matched, with its snippet."""
    by_name: set[int] = set()
    message_snippets: dict[int, tuple[int, SafeString]] = {}
    if prepared and rows:
        customer_ids = {c.customer_id for c in rows} - by_address
        if customer_ids:
            sql, params = backend.customer_ids_sql(tenant_id, prepared)
            by_name = set(
                Customer.objects.filter(pk__in=customer_ids)
                .filter(pk__in=RawSQL(sql, params))  # noqa: S611 - constant SQL, bound params
                .values_list("pk", flat=True)
            )
        ids = [c.pk for c in rows if c.customer_id not in by_address | by_name]
        message_snippets = backend.snippets(connection, tenant_id, prepared, parsed.terms, ids)

    hits = []
    for conversation in rows:
        customer = conversation.customer
        if conversation.customer_id in by_address:
            addresses = [i.address for i in customer.identities.all() if i.address in parsed.addresses]
            hits.append(Hit(conversation, "customer", _customer_snippet(customer.name, addresses, parsed)))
        elif conversation.customer_id in by_name:
            hits.append(Hit(conversation, "customer", _customer_snippet(customer.name, [], parsed)))
        elif conversation.pk in message_snippets:
            message_id, snippet = message_snippets[conversation.pk]
            hits.append(Hit(conversation, "message", snippet, message_id))
        else:
            # The subject matched.
            hits.append(Hit(conversation, "message", highlight(conversation.subject, parsed.terms)))
    return hits


def _customer_snippet(name: str, addresses: list[str], parsed: ParsedQuery) -> SafeString:
    parts: list[str] = [highlight(name, parsed.terms)] if name else []
    parts += [f"<mark>{html.escape(address)}</mark>" for address in addresses]
    return mark_safe(" · ".join(parts))  # highlight() and html.escape() escaped every part
