"""Live chat: visitors, their messages, read receipts, availability and the hand-over.

The widget's endpoints (channels/chat/views.py) and the visitor socket (realtime/visitor.py) call
these; agents' pages call the read and start-chat actions. A visitor's message goes the way every
channel's does: stored raw, parsed by the chat adapter, received by `do_receive_inbound`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import structlog
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk.channels.base import InboundAttachment, RawPayload

from ..errors import Invalid, NotFound
from ..events import record_event
from ..lib.addresses import InvalidAddress, normalize_email, normalize_phone
from ..models import (
    ACTIVE_STATUSES,
    Attachment,
    AuthorKind,
    Availability,
    Channel,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    Membership,
    Message,
    Status,
    hash_visitor_token,
)
from .inbound import ReceiveResult, process_raw, store_raw, stored_message

log = structlog.get_logger(__name__)

# A visitor whose widget was heard from this recently is on the site. The widget pings every 25 s;
# sockets write the pings of all their visitors every 10 s: a present visitor is at most ~35 s old.
ONLINE_SECONDS = 60
# A new visit starts after this long without a sign of the visitor.
VISIT_GAP = dt.timedelta(minutes=30)
# Heartbeats refresh last_seen_at at most this often per visitor (a write per ping is wasted).
SEEN_WRITE_SECONDS = 20
# Messages sent to a widget at once (history on return, resume after a long gap).
HISTORY_LIMIT = 200
FILE_URL_MAX_AGE = 24 * 3600
FILE_SALT = "frontdesk.chat.file"
REPLY_VIA = ("chat", "email", "sms", "call")


def chat_group(customer_id: int) -> str:
    """The group every open widget of a customer listens on (realtime/visitor.py)."""
    return f"customer.{customer_id}"


def _ring_visitor_on_commit(visitor: ChatVisitor) -> None:
    """The visitor became a customer: their open sockets join the customer's group."""
    from frontdesk.realtime.publish import ring_group

    group = f"chatvisitor.{visitor.pk}"
    message = {"type": "chat.doorbell", "kind": "visitor.customer", "customer": visitor.customer_id}
    transaction.on_commit(lambda: ring_group(group, message))


def read_up_to(visitor: ChatVisitor) -> int:
    """The newest of the visitor's messages the shop has read (0: none)."""
    if visitor.customer_id is None:
        return 0
    return (
        Message.objects.filter(
            tenant_id=visitor.tenant_id,
            conversation__channel_id=visitor.channel_id,
            conversation__customer_id=visitor.customer_id,
            direction=Direction.IN,
            read_at__isnull=False,
        )
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


# --- Sessions and identity ------------------------------------------------------------------------


@dataclass
class Session:
    visitor: ChatVisitor
    token: str
    returning: bool


def visitor_for_token(channel: Channel, token: Any) -> ChatVisitor | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return (
        ChatVisitor.objects.select_related("customer")
        .filter(channel=channel, token_hash=hash_visitor_token(token))
        .first()
    )


class IdentityInvalid(Invalid):
    """The shop's signature of who the visitor is does not check out: refused like an unknown token
    (401), and the widget then chats anonymously."""

    status = 401
    code = "identity_invalid"


def check_identity(channel: Channel, user: Any) -> dict[str, str]:
    """The shop's signed claim of who the visitor is: {"id", "email", "name", "phone"} when the
    signature (HMAC-SHA256 of the id, or of the email when there is no id, with the channel's
    identity secret, hex) is right. Raises IdentityInvalid otherwise; an empty dict when there is none."""
    if user in (None, {}):
        return {}
    if not isinstance(user, dict):
        raise IdentityInvalid(_("user must be an object."))
    external_id = str(user.get("id") or "").strip()[:200]
    email = str(user.get("email") or "").strip()[:320]
    signed = external_id or email
    given = str(user.get("hash") or "").strip().lower()
    secret = str(channel.secrets.get("identity_secret") or "")
    if not signed or not given or not secret:
        raise IdentityInvalid(_("The visitor's identity is not signed."))
    expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise IdentityInvalid(_("The visitor's identity signature is wrong."))
    if email:
        try:
            email = normalize_email(email)
        except InvalidAddress as exc:
            raise IdentityInvalid(str(exc), fields={"user.email": [str(exc)]}) from None
    return {
        "id": external_id,
        "email": email,
        "name": str(user.get("name") or "").strip()[:200],
        "phone": str(user.get("phone") or "").strip()[:32],
    }


def _page(page: Any) -> dict[str, str]:
    page = page if isinstance(page, dict) else {}
    return {
        "url": str(page.get("url") or "")[:1000],
        "title": str(page.get("title") or "")[:300],
        "referrer": str(page.get("referrer") or "")[:1000],
    }


def do_start_session(
    channel: Channel,
    *,
    token: Any = None,
    user: Any = None,
    page: Any = None,
    language: str = "",
    user_agent: str = "",
) -> Session:
    """The visitor with this token, or a new one; counts visits and records the page.

    A signed `user` ties the visitor to the shop's customer (merging the browser's anonymous
    customer into it: the shop vouched they are the same person)."""
    identity = check_identity(channel, user)
    now = timezone.now()
    where = _page(page)
    visitor = visitor_for_token(channel, token)
    if visitor is not None and visitor.verified and not identity:
        # The shop no longer vouches for anyone in this browser (its customer logged out, maybe
        # on a shared computer): the next person starts afresh and sees none of their chats.
        visitor = None
    returning = visitor is not None
    if visitor is None:
        token = ChatVisitor.new_token()
        visitor = ChatVisitor(
            tenant_id=channel.tenant_id,
            channel=channel,
            public_id=ChatVisitor.new_public_id(),
            token_hash=hash_visitor_token(token),
            first_seen_at=now,
            visit_started_at=now,
        )
    elif now - visitor.last_seen_at > VISIT_GAP:
        visitor.visits += 1
        visitor.visit_started_at = now
    visitor.last_seen_at = now
    visitor.page_url, visitor.page_title = where["url"], where["title"]
    if where["referrer"] and not returning:
        visitor.referrer = where["referrer"]
    visitor.language = (language or visitor.language)[:10]
    visitor.user_agent = user_agent[:300]
    before = visitor.customer_id
    with transaction.atomic():
        if identity:
            _identify(channel, visitor, identity)
        visitor.save()
        if returning and visitor.customer_id != before:
            _ring_visitor_on_commit(visitor)  # its open tabs now show the verified customer's chat
    return Session(visitor=visitor, token=str(token), returning=returning)


def _identify(channel: Channel, visitor: ChatVisitor, identity: dict[str, str]) -> None:
    """Tie a verified visitor to the customer with the shop's id or email (created if new)."""
    from frontdesk.channels.base import InboundContact

    from .customers import find_or_create_customer, merge_customer_rows

    contact = InboundContact(
        name=identity["name"],
        email=identity["email"],
        external_id=identity["id"],
        language=visitor.language,
    )
    customer = find_or_create_customer(channel.tenant, contact)
    CustomerIdentity.objects.filter(
        tenant_id=channel.tenant_id,
        customer=customer,
        kind__in=[IdentityKind.EMAIL, IdentityKind.EXTERNAL],
        address__in=[identity["email"], identity["id"]],
    ).update(verified=True)
    previous = visitor.customer
    if previous is not None and previous.pk != customer.pk and _only_this_browser(previous, visitor):
        # The browser's anonymous customer was this person all along.
        merge_customer_rows(previous, customer)
    visitor.customer = customer
    visitor.verified = True
    visitor.name = visitor.name or identity["name"]
    if identity["email"]:
        visitor.email = identity["email"]


def _only_this_browser(customer: Customer, visitor: ChatVisitor) -> bool:
    """True when the customer is known by nothing but this visitor (an anonymous chatter)."""
    kinds = list(customer.identities.values_list("kind", "address"))
    return kinds == [(IdentityKind.VISITOR, visitor.public_id)]


def touch_visitor(visitor_id: int, page: Any = None) -> None:
    """A sign of life from the widget (ping, page change): keeps the visitor "on the site"."""
    now = timezone.now()
    changes: dict[str, Any] = {"last_seen_at": now}
    if page is not None:
        where = _page(page)
        changes.update(page_url=where["url"], page_title=where["title"])
    # In a transaction, though one statement: on SQLite that queues it for the process's write turn
    # (frontdesk/sqlite) instead of SQLite's sleeping busy handler.
    with transaction.atomic():
        ChatVisitor.objects.filter(pk=visitor_id).update(**changes)


def seen_now(visitor_ids: list[int]) -> None:
    """Widgets of these visitors pinged lately (batched by the visitor sockets)."""
    with transaction.atomic():  # the write turn, as in touch_visitor
        ChatVisitor.objects.filter(pk__in=visitor_ids).update(last_seen_at=timezone.now())


def visitor_online(visitor: ChatVisitor, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return (now - visitor.last_seen_at).total_seconds() < ONLINE_SECONDS


# --- Messages ---------------------------------------------------------------------------------------


def do_visitor_message(
    visitor: ChatVisitor,
    *,
    client_id: Any,
    text: Any,
    conversation: Any = None,
    invitation: Any = None,
    files: list[InboundAttachment] | None = None,
    remote_addr: str = "",
) -> ReceiveResult:
    """Store and receive a visitor's message. The same client_id twice gives the first message.

    Raises InboundRejected (bad input) or ActionError (refused by the core)."""
    channel = visitor.channel
    from frontdesk.channels.chat.adapter import SIGNATURE_HEADER, sign_payload, valid_client_id

    if valid_client_id(client_id):
        # A retry of a message already stored (the ack was lost): answer without storing again.
        existing = stored_message(channel, f"{visitor.public_id}:{client_id}")
        if existing is not None:
            return _linked(
                visitor, ReceiveResult(message=existing, conversation=existing.conversation, created=False)
            )
    config = channel.adapter.config(channel)
    invitation_text = ""
    if isinstance(invitation, str) and invitation:
        rule = next((r for r in config.invitations if r.id == invitation), None)
        if rule is not None:
            invitation_text = _pick(rule.text, visitor.language, channel.tenant.default_language)
    contact: dict[str, str] = {"name": visitor.name}
    if visitor.verified and visitor.customer_id:
        contact.update(_verified_contact(visitor))
    body = {
        "visitor": visitor.public_id,
        "client_id": client_id,
        "text": text,
        "conversation": conversation,
        "contact": contact,
        "language": visitor.language,
        "page": {"url": visitor.page_url, "title": visitor.page_title},
        "invitation_text": invitation_text,
        "attachments": [
            {
                "filename": f.filename,
                "content_type": f.content_type,
                "data_base64": base64.b64encode(f.data).decode(),
            }
            for f in files or []
        ],
    }
    encoded = json.dumps(body).encode()
    payload = RawPayload(
        body=encoded,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign_payload(channel, encoded)},
        remote_addr=remote_addr,
        received_at=timezone.now(),
    )
    raw = store_raw(channel, payload)
    results = process_raw(raw)
    return _linked(visitor, results[0])


def _linked(visitor: ChatVisitor, result: ReceiveResult) -> ReceiveResult:
    """The visitor belongs to the customer their message went to (also when this is a resend of a
    message stored just before a crash, whose link was never written)."""
    if visitor.customer_id != result.conversation.customer_id:
        visitor.customer_id = result.conversation.customer_id
        ChatVisitor.objects.filter(pk=visitor.pk).update(customer_id=visitor.customer_id)
        # Sockets open in the visitor's other tabs (or before falling back to polling) join the
        # customer's group, or they would never hear of this conversation.
        _ring_visitor_on_commit(visitor)
    return result


def _verified_contact(visitor: ChatVisitor) -> dict[str, str]:
    identities = CustomerIdentity.objects.filter(customer=visitor.customer, verified=True)
    found = {i.kind: i.address for i in identities}
    return {
        "verified_email": found.get(IdentityKind.EMAIL, ""),
        "verified_id": found.get(IdentityKind.EXTERNAL, ""),
    }


def _pick(texts: dict[str, str], *languages: str) -> str:
    for language in languages:
        if language and language[:2] in texts:
            return texts[language[:2]]
    return next(iter(texts.values()), "")


def visitor_conversations(visitor: ChatVisitor) -> Any:
    """The visitor's conversations in this channel: those of their customer (on another device too,
    once the shop verified who they are)."""
    if visitor.customer_id is None:
        return Conversation.objects.none()
    return Conversation.objects.filter(
        tenant_id=visitor.tenant_id, channel_id=visitor.channel_id, customer_id=visitor.customer_id
    )


def latest_conversation(visitor: ChatVisitor) -> Conversation | None:
    return visitor_conversations(visitor).exclude(status=Status.CLOSED).order_by("-last_message_at").first()


def visitor_messages(visitor: ChatVisitor, after: int = 0, limit: int = HISTORY_LIMIT) -> list[Message]:
    """Public messages of the visitor's conversations with id > after, oldest first (the newest
    `limit` when there are more). Never internal notes, never other customers' messages."""
    if visitor.customer_id is None:
        return []
    rows = list(
        Message.objects.filter(
            tenant_id=visitor.tenant_id,
            conversation__channel_id=visitor.channel_id,
            conversation__customer_id=visitor.customer_id,
            id__gt=max(after, 0),
        )
        .exclude(direction=Direction.NOTE)
        .select_related("conversation", "author__user")
        .prefetch_related("attachments")
        .order_by("-id")[:limit]
    )
    rows.reverse()
    return rows


def message_payload(message: Message, *, base_url: str, channel_public_id: str) -> dict[str, Any]:
    """A message as the widget sees it (docs/chat.md)."""
    if message.direction == Direction.IN:
        sender = "visitor" if message.author_kind == AuthorKind.CUSTOMER else "system"
        author = None
    else:
        sender = {AuthorKind.AGENT: "agent", AuthorKind.BOT: "bot"}.get(message.author_kind, "system")  # type: ignore[call-overload]
        name = message.author.display_name if message.author else ""
        author = {"name": name, "avatar": None}
    client_id = None
    if message.direction == Direction.IN and ":" in message.provider_id:
        client_id = message.provider_id.split(":", 1)[1]
    return {
        "id": message.pk,
        "conversation": message.conversation.number,
        "from": sender,
        "author": author,
        "text": message.text,
        "attachments": [
            {
                "name": a.filename,
                "type": a.content_type,
                "size": a.size,
                "url": base_url + file_url(channel_public_id, a),
            }
            for a in message.attachments.all()
        ],
        "at": message.created_at.isoformat(),
        "read": message.read_at is not None,
        "client_id": client_id,
    }


def file_url(channel_public_id: str, attachment: Attachment) -> str:
    signed = signing.dumps({"a": attachment.token, "c": channel_public_id}, salt=FILE_SALT, compress=True)
    return reverse("chat_file", args=[channel_public_id, signed])


def attachment_for_file_url(channel: Channel, signed: str) -> Attachment:
    try:
        data = signing.loads(signed, salt=FILE_SALT, max_age=FILE_URL_MAX_AGE)
    except signing.BadSignature:
        raise NotFound() from None
    if not isinstance(data, dict) or data.get("c") != str(channel.public_id):
        raise NotFound()
    found = (
        Attachment.objects.filter(tenant_id=channel.tenant_id, token=str(data.get("a")))
        .exclude(message__direction=Direction.NOTE)
        .first()
    )
    if found is None:
        raise NotFound()
    return found


# --- Read receipts ---------------------------------------------------------------------------------


def do_mark_read_by_visitor(visitor: ChatVisitor, up_to: int) -> int:
    """The visitor has seen the shop's messages up to `up_to`. Returns how many became read."""
    if visitor.customer_id is None or up_to <= 0:
        return 0
    now = timezone.now()
    with transaction.atomic():
        unread = Message.objects.filter(
            tenant_id=visitor.tenant_id,
            conversation__channel_id=visitor.channel_id,
            conversation__customer_id=visitor.customer_id,
            direction=Direction.OUT,
            read_at__isnull=True,
            id__lte=up_to,
        )
        by_conversation = list(
            unread.values("conversation_id").annotate(n=Count("id")).values_list("conversation_id", "n")
        )
        changed = Message.objects.filter(pk__in=unread.values("pk")).update(
            read_at=now, delivery_state=DeliveryState.DELIVERED
        )
        for conversation_id, _n in by_conversation:
            conversation = Conversation.objects.get(pk=conversation_id)
            record_event(
                visitor.tenant_id,
                "message.read",
                conversation=conversation,
                data={"by": "customer", "up_to": up_to},
            )
    return changed


def do_mark_read_by_agent(member: Membership, conversation: Conversation) -> int:
    """An agent has the conversation open: the customer's messages in it are read."""
    with transaction.atomic():
        unread = Message.objects.filter(
            conversation=conversation, direction=Direction.IN, read_at__isnull=True
        ).values_list("pk", flat=True)
        last = max(unread, default=0)
        if not last:
            return 0
        changed = Message.objects.filter(pk__in=list(unread)).update(read_at=timezone.now())
        record_event(
            conversation.tenant_id,
            "message.read",
            conversation=conversation,
            actor=member,
            data={"by": "agent", "up_to": last},
        )
    return changed


# --- Contact details and the reply channel -----------------------------------------------------------


def check_visitor_contact(visitor: ChatVisitor, data: dict[str, Any]) -> dict[str, Any]:
    """Validate what the visitor typed; raises Invalid naming the fields."""
    channel = visitor.channel
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {"name": str(data.get("name") or "").strip()[:200]}
    email = str(data.get("email") or "").strip()
    phone = str(data.get("phone") or "").strip()
    try:
        cleaned["email"] = normalize_email(email) if email else ""
    except InvalidAddress as exc:
        errors["email"] = [str(exc)]
    try:
        cleaned["phone"] = normalize_phone(phone, channel.tenant.country) if phone else ""
    except InvalidAddress as exc:
        errors["phone"] = [str(exc)]
    reply_via = data.get("reply_via") or ""
    if reply_via and reply_via not in reply_options(channel):
        errors["reply_via"] = [
            _("Choose one of: %(options)s.") % {"options": ", ".join(reply_options(channel))}
        ]
    cleaned["reply_via"] = reply_via
    cleaned["call_window"] = str(data.get("call_window") or "").strip()[:100]
    if reply_via == "email" and not email and "email" not in errors:
        errors["email"] = [_("Give the email address to answer to.")]
    if reply_via in ("sms", "call") and not phone and "phone" not in errors:
        errors["phone"] = [_("Give the phone number.")]
    if errors:
        raise Invalid(_("Please check the highlighted fields."), code="invalid_contact", fields=errors)
    return cleaned


def reply_options(channel: Channel) -> list[str]:
    """How a visitor may ask to be answered when nobody is available: the channels the shop has."""
    config = channel.adapter.config(channel)
    options = ["chat"]
    if config.offer_email and _channel_for(channel.tenant_id, "email") is not None:
        options.append("email")
    if _channel_for(channel.tenant_id, "phone") is not None:
        options.append("sms")
    if config.offer_call:
        options.append("call")
    return options


def _channel_for(tenant_id: int, recipient_kind: str) -> Channel | None:
    """The tenant's first enabled channel that sends to `recipient_kind` addresses (email, phone)."""
    for channel in Channel.objects.filter(tenant_id=tenant_id, disabled=False).order_by("pk"):
        caps = channel.adapter.capabilities
        if caps.can_send and caps.recipient_kind == recipient_kind and not caps.live:
            return channel
    return None


def do_set_visitor_contact(visitor: ChatVisitor, data: dict[str, Any]) -> dict[str, Any]:
    """Record the visitor's contact details and, if given, how they want the answer.

    Addresses become identities of the visitor's customer only when no other customer has them:
    a typed address is a claim, never a reason to merge into someone else's history (agents see
    the claim and can merge by hand)."""
    cleaned = check_visitor_contact(visitor, data)
    with transaction.atomic():
        visitor = ChatVisitor.objects.select_for_update().get(pk=visitor.pk)
        if cleaned["name"]:
            visitor.name = cleaned["name"]
        if cleaned["email"]:
            visitor.email = cleaned["email"]
        if cleaned["phone"]:
            visitor.phone = cleaned["phone"]
        customer = _customer_of(visitor)
        visitor.save(update_fields=["name", "email", "phone", "customer"])
        if cleaned["name"] and not customer.name:
            customer.name = cleaned["name"]
            customer.save(update_fields=["name"])
        for kind, address in ((IdentityKind.EMAIL, cleaned["email"]), (IdentityKind.PHONE, cleaned["phone"])):
            if (
                address
                and not CustomerIdentity.objects.filter(
                    tenant_id=visitor.tenant_id, kind=kind, address=address
                ).exists()
            ):
                try:
                    with transaction.atomic():
                        CustomerIdentity.objects.create(
                            tenant_id=visitor.tenant_id, customer=customer, kind=kind, address=address
                        )
                except IntegrityError:
                    pass  # taken a moment ago by another customer: it stays a claim
        if cleaned["call_window"]:
            customer.preferred_contact_hours = cleaned["call_window"]
            customer.save(update_fields=["preferred_contact_hours"])
        conversation = latest_conversation(visitor)
        reply_via = cleaned["reply_via"]
        if reply_via and conversation is not None:
            reply_via = _apply_reply_choice(visitor, customer, conversation, reply_via, cleaned)
    return {
        "contact": {"name": visitor.name, "email": visitor.email, "phone": visitor.phone},
        "reply_via": reply_via,
    }


def _customer_of(visitor: ChatVisitor) -> Customer:
    """The visitor's customer, created (with the visitor identity) before their first message when
    they leave contact details first."""
    if visitor.customer_id is not None:
        return Customer.objects.get(pk=visitor.customer_id)
    from frontdesk.channels.base import InboundContact

    from .customers import find_or_create_customer

    customer = find_or_create_customer(
        visitor.channel.tenant,
        InboundContact(
            name=visitor.name, language=visitor.language, identities=[("visitor", visitor.public_id)]
        ),
    )
    visitor.customer = customer
    _ring_visitor_on_commit(visitor)
    return customer


def _apply_reply_choice(
    visitor: ChatVisitor,
    customer: Customer,
    conversation: Conversation,
    reply_via: str,
    cleaned: dict[str, Any],
) -> str:
    """Apply the visitor's choice; returns what was applied ("chat" when the address they gave
    belongs to another customer: the answer then stays in the chat until an agent sorts it out)."""
    if reply_via == "chat":
        target = None
    elif reply_via == "email":
        target = _channel_for(visitor.tenant_id, "email")
    else:
        target = _channel_for(visitor.tenant_id, "phone")
    kinds = {i.kind for i in customer.identities.all()}
    applied = reply_via
    if target is not None and target.adapter.capabilities.recipient_kind not in kinds:
        target = None  # the address belongs to another customer: an agent decides (see above)
        applied = "chat"
    conversation.reply_channel = target
    conversation.save(update_fields=["reply_channel"])
    record_event(
        visitor.tenant_id,
        "conversation.reply_channel_changed",
        conversation=conversation,
        data={
            "channel": target.pk if target else None,
            "channel_name": target.name if target else None,
            "chosen_by": "customer",
            "reply_via": applied,
            "requested": reply_via,
            "address": cleaned["email"] if reply_via == "email" else cleaned["phone"],
            "call_window": cleaned["call_window"],
        },
    )
    if reply_via == "call":
        # The callback itself is a task of the service-promise work (callbacks with their window);
        # until then agents see the request as this event and the customer's contact hours.
        record_event(
            visitor.tenant_id,
            "callback.requested",
            conversation=conversation,
            data={"phone": cleaned["phone"], "window": cleaned["call_window"]},
        )
    return applied


def handover_route(conversation: Conversation, channel: Channel) -> tuple[Channel, str] | None:
    """Where a reply goes when it was meant for a live chat the visitor has left: the email address
    the visitor gave, through the shop's email channel, with the transcript. None: stay in chat."""
    if not channel.adapter.capabilities.live:
        return None
    visitors = list(ChatVisitor.objects.filter(channel=channel, customer_id=conversation.customer_id))
    now = timezone.now()
    if not visitors or any(visitor_online(v, now) for v in visitors):
        return None
    email = conversation.customer.identity(IdentityKind.EMAIL)
    target = _channel_for(conversation.tenant_id, "email")
    if email is None or target is None:
        return None
    return target, email.address


# --- Availability and the queue ------------------------------------------------------------------


def available_agents(channel: Channel) -> list[Membership]:
    """Members online with free chat capacity, fewest open chats first.

    A chat waiting on the visitor (pending: the agent answered last) is still one the agent is in,
    so it counts until it is resolved or closed."""
    members = list(
        Membership.objects.filter(
            tenant_id=channel.tenant_id, is_active=True, availability=Availability.ONLINE
        )
        .select_related("user")  # the offer's event names the agent
        .annotate(
            open_chats=Count(
                "assigned_conversations",
                filter=Q(
                    assigned_conversations__status__in=[*ACTIVE_STATUSES, Status.PENDING],
                    assigned_conversations__channel__kind=channel.kind,
                ),
            )
        )
    )
    free: list[Membership] = [m for m in members if m.capacity == 0 or m.open_chats < m.capacity]  # type: ignore[attr-defined]
    free.sort(key=lambda m: (m.open_chats, m.pk))  # type: ignore[attr-defined]
    return free


def availability(channel: Channel) -> dict[str, Any]:
    """What the widget tells the visitor before they write: is anyone there, and how long it takes."""
    online = Membership.objects.filter(
        tenant_id=channel.tenant_id, is_active=True, availability=Availability.ONLINE
    ).exists()
    if not online:
        return {"online": False, "wait_minutes": None, "reason": "no_agents"}
    if not available_agents(channel):
        return {"online": False, "wait_minutes": None, "reason": "busy"}
    return {"online": True, "wait_minutes": wait_minutes(channel), "reason": None}


def wait_minutes(channel: Channel) -> int:
    """The median time to the first answer of this channel's chats of the last 7 days (at least 1)."""
    since = timezone.now() - dt.timedelta(days=7)
    rows = list(
        Conversation.objects.filter(
            tenant_id=channel.tenant_id,
            channel=channel,
            created_at__gte=since,
            first_response_at__isnull=False,
        )
        .order_by("-created_at")
        .values_list("created_at", "first_response_at")[:200]
    )
    if not rows:
        return 2
    waits = sorted((answered - created).total_seconds() for created, answered in rows if answered)
    median = waits[len(waits) // 2]
    return max(1, min(240, round(median / 60)))


# --- Agents start chats -----------------------------------------------------------------------------


def online_visitors(channel: Channel, limit: int = 200) -> list[ChatVisitor]:
    since = timezone.now() - dt.timedelta(seconds=ONLINE_SECONDS)
    return list(
        ChatVisitor.objects.filter(channel=channel, last_seen_at__gte=since)
        .select_related("customer")
        .order_by("-last_seen_at")[:limit]
    )


def do_start_chat(member: Membership, visitor: ChatVisitor, text: str) -> Message:
    """An agent writes first to a visitor on the site: a conversation with the agent's message."""
    from .conversations import do_reply
    from .inbound import next_conversation_number

    if visitor.tenant_id != member.tenant_id:
        raise NotFound()
    text = (text or "").strip()
    if not text:
        raise Invalid(fields={"text": [_("Write a message.")]})
    with transaction.atomic():
        visitor = ChatVisitor.objects.select_for_update().select_related("channel").get(pk=visitor.pk)
        customer = _customer_of(visitor)
        visitor.save(update_fields=["customer"])
        conversation = latest_conversation(visitor)
        if conversation is None:
            now = timezone.now()
            conversation = Conversation.objects.create(
                tenant_id=member.tenant_id,
                number=next_conversation_number(member.tenant_id),
                customer=customer,
                channel=visitor.channel,
                subject=text.splitlines()[0][:120],
                language=visitor.language,
                status=Status.OPEN,
                assignee=member,
                created_at=now,
                last_message_at=now,
            )
            record_event(
                member.tenant_id,
                "conversation.created",
                conversation=conversation,
                actor=member,
                data={"channel": visitor.channel_id, "customer": customer.pk, "started_by": "agent"},
            )
        return do_reply(member, conversation, text, channel=visitor.channel)


# --- Agents typing, for widgets that poll -------------------------------------------------------------

TYPING_SECONDS = 8


def _typing_key(customer_id: int) -> str:
    return f"fd:chat:typing:{customer_id}"


def set_agent_typing(customer_id: int, conversation: int, name: str, state: bool) -> None:
    """Remember that an agent is typing to this customer (read by polling widgets; sockets are told
    directly). In the cache, so every process sees it when the cache is Redis."""
    if state:
        cache.set(
            _typing_key(customer_id),
            {"conversation": conversation, "name": name, "state": True},
            TYPING_SECONDS,
        )
    else:
        cache.delete(_typing_key(customer_id))


def agent_typing(visitor: ChatVisitor) -> dict[str, Any] | None:
    if visitor.customer_id is None:
        return None
    found = cache.get(_typing_key(visitor.customer_id))
    return found if isinstance(found, dict) else None
