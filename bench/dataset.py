"""A shop with years of history, bulk-loaded for the benchmarks: 10k, 100k or 1M conversations.

Runs inside a configured Django process (bench/desk_bench.py's child). `Dataset.grow_to(n)` adds
conversations to the measured shop until it holds n, so one database is measured at 10k, then
grown to 100k and measured again, then to 1M.

What a shop of that size looks like (and why):
- **The present is the same size at every scale.** A shop with 1M conversations did not get a
  hundred times more open work than one with 10k: it has more *history*. So the first 10k carry the
  shop's current work — `CURRENT` conversations from the last two weeks: new, open, on hold and
  pending, most assigned, with due times — and every conversation added later is history (resolved
  or closed, spread over the three years before). "Flat from 10k to 1M" then measures what data
  size does to a page, not what a bigger backlog does.
- 20 agents in 3 teams; customers write 2.5 conversations each on average (one identity by
  email, a third also by phone); conversations started by email (55 %), chat (25 %) and the shop's
  API (20 %); 1 to 7 messages each (about 3), alternating customer / agent, 5 % internal notes;
  8 % of customer messages carry an attachment (metadata only: no file bytes are written).
- Text from bench/text.py: Polish and English with a Zipf-like word distribution.
- Four other shops hold 1 % each beside the measured one, so every query has tenants to scope out.

Rows are written with explicit primary keys in batches, one executemany per table (`_insert`:
each model's fields and defaults, values stored as Django stores them), and every database trigger
runs as on any insert: the search index is filled the way production fills it.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from text import LANGUAGES, TextMaker  # noqa: E402

CURRENT = 2000  # open work at any scale (capped at 20 % of the first stage)
AGENTS = 20
BATCH = 2000
POOL = 20_000
HISTORY_DAYS = 3 * 365
OTHER_SHOPS = 4


@dataclass
class Shop:
    tenant: Any
    owner: Any
    agents: list[Any]
    teams: list[Any]
    tags: list[Any]
    channels: dict[str, Any]
    next_customer: int = 0
    customers: list[tuple[int, str]] = field(default_factory=list)  # (id, language)


class Dataset:
    """The measured shop (`shop`) and its neighbours, grown in stages."""

    def __init__(self, *, seed: int = 7, now: dt.datetime | None = None) -> None:
        from django.utils import timezone

        from frontdesk.desk.models import Tenant

        self.rng = random.Random(seed)
        self.text = TextMaker(seed)
        self.now = now or timezone.now()
        self.long_conversation: int | None = None  # the number of the one with 200 messages
        self.size = 0
        if Tenant.objects.filter(slug="bench-rowery").exists():
            # A database kept from an earlier run (desk_bench.py --keep): go on from what it holds.
            self.shop = self._existing("bench-rowery")
            self.others = [self._existing(f"neighbour-{i}") for i in range(OTHER_SHOPS)]
            self.size = self.shop.tenant.conversations.count()
            self.long_conversation = 1
        else:
            self.shop = self._shop("Bench Rowery", "bench-rowery", agents=AGENTS)
            self.others = [
                self._shop(f"Neighbour {i}", f"neighbour-{i}", agents=2) for i in range(OTHER_SHOPS)
            ]
        self._ids = {"conversation": 0, "message": 0, "customer": 0, "identity": 0, "attachment": 0}
        self._start_ids()
        # Messages are drawn from pools of distinct texts: writing 3M texts word by word would take
        # most of the loading time. A pool of 20k per language keeps the word distribution (each
        # text is a sample of it) and gives the index as many distinct documents as it can tell apart.
        self.pool = {
            lang: [self.text.message(lang, sentences=(1, 5)) for _ in range(POOL)] for lang in LANGUAGES
        }
        self.subjects = {lang: [self.text.subject(lang) for _ in range(POOL // 4)] for lang in LANGUAGES}

    def _existing(self, slug: str) -> Shop:
        from frontdesk.desk.models import Customer, Tenant

        tenant = Tenant.objects.get(slug=slug)
        members = list(tenant.memberships.filter(role="agent").select_related("user").order_by("pk"))
        shop = Shop(
            tenant,
            tenant.memberships.get(role="owner"),
            members,
            list(tenant.teams.order_by("pk")),
            list(tenant.tags.order_by("pk")),
            {c.kind: c for c in tenant.channels.all()},
        )
        shop.customers = list(Customer.objects.filter(tenant=tenant).values_list("pk", "language"))
        return shop

    # --- set-up through the actions, as a real shop is made ---------------------------------------

    def _shop(self, name: str, slug: str, *, agents: int) -> Shop:
        from django.contrib.auth.hashers import make_password

        from frontdesk.desk.actions.admin import (
            do_add_member,
            do_create_channel,
            do_create_tenant,
            do_save_tag,
        )
        from frontdesk.desk.actions.admin import do_save_team
        from frontdesk.desk.models import Tenant, User

        password = make_password("bench-password")
        owner_user = User.objects.create(
            email=f"owner@{slug}.bench.example", name=f"{name} owner", password=password
        )
        tenant, owner = do_create_tenant(name, owner_user, languages=["pl", "en"], country="PL")
        Tenant.objects.filter(pk=tenant.pk).update(slug=slug)
        tenant.slug = slug
        members = []
        for i in range(agents):
            user = User.objects.create(
                email=f"agent{i}@{slug}.bench.example", name=f"Agent {i}", password=password
            )
            members.append(do_add_member(tenant, user, "agent", actor=owner))
        teams = [
            do_save_team(owner, None, name=team, members=members[i::3])
            for i, team in enumerate(("Zamówienia", "Serwis", "Zwroty"))
        ]
        tags = [do_save_tag(owner, None, name=f"tag-{i}") for i in range(10)]
        channels = {
            "email": do_create_channel(owner, "email", "Email", {"address": f"support@{slug}.bench.example"}),
            "chat": do_create_channel(owner, "chat", "Chat", {"allowed_origins": []}),
            "api": do_create_channel(owner, "api", "Shop API", {"webhook_url": ""}),
        }
        return Shop(tenant, owner, members, teams, tags, channels)

    def _start_ids(self) -> None:
        from django.db.models import Max

        from frontdesk.desk.models import Attachment, Conversation, Customer, CustomerIdentity, Message

        for key, model in (
            ("conversation", Conversation),
            ("message", Message),
            ("customer", Customer),
            ("identity", CustomerIdentity),
            ("attachment", Attachment),
        ):
            self._ids[key] = model.objects.aggregate(m=Max("pk"))["m"] or 0

    def _next(self, key: str, count: int = 1) -> int:
        first = self._ids[key] + 1
        self._ids[key] += count
        return first

    # --- growing ------------------------------------------------------------------------------------

    def grow_to(self, total: int, progress: Any = None) -> None:
        """Add conversations to the measured shop until it holds `total` (1 % more to each neighbour)."""
        first_stage = self.size == 0
        current = min(CURRENT, total // 5) if first_stage else 0
        added = 0
        todo = total - self.size
        if todo <= 0:
            return
        while added < todo:
            n = min(BATCH, todo - added)
            cur = max(0, min(n, current - added))
            self._batch(self.shop, n, current=cur, long=first_stage and added == 0)
            added += n
            if progress:
                progress(self.size + added, total)
        for other in self.others:
            self._batch(other, max(todo // 100, 10), current=max(todo // 2000, 2), long=False)
        self.size = total
        self._finish()

    def _batch(self, shop: Shop, count: int, *, current: int, long: bool) -> None:
        from django.db import transaction

        from frontdesk.desk.models import (
            Attachment,
            Conversation,
            Customer,
            CustomerIdentity,
            Message,
        )

        rng = self.rng
        tenant = shop.tenant
        customers: list[Any] = []
        identities: list[Any] = []
        conversations: list[Any] = []
        messages: list[Any] = []
        attachments: list[Any] = []
        tag_links: list[Any] = []
        # New customers: about one per 2.5 conversations; the rest are returning ones.
        for _ in range(max(1, int(count / 2.5))):
            cid = self._next("customer")
            lang = self.text.language()
            created = self.now - dt.timedelta(days=rng.uniform(0, HISTORY_DAYS))
            first = rng.choice(FIRST_NAMES[lang])
            last = rng.choice(LAST_NAMES[lang])
            customers.append(
                dict(
                    id=cid,
                    tenant=tenant,
                    name=f"{first} {last}",
                    language=lang,
                    created_at=created,
                    updated_at=created,
                )
            )
            identities.append(
                dict(
                    id=self._next("identity"),
                    tenant=tenant,
                    customer_id=cid,
                    kind="email",
                    address=f"{_ascii(first)}.{_ascii(last)}.{cid}@mail.bench.example".lower(),
                    created_at=created,
                )
            )
            if rng.random() < 0.33:
                identities.append(
                    dict(
                        id=self._next("identity"),
                        tenant=tenant,
                        customer_id=cid,
                        kind="phone",
                        address=f"+48{500000000 + cid}",
                        created_at=created,
                    )
                )
            shop.customers.append((cid, lang))
        number = tenant.last_conversation_number
        for i in range(count):
            number += 1
            conversation_id = self._next("conversation")
            customer_id, lang = rng.choice(shop.customers)
            is_current = i < current
            kind = rng.choices(("email", "chat", "api"), weights=(55, 25, 20))[0]
            channel = shop.channels[kind]
            is_long = long and i == 0
            if is_long:
                created = self.now - dt.timedelta(days=3)
                status, assignee = "open", shop.agents[0]
            elif is_current:
                created = self.now - dt.timedelta(hours=rng.uniform(0.2, 14 * 24))
                status = rng.choices(("new", "open", "on_hold", "pending"), weights=(30, 45, 5, 20))[0]
                assignee = rng.choice(shop.agents) if (status != "new" or rng.random() < 0.4) else None
            else:
                created = self.now - dt.timedelta(days=rng.uniform(14, 14 + HISTORY_DAYS))
                status = rng.choices(("resolved", "closed"), weights=(70, 30))[0]
                assignee = rng.choice(shop.agents) if rng.random() < 0.95 else None
            n_messages = 200 if is_long else min(1 + int(rng.expovariate(0.5)), 7)
            at = created
            first_response = None
            last_inbound = created
            for m in range(n_messages):
                inbound = m % 2 == 0
                note = not inbound and rng.random() < 0.05
                message_id = self._next("message")
                author = assignee or rng.choice(shop.agents)
                messages.append(
                    dict(
                        id=message_id,
                        tenant=tenant,
                        conversation_id=conversation_id,
                        direction="in" if inbound else ("note" if note else "out"),
                        channel=None if note else channel,
                        author_kind="customer" if inbound else "agent",
                        author=None if inbound else author,
                        customer_id=customer_id if inbound else None,
                        text=rng.choice(self.pool[lang])
                        + (f" ZAM-{rng.randint(100000, 999999)}" if inbound and rng.random() < 0.3 else ""),
                        language=lang,
                        provider_id=f"<{message_id}@mail.bench.example>"
                        if inbound and kind == "email"
                        else "",
                        delivery_state="" if inbound or note else "delivered",
                        created_at=at,
                        sent_at=at if inbound else None,
                    )
                )
                if inbound:
                    last_inbound = at
                    if rng.random() < 0.08:
                        attachments.append(
                            dict(
                                id=self._next("attachment"),
                                tenant=tenant,
                                message_id=message_id,
                                token=f"{rng.getrandbits(128):032x}",
                                file=f"attachments/{tenant.pk}/{at:%Y/%m}/{message_id}",
                                filename=rng.choice(
                                    ("zdjecie.jpg", "faktura.pdf", "photo.png", "paragon.pdf")
                                ),
                                content_type=rng.choice(("image/jpeg", "application/pdf", "image/png")),
                                size=rng.randint(20_000, 3_000_000),
                                created_at=at,
                            )
                        )
                elif first_response is None and not note:
                    first_response = at
                if m + 1 < n_messages:
                    span = 20 if is_long else (60 * 6 if is_current else 60 * 20)
                    at += dt.timedelta(minutes=rng.uniform(1 if is_long else 5, span))
            if is_current and at > self.now:
                at = self.now - dt.timedelta(minutes=rng.uniform(1, 30))
            waiting = last_inbound if (n_messages % 2 == 1 and status in ("new", "open")) else None
            due = dict(first_response_due=None, next_response_due=None, resolution_due=None)
            if is_current and status != "pending":
                if first_response is None:
                    due["first_response_due"] = created + dt.timedelta(hours=8)
                elif waiting is not None:
                    due["next_response_due"] = waiting + dt.timedelta(hours=8)
                due["resolution_due"] = created + dt.timedelta(days=5)
            conversations.append(
                dict(
                    id=conversation_id,
                    tenant=tenant,
                    number=number,
                    customer_id=customer_id,
                    channel=channel,
                    subject=rng.choice(self.subjects[lang]) if kind == "email" else "",
                    status=status,
                    priority=rng.choices(("normal", "high", "low", "urgent"), weights=(80, 12, 5, 3))[0],
                    assignee=assignee,
                    team=rng.choice(shop.teams) if rng.random() < 0.7 else None,
                    language=lang,
                    created_at=created,
                    updated_at=at,
                    last_message_at=at,
                    last_inbound_at=last_inbound,
                    waiting_since=waiting,
                    first_response_at=first_response,
                    resolved_at=at if status in ("resolved", "closed") else None,
                    sla_marks=[],
                    **due,
                )
            )
            if rng.random() < 0.2:
                tag_links.append(dict(conversation_id=conversation_id, tag_id=rng.choice(shop.tags).pk))
            if is_long:
                self.long_conversation = number
        with transaction.atomic():
            _insert(Customer, customers)
            _insert(CustomerIdentity, identities)
            _insert(Conversation, conversations)
            _insert(Message, messages)
            _insert(Attachment, attachments)
            _insert(Conversation.tags.through, tag_links)
            type(tenant).objects.filter(pk=tenant.pk).update(last_conversation_number=number)
        tenant.last_conversation_number = number

    def _finish(self) -> None:
        """PostgreSQL: move the sequences past the explicit ids; both: fresh planner statistics."""
        from django.db import connection

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in (
                    "desk_conversation",
                    "desk_message",
                    "desk_customer",
                    "desk_customeridentity",
                    "desk_attachment",
                ):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                    )
                cursor.execute("ANALYZE")
            else:
                cursor.execute("ANALYZE")


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (dicts by field name or attname; missing fields take their defaults) with one
    executemany: Django's bulk_create spends most of its time preparing values field by field,
    which at millions of rows is most of the loading time. Values are converted here as Django
    would store them (aware datetimes in UTC, JSON as text, model instances as their key)."""
    import json

    from django.db import connection
    from django.db.models import DateTimeField, JSONField, Model

    if not rows:
        return
    sqlite = connection.vendor == "sqlite"
    fields = model._meta.concrete_fields
    columns = []
    getters = []
    for f in fields:
        default = f.get_default()  # "" for text without a default, None for nullable ones
        if isinstance(f, JSONField):
            convert: Any = json.dumps
        elif isinstance(f, DateTimeField) and sqlite:
            convert = _sqlite_datetime
        else:
            convert = None
        columns.append(connection.ops.quote_name(f.column))
        getters.append((f.name, f.attname, default, convert))
    params = []
    for row in rows:
        values = []
        for name, attname, default, convert in getters:
            value = row[name] if name in row else row.get(attname, default)
            if isinstance(value, Model):
                value = value.pk
            elif value is not None and convert is not None:
                value = convert(value)
            values.append(value)
        params.append(values)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _sqlite_datetime(value: dt.datetime) -> str:
    # How Django's SQLite backend stores an aware datetime with USE_TZ: UTC, without the offset.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")


def _ascii(text: str) -> str:
    import unicodedata

    return (
        unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
        .encode("ascii", "ignore")
        .decode()
    )


FIRST_NAMES = {
    "pl": "Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Krystyna Zofia Łucja Piotr Krzysztof Andrzej "
    "Tomasz Paweł Michał Marcin Jakub Adam Łukasz Grzegorz Wojciech Jan Stanisław Józef".split(),
    "en": "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan Richard Jessica "
    "Joseph Sarah Thomas Karen Emma Oliver Amelia Harry Isla George".split(),
}
LAST_NAMES = {
    "pl": "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski "
    "Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski Pawłowski Michalski".split(),
    "en": "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Wood Harris Lewis Martin".split(),
}
