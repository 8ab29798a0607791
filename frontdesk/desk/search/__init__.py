"""Search: find a tenant's conversations by reference number, customer, or words.

The one interface (used by the web UI and the REST API; keep it stable):

    search_conversations(tenant_id, query, *, limit=20, before=None, order="newest") -> SearchPage

`query` is whatever was typed; nothing in it is syntax and no input raises anything but
`Invalid` for a malformed `before` cursor (or an unknown `order`). What it finds, always within
the one tenant:
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

In what order (`order`):
  - "newest" (the default): the newest match first. A conversation's place is that of its
    newest matching message, or, when it was found by its subject or its customer (name or
    address), of its first message — whichever is newer; messages by id, which is the order they
    arrived in. The conversation with the number typed ("123") first. Pages go through every
    match, each conversation once. Customers found by name: the newest BEST_MATCH_CANDIDATES.
    Read newest first from the index and stopped when the page is full (`_newest_first`), so a
    word in most of a million messages costs what a rare one does.
  - "best": best match first. The conversation with the number typed comes first, then those of
    the customer whose address (email, phone, shop customer id) was typed, newest activity first,
    then the rest by score: a conversation's score is that of its best-matching document (a
    message, note or reply, its subject, its customer's name) — BM25 on SQLite, ts_rank_cd on
    PostgreSQL — ties by newest activity. Only the BEST_MATCH_CANDIDATES newest matching
    documents of each kind (messages, subjects, names) are scored: when the words are in more
    documents than that, older ones do not take part (newest first still finds them). This keeps
    a search over a word in most of a million messages as cheap as one over a rare word.

    SearchPage(hits: list[Hit], next_cursor: str | None, query: str)
    Hit(conversation: Conversation, matched: "number" | "customer" | "message",
        snippet_html: SafeString, message_id: int | None)
        .conversation_id, .number — shortcuts

`snippet_html` is safe HTML: escaped text with the matching words in <mark>…</mark>; render it
as is. `message_id` is the message the snippet comes from (None for number, customer and
subject matches). `conversation` comes with customer (and its identities), assignee.user, team
and channel loaded. Pass `next_cursor` as `before` for the next page, with the same `order`; it
is an opaque string, made for one order (a cursor of the other order is Invalid). Newest first
pages by where its two streams of hits (messages; subjects and customers) stopped. Best match
pages by (tier, score, last_message_at, id) of the last hit: each page recomputes the scores and
continues after that key, so while the shop's messages stay as they are every conversation comes
once; a message arriving in between can shift a score slightly (the candidate set depends on what
is indexed), so a result may then rarely show on two pages or be skipped — as on any search ranked
by relevance.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Min
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Conversation, Customer, CustomerIdentity, Message, Tenant
from .query import ParsedQuery, Term, highlight, parse

__all__ = ["ORDERS", "Hit", "Order", "SearchPage", "search_conversations"]

MAX_LIMIT = 100
Order = Literal["newest", "best"]
ORDERS: tuple[Order, ...] = ("newest", "best")
# Best match scores at most this many of the newest matching documents of each kind (messages,
# subjects, customer names), so its cost does not grow with how common the words are.
BEST_MATCH_CANDIDATES = 500
_CURSOR = re.compile(r"n([0-9]{1,18}|x)_([0-9]{1,18}|x)")
# Best match: "b<tier>_<score>_<microseconds>_<id>", the score as Python writes a float.
_BEST_CURSOR = re.compile(
    r"b([01])_(-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:e[-+]?[0-9]{1,3})?)_([0-9]{1,19})_([0-9]{1,19})"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Best match tiers: the customer whose address was typed, then the rest by score.
_TIER_ADDRESS = 0
_TIER_SCORED = 1


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


def _microseconds(at: dt.datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _invalid_cursor() -> Invalid:
    return Invalid(
        _("This page link is not valid."), code="invalid_cursor", fields={"before": [_("Not valid.")]}
    )


def encode_cursor(positions: tuple[int | None, int | None]) -> str:
    """A newest-first position: where each stream (messages, titles) stopped; "x" for the start."""
    return "n" + "_".join("x" if p is None else str(p) for p in positions)


def decode_cursor(cursor: str) -> tuple[int | None, int | None]:
    """The positions of a cursor made by `encode_cursor`; Invalid when it is not one."""
    match = _CURSOR.fullmatch(str(cursor).strip())
    if match is None:
        raise _invalid_cursor()
    messages, titles = (None if g == "x" else int(g) for g in match.groups())
    return messages, titles


# A best-match position: (tier, -score, -microseconds of last_message_at, -id); smaller comes first.
BestKey = tuple[int, float, int, int]


def encode_best_cursor(key: BestKey) -> str:
    tier, negative_score, negative_microseconds, negative_pk = key
    return f"b{tier}_{-negative_score + 0.0!r}_{-negative_microseconds}_{-negative_pk}"


def decode_best_cursor(cursor: str) -> BestKey:
    """The position from a cursor made by `encode_best_cursor`; Invalid when it is not one."""
    match = _BEST_CURSOR.fullmatch(str(cursor).strip())
    try:
        if match is None:
            raise ValueError(cursor)
        score = float(match.group(2))
        microseconds = int(match.group(3))
        if not math.isfinite(score):
            raise ValueError(cursor)
        return int(match.group(1)), -score, -microseconds, -int(match.group(4))
    except (ValueError, OverflowError):
        raise _invalid_cursor() from None


class Backend(Protocol):
    """What sqlite.py and postgres.py provide. `prepared` is the backend's form of the terms."""

    def prepare(self, connection: BaseDatabaseWrapper, terms: Sequence[Term]) -> str: ...
    def message_hits(
        self, connection: BaseDatabaseWrapper, tenant_id: int, prepared: str, before: int | None, n: int
    ) -> list[tuple[int, int]]: ...
    def subject_hits(
        self, connection: BaseDatabaseWrapper, tenant_id: int, prepared: str, before: int | None, n: int
    ) -> list[int]: ...
    def customer_hits(
        self, connection: BaseDatabaseWrapper, tenant_id: int, prepared: str, cap: int
    ) -> list[int]: ...
    def newer_matches(
        self, connection: BaseDatabaseWrapper, tenant_id: int, prepared: str, after: Sequence[tuple[int, int]]
    ) -> set[tuple[int, int]]: ...
    def customer_ids_sql(self, tenant_id: int, prepared: str) -> tuple[str, list[Any]]: ...
    def ranked_documents(
        self, connection: BaseDatabaseWrapper, tenant_id: int, prepared: str, cap: int, terms: Sequence[Term]
    ) -> tuple[list[tuple[int, int, float]], list[tuple[int, float]], list[tuple[int, float]]]: ...
    def snippets(
        self,
        connection: BaseDatabaseWrapper,
        tenant_id: int,
        prepared: str,
        terms: Sequence[Term],
        conversation_ids: Sequence[int],
        chosen: Mapping[int, int] | None = None,
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
    tenant_id: int, query: str, *, limit: int = 20, before: str | None = None, order: str = "newest"
) -> SearchPage:
    """The tenant's conversations matching `query`, newest first or best match first.

    See the module docstring.
    """
    if order not in ORDERS:
        raise Invalid(
            _("Unknown order of results."), code="invalid_order", fields={"order": [_("Not valid.")]}
        )
    limit = max(1, min(int(limit), MAX_LIMIT))
    newest_cursor = decode_cursor(before) if before and order == "newest" else None
    best_cursor = decode_best_cursor(before) if before and order == "best" else None
    paged = newest_cursor is not None or best_cursor is not None
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
    if parsed.number is not None and not paged:
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
    if order == "best":
        return _best_match(
            backend, tenant_id, parsed, prepared, by_address, pinned_hits, limit=limit, cursor=best_cursor
        )
    return _newest_first(
        backend,
        tenant_id,
        parsed,
        prepared,
        by_address,
        pinned,
        pinned_hits,
        limit=limit,
        cursor=newest_cursor,
    )


# A hit in a stream: (key, conversation id, position in its stream).
Key = tuple[int, int, int]
# Hits read from a stream at a time, and at most this many batches for one page.
STREAM_BATCH = 50
MAX_ROUNDS = 20


class _Stream:
    """Hits of one kind, newest first, read from the database in batches as they are needed.

    `fetch(before, n)` returns hits (key, conversation id, position) with positions below `before`
    (None: from the newest), in descending position, and whether there may be more; `position`
    is that of the last hit taken, so a page's cursor can start the next page right after it."""

    def __init__(self, fetch: Callable[[int | None, int], tuple[list[Key], bool]], position: int | None):
        self.fetch = fetch
        self.position = position
        self._read_to = position
        self._buffer: deque[Key] = deque()
        self._more = True

    def head(self) -> Key | None:
        while not self._buffer and self._more:
            batch, self._more = self.fetch(self._read_to, STREAM_BATCH)
            self._buffer.extend(batch)
            if batch:
                self._read_to = batch[-1][2]
        return self._buffer[0] if self._buffer else None

    def take(self) -> Key:
        hit = self._buffer.popleft()
        self.position = hit[2]
        return hit


def _newest_first(
    backend: Backend,
    tenant_id: int,
    parsed: ParsedQuery,
    prepared: str,
    by_address: set[int],
    pinned: Conversation | None,
    pinned_hits: list[Hit],
    *,
    limit: int,
    cursor: tuple[int | None, int | None] | None,
) -> SearchPage:
    """A page of conversations in the order of their newest match (see the module docstring).

    Two streams are merged: matching messages (key: the message id) and conversations whose
    subject or customer matched (key: their first message's id), both newest first. A hit
    counts only if it is its conversation's newest: a message hit when the conversation has no
    newer matching message, a subject or customer hit when it has no matching message at all from
    its first one on; so each conversation comes once, at its newest match, on whichever page.
    Each batch of hits is checked in one query (`newer_matches`), and reading stops as soon as
    the page is full: a word in most of a million messages costs what a rare one does."""
    customers = set(by_address)
    if prepared:
        customers |= set(backend.customer_hits(connection, tenant_id, prepared, BEST_MATCH_CANDIDATES))
    if not prepared and not customers:
        return SearchPage(hits=pinned_hits, query=parsed.text)
    message_position, title_position = cursor or (None, None)

    def messages(before: int | None, n: int) -> tuple[list[Key], bool]:
        if not prepared:
            return [], False
        found = backend.message_hits(connection, tenant_id, prepared, before, n)
        return [(m, c, m) for m, c in found], len(found) == n

    def titles(before: int | None, n: int) -> tuple[list[Key], bool]:
        return _title_hits(backend, tenant_id, prepared, customers, before, n)

    streams = (_Stream(messages, message_position), _Stream(titles, title_position))
    skip = {pinned.pk} if pinned is not None else set()
    wanted = limit - len(pinned_hits)
    page: list[tuple[int, int | None]] = []  # (conversation id, message id or None)
    next_cursor: tuple[int | None, int | None] | None = None
    more = False
    for _round in range(MAX_ROUNDS):
        batch: list[tuple[int, int, int, tuple[int | None, int | None]]] = []
        while len(batch) < STREAM_BATCH:
            heads = [stream.head() for stream in streams]
            if heads[0] is None and heads[1] is None:
                break
            # The higher key first; on a tie the message (its conversation's first message).
            kind = 0 if heads[1] is None or (heads[0] is not None and heads[0][0] >= heads[1][0]) else 1
            key, conversation_id, _position = streams[kind].take()
            if conversation_id not in skip:
                batch.append((kind, key, conversation_id, (streams[0].position, streams[1].position)))
        if not batch:
            break
        # A message hit needs no newer match in its conversation; a title hit none from its key on.
        checked = [(c, k if kind == 0 else k - 1) for kind, k, c, _p in batch]
        newer = backend.newer_matches(connection, tenant_id, prepared, checked) if prepared else set()
        live = set(
            Conversation.objects.filter(
                tenant_id=tenant_id, pk__in={c for _k, _key, c, _p in batch}, merged_into__isnull=True
            ).values_list("pk", flat=True)
        )
        for (kind, key, conversation_id, positions), pair in zip(batch, checked, strict=True):
            if pair in newer or conversation_id in skip or conversation_id not in live:
                continue
            if len(page) == wanted:
                more = True
                break
            skip.add(conversation_id)
            page.append((conversation_id, key if kind == 0 else None))
            next_cursor = positions
        if more or all(stream.head() is None for stream in streams):
            break
    else:
        # Bounded work: a page cut short here continues where the reading stopped.
        more = True
        next_cursor = (streams[0].position, streams[1].position)

    loaded = _conversations(tenant_id, [c for c, _m in page])
    rows = [loaded[c] for c, _m in page if c in loaded]
    chosen = dict(page)
    hits = pinned_hits + _explain(backend, tenant_id, parsed, prepared, rows, by_address, chosen=chosen)
    return SearchPage(
        hits=hits,
        next_cursor=encode_cursor(next_cursor) if more and next_cursor is not None else None,
        query=parsed.text,
    )


def _title_hits(
    backend: Backend, tenant_id: int, prepared: str, customers: set[int], before: int | None, n: int
) -> tuple[list[Key], bool]:
    """(first message id, conversation id, conversation id) of conversations whose subject matches
    or whose customer is one of `customers`, conversation id below `before`, newest first.

    Two lists, each newest first, merged: what is below the last id of a full list may be missing
    items of that list, so only what is above both lists' ends is returned (at least one row)."""
    subjects = backend.subject_hits(connection, tenant_id, prepared, before, n) if prepared else []
    of_customers: list[int] = []
    if customers:
        found = Conversation.objects.filter(
            tenant_id=tenant_id, customer_id__in=customers, merged_into__isnull=True
        )
        if before is not None:
            found = found.filter(pk__lt=before)
        of_customers = list(found.order_by("-pk").values_list("pk", flat=True)[:n])
    floor = max([ids[-1] for ids in (subjects, of_customers) if len(ids) == n], default=0)
    ids = sorted({c for c in (*subjects, *of_customers) if c >= floor}, reverse=True)
    firsts = dict(
        Message.objects.filter(tenant_id=tenant_id, conversation_id__in=ids)
        .values("conversation_id")
        .annotate(first=Min("id"))
        .values_list("conversation_id", "first")
    )
    full = len(subjects) == n or len(of_customers) == n
    return [(firsts.get(c, 0), c, c) for c in ids], full


def _best_match(
    backend: Backend,
    tenant_id: int,
    parsed: ParsedQuery,
    prepared: str,
    by_address: set[int],
    pinned_hits: list[Hit],
    *,
    limit: int,
    cursor: BestKey | None,
) -> SearchPage:
    """A page of best-match results: every candidate is keyed, sorted, and the page taken after
    `cursor`. The candidates are bounded (BEST_MATCH_CANDIDATES documents of each kind, as many
    conversations of the customers found), so this is a few index queries and some sorting."""
    # conversation id → (score, id of the best-matching message or None for the subject)
    scored: dict[int, tuple[float, int | None]] = {}
    by_name: dict[int, float] = {}
    if prepared:
        messages, subjects, names = backend.ranked_documents(
            connection, tenant_id, prepared, BEST_MATCH_CANDIDATES, parsed.terms
        )
        for conversation_id, message_id, score in messages:
            if conversation_id not in scored or score > scored[conversation_id][0]:
                scored[conversation_id] = (float(score), message_id)
        for conversation_id, score in subjects:
            if conversation_id not in scored or score > scored[conversation_id][0]:
                scored[conversation_id] = (float(score), None)
        for customer_id, score in names:
            by_name[customer_id] = max(float(score), by_name.get(customer_id, -math.inf))

    # Conversations merged into another are found only by number; the one found by number is
    # first on the first page and never again.
    candidates = Conversation.objects.filter(tenant_id=tenant_id, merged_into__isnull=True)
    pinned_number = parsed.number
    if pinned_number is not None:
        candidates = candidates.exclude(number=pinned_number)
    fields = ("pk", "customer_id", "last_message_at")
    rows: set[tuple[int, int, dt.datetime]] = set()
    for ids in _chunks(list(scored), 500):
        rows.update(candidates.filter(pk__in=ids).values_list(*fields))
    customers = by_address | set(by_name)
    if customers:
        # A customer may have thousands of conversations: their newest ones, as many as the cap.
        rows.update(
            candidates.filter(customer_id__in=customers)
            .order_by("-last_message_at", "-pk")
            .values_list(*fields)[:BEST_MATCH_CANDIDATES]
        )

    keyed: list[tuple[BestKey, int]] = []
    for pk, customer_id, last_message_at in rows:
        if customer_id in by_address:
            tier, score = _TIER_ADDRESS, 0.0
        else:
            tier = _TIER_SCORED
            score = max(scored.get(pk, (-math.inf, None))[0], by_name.get(customer_id, -math.inf))
        keyed.append(((tier, -score, -_microseconds(last_message_at), -pk), pk))
    keyed.sort()
    if cursor is not None:
        keyed = [item for item in keyed if item[0] > cursor]
    wanted = limit - len(pinned_hits)
    page = keyed[:wanted]
    more = len(keyed) > wanted
    loaded = _conversations(tenant_id, [pk for _key, pk in page])
    conversations = [loaded[pk] for _key, pk in page if pk in loaded]
    # The snippet shows the best-matching document: that message, or the subject (None).
    best_documents = {pk: message_id for pk, (_score, message_id) in scored.items()}
    hits = pinned_hits + _explain(
        backend, tenant_id, parsed, prepared, conversations, by_address, chosen=best_documents
    )
    return SearchPage(
        hits=hits,
        next_cursor=encode_best_cursor(page[-1][0]) if more and page else None,
        query=parsed.text,
    )


def _conversations(tenant_id: int, ids: list[int]) -> dict[int, Conversation]:
    """The tenant's conversations by id, with what a hit shows loaded."""
    found = (
        Conversation.objects.filter(tenant_id=tenant_id, pk__in=ids)
        .select_related("customer", "assignee__user", "team", "channel")
        .prefetch_related("customer__identities")
    )
    return {c.pk: c for c in found}


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _explain(
    backend: Backend,
    tenant_id: int,
    parsed: ParsedQuery,
    prepared: str,
    rows: list[Conversation],
    by_address: set[int],
    chosen: Mapping[int, int | None] | None = None,
) -> list[Hit]:
    """Why each conversation of the page matched, with its snippet.

    The snippet is from the conversation's newest matching message, or from what is `chosen` for
    it (conversation id → message id, or None for its subject): best match shows the document
    that gave the conversation its score."""
    chosen = chosen or {}
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
        ids = [
            c.pk
            for c in rows
            if c.customer_id not in by_address | by_name and not (c.pk in chosen and chosen[c.pk] is None)
        ]
        messages = {pk: message_id for pk in ids if (message_id := chosen.get(pk)) is not None}
        message_snippets = backend.snippets(connection, tenant_id, prepared, parsed.terms, ids, messages)

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
