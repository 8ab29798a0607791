"""Building the demo shop through the same actions the product uses, then moving it into the past.

Everything is created by desk.actions (tenants, members, teams, tags, channels, inbound messages,
replies, notes, assignments, statuses, snoozes, merges), so the data is exactly what the product
would produce. The actions stamp everything "now"; afterwards the timestamps of messages, events,
deliveries and conversations are rewritten to a timeline spread over the last weeks. Replies are
marked as already sent so no worker tries to deliver them. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from frontdesk.channels.base import InboundContact, InboundMessage

from ..actions.acknowledge import customer_zone, language_of, when_words
from ..actions.admin import (
    do_add_member,
    do_create_channel,
    do_create_tenant,
    do_save_tag,
    do_save_team,
    do_update_member,
)
from ..actions.calendars import business_calendar
from ..actions.conversations import (
    do_add_note,
    do_assign,
    do_merge,
    do_reply,
    do_set_priority,
    do_set_reply_channel,
    do_set_status,
    do_set_tags,
    do_snooze,
)
from ..actions.inbound import do_receive_inbound
from ..actions.promise import compute_promise
from ..actions.sla import compute_from_creation, matching_policy
from ..models import (
    AuthorKind,
    BusinessCalendar,
    CalendarDay,
    Callback,
    CallbackAttempt,
    CallbackOutcome,
    CallbackState,
    Channel,
    Conversation,
    Customer,
    CustomerIdentity,
    Delivery,
    DeliveryState,
    DeliveryStatus,
    Direction,
    Event,
    Membership,
    Message,
    Priority,
    Role,
    SlaPolicy,
    Status,
    Tag,
    Team,
    Tenant,
    User,
)
from ..models.conversations import ACTIVE_STATUSES
from . import people, stories
from .stories import Lines, Topic

TIME_ZONE = zoneinfo.ZoneInfo("Europe/Warsaw")
HISTORY_DAYS = 60
CITIES = ("Kraków", "Warszawa", "Poznań", "Gdańsk", "Wrocław", "Łódź", "Lublin", "Katowice", "Szczecin")
# Hours at which customers write (weights 0–23): mornings, lunch, and the evening peak after work.
CUSTOMER_HOURS = (1, 0, 0, 0, 0, 0, 1, 3, 5, 6, 6, 6, 7, 6, 6, 6, 6, 7, 8, 9, 10, 9, 6, 3)
# The shop's opening hours (minutes after local midnight): Mon–Fri 08:00–18:00, Sat 09:00–14:00.
SHOP_WEEK = [[[480, 1080]]] * 5 + [[[540, 840]], []]
# The acknowledgement leaves this long after the customer's message arrived.
ACK_DELAY = dt.timedelta(seconds=3)


@dataclass
class Person:
    """A customer of the demo shop (before they exist in the database)."""

    first: str
    last: str
    language: str
    email: str
    phone: str
    external_id: str
    vip: bool
    conversations: int = 0

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Plan:
    """One conversation to create: who, what about, how it ends, when it starts."""

    index: int
    person: Person
    topic: Topic
    language: str
    channel: str  # "api" | "form" | "email" | "chat"
    start: dt.datetime
    outcome: str
    slots: dict[str, str]
    # Which opening the customer wrote; the answers that fit it are chosen by the same index.
    variant: int = 0


@dataclass
class Timeline:
    """What happened in one conversation and when, to move the rows into the past."""

    messages: dict[int, dt.datetime] = field(default_factory=dict)
    inbound: list[dt.datetime] = field(default_factory=list)
    replies: list[dt.datetime] = field(default_factory=list)
    waiting_since: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    first: dt.datetime | None = None
    last: dt.datetime | None = None


@dataclass
class DemoResult:
    tenant: Tenant
    logins: list[tuple[str, str, str]]
    conversations: int
    customers: int


class _Slots(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class DemoBuilder:
    def __init__(self, *, conversations: int, seed: int, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.seed = seed
        self.count = conversations
        self.now = now or timezone.now()
        self.setup_time = self.now - dt.timedelta(days=HISTORY_DAYS + 30)
        # When, in the story, the action running now happens; and when each event it recorded did.
        self.moment = self.setup_time
        self.event_moments: dict[int, dt.datetime] = {}
        self.timelines: dict[int, Timeline] = {}
        self.used_orders: set[str] = set()
        # The conversation each plan opened, so that the customer's next messages continue it.
        self.opened: dict[int, Conversation] = {}
        self.keys = 0
        # The acknowledgement messages the inbound path sent: message id -> the conversation's id.
        self.acks: dict[int, int] = {}

    # --- the shop -------------------------------------------------------------------------------

    def build(self) -> DemoResult:
        post_save.connect(self._event_saved, sender=Event, dispatch_uid="demo-builder-events")
        try:
            with _quiet_realtime(), transaction.atomic():
                tenant = self._shop()
                self._service_promise(tenant)
                for plan in self._plans():
                    self._conversation(plan)
                self._backdate(tenant)
                self._service_times(tenant)
                self._callbacks(tenant)
        finally:
            post_save.disconnect(sender=Event, dispatch_uid="demo-builder-events")
        logins = [(s.email, str(Role(s.role).label), s.name) for s in people.STAFF]
        customers = Customer.objects.filter(tenant=tenant, merged_into=None).count()
        return DemoResult(
            tenant=tenant,
            logins=logins,
            conversations=Conversation.objects.filter(tenant=tenant).count(),
            customers=customers,
        )

    def _shop(self) -> Tenant:
        # One hash for all: hashing a password takes a noticeable fraction of a second each.
        password = make_password(people.DEMO_PASSWORD)
        users = {}
        for staff in people.STAFF:
            user = User(
                email=staff.email,
                name=staff.name,
                language=staff.languages[0],
                time_zone="Europe/Warsaw",
                date_joined=self.setup_time,
            )
            user.password = password
            user.save()
            users[staff.email] = user
        owner_staff = people.STAFF[0]
        tenant, owner = self._at(
            self.setup_time,
            do_create_tenant,
            people.SHOP_NAME,
            users[owner_staff.email],
            time_zone="Europe/Warsaw",
            languages=["pl", "en"],
            country="PL",
        )
        self.tenant = tenant
        self.owner = owner
        self.members: dict[str, Membership] = {owner_staff.email: owner}
        for staff in people.STAFF[1:]:
            self.members[staff.email] = self._at(
                self.setup_time, do_add_member, tenant, users[staff.email], staff.role, actor=owner
            )
        for staff in people.STAFF:
            member = self.members[staff.email]
            self._at(self.setup_time, do_update_member, owner, member, {"languages": list(staff.languages)})
            availability = self.rng.choice(("online", "online", "away", "offline"))
            self._at(self.setup_time, do_update_member, member, member, {"availability": availability})
        self.teams: dict[str, Team] = {}
        for key, (name, description) in people.TEAMS.items():
            members = [self.members[s.email] for s in people.STAFF if key in s.teams]
            self.teams[key] = self._at(
                self.setup_time,
                do_save_team,
                owner,
                None,
                name=name,
                description=description,
                members=members,
            )
        self.tags: dict[str, Tag] = {}
        for name, color in people.TAGS:
            self.tags[name] = self._at(self.setup_time, do_save_tag, owner, None, name=name, color=color)
        self.api = self._at(
            self.setup_time, do_create_channel, owner, "api", "Sklep internetowy (API)", {"webhook_url": ""}
        )
        self.email = self._at(
            self.setup_time,
            do_create_channel,
            owner,
            "email",
            "Poczta obsługi klienta",
            # Mail arrives through the built-in receiver (MX) and replies leave through the
            # installation's mail settings (files under var/mail in the demo).
            {"address": "obsluga@rowerownia.example", "from_name": "Rowerownia – obsługa klienta"},
        )
        self.form = self._at(
            self.setup_time,
            do_create_channel,
            owner,
            "form",
            "Formularz kontaktowy",
            {
                "title": "Napisz do Rowerowni",
                "intro": (
                    "Odpowiadamy w dni robocze w ciągu kilku godzin. Podaj numer zamówienia, jeśli go masz."
                ),
            },
        )
        self.chat = self._at(
            self.setup_time,
            do_create_channel,
            owner,
            "chat",
            "Czat na stronie",
            {
                "greeting": {"pl": "Cześć! W czym możemy pomóc?", "en": "Hi! How can we help?"},
                "launcher_text": {"pl": "Napisz do nas", "en": "Chat with us"},
                "invitations": [
                    {
                        "id": "koszyk",
                        "trigger": "cart",
                        "url_pattern": "*koszyk*",
                        "seconds": 15,
                        "text": {
                            "pl": "Masz pytania o zamówienie? Chętnie pomożemy.",
                            "en": "Questions about your order? We're happy to help.",
                        },
                    }
                ],
            },
        )
        self.agents = {
            key: [self.members[s.email] for s in people.STAFF if key in s.teams and s.role == Role.AGENT]
            for key in people.TEAMS
        }
        self.supervisor = next(self.members[s.email] for s in people.STAFF if s.role == Role.SUPERVISOR)
        return tenant

    # --- planning -------------------------------------------------------------------------------

    def _person(self, language: str) -> Person:
        rng = self.rng
        if language == "pl":
            woman = rng.random() < 0.5
            first = rng.choice(people.POLISH_WOMEN if woman else people.POLISH_MEN)
            last = rng.choice(people.POLISH_SURNAMES)
            last = people.feminine(last) if woman else last
        else:
            first = rng.choice(people.ENGLISH_WOMEN + people.ENGLISH_MEN)
            last = rng.choice(people.ENGLISH_SURNAMES)
        local = _ascii(f"{first}.{last}" if rng.random() < 0.6 else f"{first[0]}{last}").lower()
        local = local.replace("'", "")
        email = (
            f"{local}{rng.randint(1, 99) if rng.random() < 0.4 else ''}@{rng.choice(people.EMAIL_DOMAINS)}"
        )
        phone = ""
        if rng.random() < 0.6:
            prefix = rng.choice(("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88"))
            phone = f"+48{prefix}{rng.randint(0, 9_999_999):07d}"
        external_id = f"KL-{rng.randint(10000, 99999)}"
        return Person(first, last, language, email, phone, external_id, vip=rng.random() < 0.08)

    def _plans(self) -> list[Plan]:
        rng = self.rng
        starts = sorted(self._start_time() for _ in range(self.count))
        persons: list[Person] = []
        plans = []
        weights = [t.weight for t in stories.TOPICS]
        for index, start in enumerate(starts):
            language = "pl" if rng.random() < 0.72 else "en"
            returning = [p for p in persons if p.language == language]
            if returning and rng.random() < 0.2:
                person = rng.choice(returning)
            else:
                person = self._person(language)
                persons.append(person)
            person.conversations += 1
            topic = rng.choices(stories.TOPICS, weights=weights)[0]
            plans.append(
                Plan(
                    index=index,
                    person=person,
                    topic=topic,
                    language=language,
                    channel=rng.choices(("api", "email", "form", "chat"), weights=(35, 30, 20, 15))[0],
                    start=start,
                    outcome=self._outcome(start),
                    slots=self._slots(person, topic, language, start),
                )
            )
        return plans

    def _start_time(self) -> dt.datetime:
        rng = self.rng
        # More conversations lately than two months ago (the shop is growing, and it is spring).
        days_ago = HISTORY_DAYS * rng.random() ** 1.35
        day = (self.now - dt.timedelta(days=days_ago)).astimezone(TIME_ZONE).date()
        hour = rng.choices(range(24), weights=CUSTOMER_HOURS)[0]
        moment = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), TIME_ZONE)
        if moment > self.now - dt.timedelta(minutes=10):
            moment = self.now - dt.timedelta(minutes=rng.randint(10, 300))
        return moment

    def _outcome(self, start: dt.datetime) -> str:
        age = (self.now - start).total_seconds() / 86400
        if age < 0.5:
            weights = {"new": 6, "open": 2, "pending": 2}
        elif age < 3:
            weights = {"new": 2, "open": 3, "pending": 4, "on_hold": 1, "resolved": 2}
        elif age < 10:
            weights = {"open": 1, "pending": 2, "on_hold": 2, "resolved": 6, "closed": 1}
        else:
            weights = {"pending": 1, "on_hold": 1, "resolved": 5, "closed": 8}
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _slots(self, person: Person, topic: Topic, language: str, start: dt.datetime) -> dict[str, str]:
        rng = self.rng
        _kind, nominative, accusative, english = rng.choice(
            [p for p in stories.PRODUCTS if p[0] in topic.kinds]
        )
        order = f"RW-{rng.randint(10000, 99999)}"
        while order in self.used_orders:
            order = f"RW-{rng.randint(10000, 99999)}"
        self.used_orders.add(order)
        ordered = (start - dt.timedelta(days=rng.randint(2, 12))).astimezone(TIME_ZONE)
        if "boots" in english:
            size = rng.choice(stories.SIZES[:8])
            size_new = str(int(size) + rng.choice((-1, 1)))
        else:
            size = rng.choice(stories.SIZES[8:])
            letters = stories.SIZES[8:]
            size_new = letters[min(len(letters) - 1, max(0, letters.index(size) + rng.choice((-1, 1))))]
            if size_new == size:
                size_new = letters[1] if size != letters[1] else letters[2]
        zloty = rng.choice((49, 89, 129, 199, 249, 349, 459, 899, 1249, 2399, 3199))
        grosze = rng.choice(("00", "99", "90"))
        nip = f"{rng.randint(100, 999)}{rng.randint(100, 999)}{rng.randint(10, 99)}{rng.randint(10, 99)}"
        tracking = f"{rng.randint(10**11, 10**12 - 1)}"
        return _Slots(
            order=order,
            product=nominative if language == "pl" else english,
            product_acc=accusative,
            courier=rng.choice(stories.COURIERS),
            locker=rng.choice(stories.LOCKERS),
            days=str(rng.randint(3, 12)),
            code=rng.choice(stories.CODES),
            amount=f"{zloty},{grosze} zł" if language == "pl" else f"PLN {zloty}.{grosze}",
            size=size,
            size_new=size_new,
            nip=f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}",
            nip_plain=nip,
            date=ordered.strftime("%d.%m") if language == "pl" else ordered.strftime("%d %B"),
            city=rng.choice(CITIES),
            rma=f"RMA-{rng.randint(1000, 9999)}",
            tracking=tracking,
            tracking_short=tracking[-5:],
            first=person.first,
            last=person.last,
        )

    # --- writing the conversations --------------------------------------------------------------

    def _conversation(self, plan: Plan) -> None:
        rng = self.rng
        lines: Lines = getattr(plan.topic, plan.language)
        slots = plan.slots
        timeline = Timeline()
        clock = Clock(plan.start, self.now, rng)

        subject = _fill(rng.choice(lines.subjects), slots)
        plan.variant = rng.randrange(len(lines.openings))
        opening = self._customer_text(plan, lines.openings[plan.variant])
        conversation = self._inbound(plan, timeline, clock.now, opening, subject=subject)
        self.timelines[conversation.pk] = timeline
        team = self.teams[plan.topic.team]
        agents = self.agents[plan.topic.team]
        if plan.language == "en":
            emily = [a for a in agents if a.user.email.startswith("emily")]
            agents = emily * 3 + agents if emily else agents
        agent = rng.choice(agents)
        assigner = rng.choice((self.supervisor, agent))

        if rng.random() < 0.25:
            follow = self._customer_text(plan, rng.choice(lines.follow_ups), greet=False)
            self._inbound(plan, timeline, clock.customer(), follow)

        if plan.outcome == "new":
            if rng.random() < 0.4:
                self._at(clock.agent(), do_assign, self.supervisor, conversation, team=team)
            self._classify(plan, conversation, assigner, clock)
            timeline.last = clock.now
            return

        self._at(clock.agent(), do_assign, assigner, conversation, assignee=agent, team=team)
        self._classify(plan, conversation, agent, clock)
        if plan.channel == "api" and rng.random() < 0.75:
            # The customer asked for answers by email (the status page lets them choose).
            self._at(clock.now, do_set_reply_channel, None, conversation, self.email)
        if rng.random() < 0.45:
            self._note(plan, conversation, agent, lines, clock.agent(short=True), timeline)

        self._story(plan, conversation, agent, lines, clock, timeline)
        timeline.last = clock.now

    def _story(
        self,
        plan: Plan,
        conversation: Conversation,
        agent: Membership,
        lines: Lines,
        clock: Clock,
        timeline: Timeline,
    ) -> None:
        """From the agent's first answer to the outcome planned for the conversation."""
        rng = self.rng
        if plan.outcome == "open" and rng.random() < 0.3:
            self._at(clock.agent(short=True), do_set_status, agent, conversation, Status.OPEN)
            return

        self._reply(plan, conversation, agent, _answer(lines.replies, plan), clock.agent(), timeline)
        if plan.outcome == "pending":
            if rng.random() < 0.2:
                self._at(clock.now, do_snooze, agent, conversation, self._snooze_until())
            return
        if plan.outcome == "open":
            follow = self._customer_text(plan, rng.choice(lines.follow_ups), greet=False)
            self._inbound(plan, timeline, clock.customer(), follow)
            return
        if plan.outcome == "on_hold":
            self._note(plan, conversation, agent, lines, clock.agent(short=True), timeline)
            self._at(clock.now, do_set_status, agent, conversation, Status.ON_HOLD)
            if rng.random() < 0.3:
                self._at(clock.now, do_snooze, agent, conversation, self._snooze_until())
            return

        # Resolved or closed: sometimes one more round before the answer that settles it.
        if rng.random() < 0.45:
            follow = self._customer_text(plan, rng.choice(lines.follow_ups), greet=False)
            self._inbound(plan, timeline, clock.customer(), follow)
            if rng.random() < 0.3:
                self._note(plan, conversation, agent, lines, clock.agent(short=True), timeline)
        closing = _answer(lines.closing_replies, plan)
        # What settles it (a refund booked, a parcel delivered) takes a while to happen.
        clock.later(days=rng.uniform(0.2, 2.5))
        if rng.random() < 0.6:
            self._reply(plan, conversation, agent, closing, clock.agent(), timeline)
            thanks = self._customer_text(plan, rng.choice(lines.thanks), greet=False)
            self._inbound(plan, timeline, clock.customer(), thanks)
            self._at(clock.agent(short=True), do_set_status, agent, conversation, Status.RESOLVED)
        else:
            self._reply(plan, conversation, agent, closing, clock.agent(), timeline, status=Status.RESOLVED)
        timeline.resolved_at = clock.now
        if plan.outcome == "closed":
            self._at(clock.later(days=rng.uniform(2, 7)), do_set_status, agent, conversation, Status.CLOSED)
        if plan.channel == "form" and plan.outcome == "closed" and rng.random() < 0.15:
            self._duplicate(plan, conversation, agent, clock, timeline)

    def _classify(self, plan: Plan, conversation: Conversation, member: Membership, clock: Clock) -> None:
        """Tags and priority, as an agent would set them on reading the first message."""
        names = list(plan.topic.tags)
        if plan.person.vip or plan.person.conversations >= 3:
            names.append("vip")
        if names and self.rng.random() < 0.85:
            self._at(clock.now, do_set_tags, member, conversation, [self.tags[n] for n in names])
        priority = self.rng.choices(
            (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT), weights=plan.topic.priorities
        )[0]
        if priority != Priority.NORMAL:
            self._at(clock.now, do_set_priority, member, conversation, priority)

    def _duplicate(
        self, plan: Plan, original: Conversation, agent: Membership, clock: Clock, timeline: Timeline
    ) -> None:
        """The customer wrote again through the form instead of answering: merged into the first."""
        text = (
            f"Piszę ponownie w sprawie zamówienia {plan.slots['order']}, proszę o odpowiedź."
            if plan.language == "pl"
            else f"Writing again about order {plan.slots['order']}, please reply."
        )
        # Placed before the first reply so that the merge tells the same story as the thread.
        moment = min(clock.now, (timeline.replies or [clock.now])[0]) - dt.timedelta(minutes=20)
        moment = max(moment, timeline.first or moment)
        duplicate_timeline = Timeline()
        duplicate = self._inbound(plan, duplicate_timeline, moment, text, subject=text[:60], new_thread=True)
        self.timelines[duplicate.pk] = duplicate_timeline
        self._at(clock.now, do_merge, agent, duplicate, original)
        timeline.messages.update(duplicate_timeline.messages)
        timeline.inbound.append(moment)
        duplicate_timeline.resolved_at = duplicate_timeline.last = clock.now

    def _snooze_until(self) -> dt.datetime:
        return self.now + dt.timedelta(hours=self.rng.randint(3, 96))

    def _customer_text(self, plan: Plan, body: str, *, greet: bool = True) -> str:
        rng = self.rng
        parts = []
        if greet:
            parts.append(rng.choice(stories.CUSTOMER_GREETINGS[plan.language]))
        parts.append(body)
        parts.append(rng.choice(stories.CUSTOMER_SIGNATURES[plan.language]))
        return _fill("\n\n".join(p for p in parts if p), plan.slots)

    def _agent_text(self, plan: Plan, agent: Membership, body: str) -> str:
        rng = self.rng
        slots = _Slots(plan.slots)
        slots["agent"] = agent.user.name.split()[0]
        greeting = rng.choice(stories.GREETINGS[plan.language])
        sign_off = rng.choice(stories.SIGN_OFFS[plan.language])
        return _fill(f"{greeting}\n\n{body}\n\n{sign_off}", slots)

    def _inbound(
        self,
        plan: Plan,
        timeline: Timeline,
        moment: dt.datetime,
        text: str,
        *,
        subject: str = "",
        new_thread: bool = False,
    ) -> Conversation:
        person = plan.person
        self.keys += 1
        key = f"demo-{self.seed}-{self.keys}"
        channel = {"api": self.api, "email": self.email, "form": self.form, "chat": self.chat}[plan.channel]
        existing = None if new_thread else self.opened.get(plan.index)
        number = existing.number if existing else None
        if plan.channel == "api":
            contact = InboundContact(
                name=person.name,
                email=person.email,
                phone=person.phone,
                external_id=person.external_id,
                language=person.language,
                attributes={
                    "segment": "vip" if person.vip else "regular",
                    "orders": person.conversations + 1,
                },
            )
            # The shop's backend threads by its own order id.
            inbound = InboundMessage(
                dedupe_key=key,
                contact=contact,
                text=text,
                subject=subject,
                sent_at=moment,
                external_thread_id=plan.slots["order"] + ("-2" if new_thread else ""),
                language=plan.language,
            )
        elif plan.channel == "chat":
            # A visitor of the shop's site who left their name and email in the pre-chat form.
            visitor = f"vdemo{self.seed}x{plan.index}"
            inbound = InboundMessage(
                dedupe_key=f"{visitor}:{key}",
                contact=InboundContact(
                    name=person.name,
                    email=person.email,
                    language=person.language,
                    identities=[("visitor", visitor)],
                ),
                text=text,
                sent_at=moment,
                conversation_number=number,
                language=plan.language,
            )
        else:
            contact = InboundContact(
                name=person.name, email=person.email, phone=person.phone, language=person.language
            )
            inbound = InboundMessage(
                # Mail is deduplicated by its Message-ID.
                dedupe_key=f"<{key}@poczta.example>" if plan.channel == "email" else key,
                contact=contact,
                text=text,
                subject=subject,
                sent_at=moment,
                conversation_number=number,
                language=plan.language,
            )
        result = self._at(moment, do_receive_inbound, channel, inbound)
        conversation = result.conversation
        if not new_thread:
            self.opened.setdefault(plan.index, conversation)
        timeline.messages[result.message.pk] = moment
        # The acknowledgement the inbound path queued in the same transaction: seconds later in the
        # story, so the thread reads "message, acknowledgement" as the customer saw it.
        acks = Message.objects.filter(
            conversation=conversation,
            pk__gt=result.message.pk,
            direction=Direction.OUT,
            author_kind=AuthorKind.SYSTEM,
        ).values_list("pk", flat=True)
        for pk in acks:
            timeline.messages[pk] = moment + ACK_DELAY
            self.acks[pk] = conversation.pk
        timeline.inbound.append(moment)
        timeline.waiting_since = timeline.waiting_since or moment
        return conversation

    def _reply(
        self,
        plan: Plan,
        conversation: Conversation,
        agent: Membership,
        body: str,
        moment: dt.datetime,
        timeline: Timeline,
        *,
        status: str | None = None,
    ) -> None:
        message = self._at(
            moment, do_reply, agent, conversation, self._agent_text(plan, agent, body), status=status
        )
        timeline.messages[message.pk] = moment
        timeline.replies.append(moment)
        timeline.waiting_since = None

    def _note(
        self,
        plan: Plan,
        conversation: Conversation,
        agent: Membership,
        lines: Lines,
        moment: dt.datetime,
        timeline: Timeline,
    ) -> None:
        colleagues = [m for m in self.members.values() if m.pk != agent.pk and m.role != Role.OWNER]
        colleague = self.rng.choice(colleagues)
        slots = _Slots(plan.slots)
        slots["mention"] = "@" + colleague.user.email.split("@")[0]
        # Notes are written in the shop's language, whatever the customer's.
        note_lines: Lines = plan.topic.pl if self.rng.random() < 0.8 else lines
        text = _fill(self.rng.choice(note_lines.notes), slots)
        message = self._at(moment, do_add_note, agent, conversation, text)
        timeline.messages[message.pk] = moment

    # --- time ----------------------------------------------------------------------------------

    def _at(self, moment: dt.datetime, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an action; what it records is dated `moment` in the demo's story."""
        self.moment = moment
        return action(*args, **kwargs)

    def _event_saved(self, sender: Any, instance: Event, created: bool, **kwargs: Any) -> None:
        if created:
            self.event_moments[instance.pk] = self.moment

    def _backdate(self, tenant: Tenant) -> None:
        """Move every row the actions stamped "now" to the moment it happened in the story."""
        _update(Event, ["created_at"], [(moment, pk) for pk, moment in self.event_moments.items()])

        moments: dict[int, dt.datetime] = {}
        for timeline in self.timelines.values():
            moments.update(timeline.messages)
        rows = Message.objects.filter(tenant=tenant).values_list("id", "direction", "delivery_state")
        updates = []
        for pk, direction, state in rows:
            moment = moments.get(pk)
            if moment is None:
                continue
            sent_at = moment - dt.timedelta(seconds=self.rng.randint(5, 90)) if direction == "in" else None
            state = DeliveryState.SENT if direction == "out" else state
            updates.append((moment, sent_at, state, pk))
        _update(Message, ["created_at", "sent_at", "delivery_state"], updates)

        deliveries = Delivery.objects.filter(tenant=tenant).values_list("id", "message_id")
        sent_rows: list[tuple[Any, ...]] = []
        for pk, message_id in deliveries:
            moment = moments.get(message_id, self.now)
            sent = moment + dt.timedelta(seconds=self.rng.randint(1, 20))
            sent_rows.append((moment, moment, sent, DeliveryStatus.SENT, 1, f"demo-{pk}", pk))
        _update(
            Delivery,
            ["created_at", "next_attempt_at", "sent_at", "status", "attempts", "provider_id"],
            sent_rows,
        )
        _finish_delivery_tasks([row[-1] for row in sent_rows])

        conversations = list(Conversation.objects.filter(tenant=tenant))
        for conversation in conversations:
            found = self.timelines.get(conversation.pk)
            if found is None or not found.messages:
                continue
            timeline = found
            timeline.first = min(timeline.messages.values())
            conversation.created_at = timeline.first
            talk = sorted(timeline.inbound + timeline.replies)
            conversation.last_message_at = talk[-1] if talk else timeline.first
            conversation.last_inbound_at = max(timeline.inbound, default=None)
            conversation.first_response_at = min(timeline.replies, default=None)
            if conversation.waiting_since is not None:
                conversation.waiting_since = timeline.waiting_since
            if conversation.status in (Status.RESOLVED, Status.CLOSED):
                conversation.resolved_at = timeline.resolved_at or conversation.last_message_at
            conversation.updated_at = max(timeline.last or timeline.first, conversation.last_message_at)
        fields = [
            "created_at",
            "last_message_at",
            "last_inbound_at",
            "first_response_at",
            "waiting_since",
            "resolved_at",
            "updated_at",
        ]
        _update(Conversation, fields, [(*(getattr(c, f) for f in fields), c.pk) for c in conversations])

        first_seen: dict[int, dt.datetime] = {}
        for conversation in conversations:
            customer_id = conversation.customer_id
            if customer_id not in first_seen or conversation.created_at < first_seen[customer_id]:
                first_seen[customer_id] = conversation.created_at
        customers = Customer.objects.filter(tenant=tenant).values_list("id", flat=True)
        _update(
            Customer,
            ["created_at", "updated_at"],
            [(first_seen.get(pk, self.setup_time),) * 2 + (pk,) for pk in customers],
        )
        identities = CustomerIdentity.objects.filter(tenant=tenant).values_list("id", "customer_id")
        _update(
            CustomerIdentity,
            ["created_at"],
            [(first_seen.get(customer_id, self.setup_time), pk) for pk, customer_id in identities],
        )

        Tenant.objects.filter(pk=tenant.pk).update(created_at=self.setup_time)
        Membership.objects.filter(tenant=tenant).update(created_at=self.setup_time)
        Team.objects.filter(tenant=tenant).update(created_at=self.setup_time)
        Tag.objects.filter(tenant=tenant).update(created_at=self.setup_time)
        Channel.objects.filter(tenant=tenant).update(created_at=self.setup_time)

    # --- the service promise -------------------------------------------------------------------

    def _service_promise(self, tenant: Tenant) -> None:
        """The shop's hours and response-time targets, set up with the shop, before any message."""
        today = self.now.astimezone(TIME_ZONE).date()
        # Stock-taking on the first Monday at least a week ahead; the Sunday after it the chat is
        # staffed for a sale: both in the future, so they show in the settings and in due times.
        closure = today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)
        calendar = BusinessCalendar.objects.create(
            tenant=tenant,
            name="Godziny pracy sklepu",
            time_zone="Europe/Warsaw",
            country="PL",
            public_holidays=True,
            week=[list(day) for day in SHOP_WEEK],
            is_default=True,
            created_at=self.setup_time,
            updated_at=self.setup_time,
        )
        CalendarDay.objects.create(calendar=calendar, date=closure, hours=[], note="Inwentaryzacja")
        CalendarDay.objects.create(
            calendar=calendar,
            date=closure + dt.timedelta(days=6),
            hours=[[600, 840]],
            note="Niedziela z wyprzedażą: dyżur 10:00–14:00",
        )
        day = 24 * 60
        policies = [
            ("Czat", {"channel_kinds": ["chat"]}, 5, 30, None, None),
            ("Reklamacje", {"tags": ["reklamacja"]}, 4 * 60, 8 * 60, 3 * day, 14),
            ("Standard", {}, 4 * 60, 8 * 60, 5 * day, None),
        ]
        for position, (name, conditions, first, following, resolution, legal) in enumerate(policies):
            SlaPolicy.objects.create(
                tenant=tenant,
                name=name,
                position=position,
                conditions=conditions,
                first_response_minutes=first,
                next_response_minutes=following,
                # Business days of the shop's calendar: a business day is 10 open hours.
                resolution_minutes=resolution and resolution // day * 10 * 60,
                business_hours=True,
                legal_days=legal,
                created_at=self.setup_time,
                updated_at=self.setup_time,
            )
        # Calls are offered on the status page (see the callbacks made in _callbacks).
        tenant.service = {**(tenant.service or {}), "acknowledge": True, "offer_call": True}
        tenant.save(update_fields=["service"])

    def _service_times(self, tenant: Tenant) -> None:
        """Due times, promises and pauses computed again from the story's times.

        The actions computed them when the rows were made ("now"); after _backdate the conversations
        were created weeks ago, so every clock starts again from the rewritten created_at, every
        promise is made again at the moment of its acknowledgement (the queue and the pace as they
        were then), and "promise kept" compares the rewritten first answer with it.
        """
        ack_of: dict[int, int] = {}
        for message_pk, conversation_pk in sorted(self.acks.items()):
            ack_of.setdefault(conversation_pk, message_pk)
        ack_rows = {
            pk: (text, language)
            for pk, text, language in Message.objects.filter(pk__in=list(ack_of.values())).values_list(
                "pk", "text", "language"
            )
        }
        moments: dict[int, dt.datetime] = {}
        for timeline in self.timelines.values():
            moments.update(timeline.messages)
        conversations = (
            Conversation.objects.filter(tenant=tenant)
            .select_related("tenant", "channel", "customer", "team", "assignee__user")
            .order_by("created_at", "pk")
        )
        fields = [
            "sla_policy",
            "first_response_due",
            "next_response_due",
            "resolution_due",
            "legal_due",
            "sla_paused_at",
            "sla_marks",
            "promised_by",
            "promise_sent_at",
            "promise_kept",
        ]
        rows = []
        texts = []
        for conversation in conversations:
            timeline = self.timelines.get(conversation.pk) or Timeline()
            policy = matching_policy(conversation)
            compute_from_creation(conversation, policy)
            conversation.sla_marks = []
            conversation.next_response_due = None
            conversation.sla_paused_at = None
            if policy is not None and conversation.status in ACTIVE_STATUSES:
                waiting = conversation.waiting_since
                if conversation.first_response_at is not None and waiting is not None:
                    calendar = business_calendar(tenant, team=conversation.team, channel=conversation.channel)
                    conversation.next_response_due = calendar.add(
                        waiting, dt.timedelta(minutes=policy.next_response_minutes or 0)
                    )
            if policy is not None and conversation.status == Status.PENDING:
                conversation.sla_paused_at = max(timeline.replies, default=conversation.created_at)
            ack = ack_of.get(conversation.pk)
            if ack is not None and conversation.promised_by is not None:
                sent = moments[ack]
                promised = compute_promise(conversation, now=sent).promised_by
                text, _language = ack_rows[ack]
                # The words "by when" in the text as sent, for the promise made in the story.
                language = language_of(conversation)
                zone = customer_zone(conversation)
                old = when_words(
                    conversation.promised_by, conversation.promise_sent_at or sent, zone, language
                )
                texts.append((text.replace(old, when_words(promised, sent, zone, language)), ack))
                conversation.promised_by = promised
                conversation.promise_sent_at = sent
            if conversation.promised_by is not None and conversation.first_response_at is not None:
                conversation.promise_kept = conversation.first_response_at <= conversation.promised_by
            else:
                conversation.promise_kept = None
            rows.append((*(getattr(conversation, f) for f in fields), conversation.pk))
        rows = [(row[0].pk if row[0] else None, *row[1:]) for row in rows]
        _update(Conversation, fields, rows)
        _update(Message, ["text"], texts)

    def _callbacks(self, tenant: Tenant) -> None:
        """Calls customers asked for on the status page, one in each state the team meets."""
        phones = dict(
            CustomerIdentity.objects.filter(tenant=tenant, kind="phone").values_list("customer_id", "address")
        )
        # Open conversations and those waiting on the customer: a call may settle either.
        candidates = [
            c
            for c in Conversation.objects.filter(
                tenant=tenant, status__in=(*ACTIVE_STATUSES, Status.PENDING), merged_into=None
            ).order_by("number")
            if c.customer_id in phones
        ]
        # A call already made needs a window that ended after the customer wrote and before now.
        older = [c for c in candidates if c.created_at < self.now - dt.timedelta(hours=4)]
        local_today = self.now.astimezone(TIME_ZONE).date()
        tomorrow = dt.datetime.combine(local_today + dt.timedelta(days=1), dt.time(10), TIME_ZONE)
        plans: list[tuple[Conversation, str]] = []
        for wanted, pool in (
            (CallbackState.DONE, older),
            (CallbackState.FAILED, older),
            (CallbackState.DUE, candidates),
            (CallbackState.SCHEDULED, candidates),
        ):
            free = [c for c in pool if all(c.pk != p.pk for p, _ in plans)]
            if free:
                plans.append((free[0], wanted))
        members = {m.pk: m for m in self.members.values()}
        for conversation, state in plans:
            member = members.get(conversation.assignee_id or 0, self.supervisor)
            phone = phones[conversation.customer_id]
            if state == CallbackState.DUE:
                start = self.now - dt.timedelta(minutes=20)
                end = start + dt.timedelta(hours=2)
            elif state == CallbackState.SCHEDULED:
                start, end = tomorrow, tomorrow + dt.timedelta(hours=2)
            else:
                # Asked for a while after writing; the window is over by now.
                start = conversation.created_at + dt.timedelta(hours=1)
                end = start + dt.timedelta(hours=1)
            callback = Callback.objects.create(
                tenant=tenant,
                conversation=conversation,
                phone=phone,
                window_start=start,
                window_end=end,
                due_at=start,
                state=state,
                created_at=conversation.created_at,
                updated_at=min(start, self.now),
            )
            if state == CallbackState.DONE:
                at = start + dt.timedelta(minutes=10)
                CallbackAttempt.objects.create(
                    callback=callback,
                    member=member,
                    at=at,
                    outcome=CallbackOutcome.REACHED,
                    note="Klientka potwierdziła adres, wysyłamy ponownie.",
                )
                Callback.objects.filter(pk=callback.pk).update(
                    attempts=1, outcome=CallbackOutcome.REACHED, completed_at=at, updated_at=at
                )
            elif state == CallbackState.FAILED:
                # No answer, again 30 minutes later, and the window was over.
                tries = [start + dt.timedelta(minutes=5), start + dt.timedelta(minutes=35)]
                for at in tries:
                    CallbackAttempt.objects.create(
                        callback=callback, member=member, at=at, outcome=CallbackOutcome.NO_ANSWER
                    )
                Callback.objects.filter(pk=callback.pk).update(
                    attempts=len(tries),
                    outcome=CallbackOutcome.NO_ANSWER,
                    completed_at=end,
                    updated_at=end,
                )


class Clock:
    """The story's time inside one conversation: customers write at any hour, the team works
    8:00–20:00, and nothing happens after "now"."""

    def __init__(self, start: dt.datetime, now: dt.datetime, rng: random.Random) -> None:
        self.now = start
        self.limit = now - dt.timedelta(minutes=2)
        self.rng = rng

    def _advance(self, moment: dt.datetime) -> dt.datetime:
        if moment > self.limit:
            # Squeezed into what is left before "now", without piling everything on one instant.
            room = max((self.limit - self.now).total_seconds(), 0)
            moment = self.now + dt.timedelta(seconds=room * self.rng.uniform(0.2, 0.6))
        self.now = max(self.now, moment)
        return self.now

    def customer(self) -> dt.datetime:
        hours = self.rng.choice((0.5, 1, 2, 4, 8, 20, 30))
        return self._advance(self.now + dt.timedelta(hours=hours * self.rng.uniform(0.5, 1.5)))

    def agent(self, *, short: bool = False) -> dt.datetime:
        minutes = (
            self.rng.uniform(3, 25)
            if short
            else self.rng.choice((15, 40, 90, 180, 300)) * self.rng.uniform(0.6, 1.4)
        )
        moment = (self.now + dt.timedelta(minutes=minutes)).astimezone(TIME_ZONE)
        if moment.hour >= 20 or moment.hour < 8:
            next_morning = moment.date() + dt.timedelta(days=1 if moment.hour >= 20 else 0)
            moment = dt.datetime.combine(next_morning, dt.time(8), TIME_ZONE) + dt.timedelta(
                minutes=self.rng.randint(5, 120)
            )
        return self._advance(moment)

    def later(self, *, days: float) -> dt.datetime:
        return self._advance(self.now + dt.timedelta(days=days))


def _update(model: type[Any], fields: list[str], rows: list[tuple[Any, ...]]) -> None:
    """UPDATE model SET fields… WHERE id = … for many rows at once (each row: values…, id).

    Values go through the model fields' own conversion, so datetimes are stored exactly as the
    ORM stores them on every database.
    """
    if not rows:
        return
    table = model._meta.db_table
    columns = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(table)} SET {assignments} WHERE id = %s"  # noqa: S608 - names from the model
    params = [
        [field.get_db_prep_save(value, connection) for field, value in zip(columns, row, strict=False)]
        + [row[-1]]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


@contextmanager
def _quiet_realtime() -> Iterator[None]:
    """Record events as usual but push none of them live while the demo loads.

    The demo loads in its own process (nobody listens to its in-memory channel layer) and, with
    Redis, thousands of pushes would only flood open agent pages; pages catch up from the event
    stream as they always do.
    """
    from frontdesk.realtime.publish import muted

    with muted():
        yield


def _answer(answers: tuple[str, ...], plan: Plan) -> str:
    return answers[plan.variant % len(answers)]


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots if isinstance(slots, _Slots) else _Slots(slots))


def _ascii(text: str) -> str:
    from ..search.query import fold

    return "".join(c for c in fold(text) if c.isalnum() or c in ".-")


def _finish_delivery_tasks(delivery_ids: list[int]) -> None:
    """The demo's replies count as sent: their queued send tasks are marked done, not run."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    wanted = set(delivery_ids)
    done = [
        task.pk
        for task in DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path__endswith=".send_delivery"
        ).only("id", "args_kwargs")
        if (task.args_kwargs or {}).get("args", [None])[0] in wanted
    ]
    DBTaskResult.objects.filter(pk__in=done).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now(), return_value="demo"
    )


def build_demo(*, conversations: int = 300, seed: int = 42) -> DemoResult:
    return DemoBuilder(conversations=conversations, seed=seed).build()
