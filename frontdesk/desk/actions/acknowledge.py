"""The acknowledgement: seconds after a customer writes, in their channel and language, the
conversation's reference, who handles it and by when the answer comes (the promise,
desk/actions/promise.py).

Sent for a new conversation and for a new message on a resolved one; never to automatic replies,
bounces or blocked customers; at most once per conversation per `ack_period_hours`. A live chat
with an agent in it gets none: the agent is there. The message is stored like any outbound one
(author: system) and queued for delivery in the transaction that received the customer's message,
so it exists exactly when that message does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from django.utils import timezone

from ..events import record_event
from ..models import Conversation, Message
from .outbox import queue_system_message
from .promise import compute_promise
from .status import status_url

log = structlog.get_logger(__name__)

DEFAULT_PERIOD_HOURS = 24

# {number}, {who}, {when}, {status_url}: the shop overrides any language in Tenant.service["ack_templates"].
TEMPLATES: dict[str, str] = {
    "en": (
        "Thank you, we have your message (reference #{number}). {who} will answer {when}. "
        "If anything changes, we will let you know. Details and how you'd like the answer: {status_url}"
    ),
    "pl": (
        "Dziękujemy, otrzymaliśmy Twoją wiadomość (numer sprawy #{number}). {who} odpowie {when}. "
        "Jeśli coś się zmieni, damy znać. Szczegóły i wybór sposobu odpowiedzi: {status_url}"
    ),
    "ru": (
        "Спасибо, мы получили ваше сообщение (номер обращения #{number}). {who} ответит {when}. "
        "Если что-то изменится, мы сообщим. Подробности и выбор способа ответа: {status_url}"
    ),
}
WHO_TEAM: dict[str, str] = {"en": "Our {team} team", "pl": "Zespół {team}", "ru": "Команда «{team}»"}
WHO_SHOP: dict[str, str] = {"en": "Our team", "pl": "Nasz zespół", "ru": "Наша команда"}

WEEKDAYS: dict[str, list[str]] = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "pl": ["poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"],
    "ru": ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"],
}
MONTHS: dict[str, list[str]] = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "pl": ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
           "października", "listopada", "grudnia"],
    "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
           "октября", "ноября", "декабря"],
}  # fmt: skip
TODAY = {"en": "today by {time}", "pl": "dziś do {time}", "ru": "сегодня до {time}"}
TOMORROW = {
    "en": "tomorrow, {weekday}, by {time}",
    "pl": "jutro, {weekday}, do {time}",
    "ru": "завтра ({weekday}) до {time}",
}
LATER = {
    "en": "on {weekday}, {day} {month}, by {time}",
    "pl": "w dniu {weekday}, {day} {month}, do {time}",
    "ru": "{weekday}, {day} {month}, до {time}",
}


def language_of(conversation: Conversation) -> str:
    """The customer's language among those the acknowledgement speaks, else the shop's default."""
    for candidate in (
        conversation.language,
        conversation.customer.language,
        conversation.tenant.default_language,
    ):
        short = (candidate or "").split("-")[0].lower()
        if short in TEMPLATES:
            return short
    return "en"


def customer_zone(conversation: Conversation) -> ZoneInfo:
    for name in (conversation.customer.time_zone, conversation.tenant.time_zone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def when_words(at: dt.datetime, now: dt.datetime, zone: ZoneInfo, language: str) -> str:
    """'today by 14:30', 'tomorrow, Tuesday, by 10:00', 'on Wednesday, 25 November, by 12:15' —
    in the customer's time zone."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    time = local.strftime("%H:%M")
    weekday = WEEKDAYS[language][local.weekday()]
    if local.date() <= today:
        return TODAY[language].format(time=time)
    if local.date() == today + dt.timedelta(days=1):
        return TOMORROW[language].format(time=time, weekday=weekday)
    return LATER[language].format(
        weekday=weekday, day=local.day, month=MONTHS[language][local.month - 1], time=time
    )


def who_words(conversation: Conversation, language: str) -> str:
    if conversation.assignee_id is not None and conversation.assignee is not None:
        return conversation.assignee.display_name
    if conversation.team_id is not None and conversation.team is not None:
        return WHO_TEAM[language].format(team=conversation.team.name)
    return WHO_SHOP[language]


def acknowledgement_text(conversation: Conversation, promised_by: dt.datetime, now: dt.datetime) -> str:
    language = language_of(conversation)
    custom = ((conversation.tenant.service or {}).get("ack_templates") or {}).get(language)
    template = custom if isinstance(custom, str) and custom.strip() else TEMPLATES[language]
    values = {
        "number": conversation.number,
        "who": who_words(conversation, language),
        "when": when_words(promised_by, now, customer_zone(conversation), language),
        "status_url": status_url(conversation),
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A shop's template with a placeholder we do not know: the built-in one rather than nothing.
        log.warning("acknowledgement.bad_template", tenant=conversation.tenant_id, language=language)
        return TEMPLATES[language].format(**values)


def should_acknowledge(conversation: Conversation, message: Message, now: dt.datetime) -> bool:
    service = conversation.tenant.service or {}
    if service.get("acknowledge") is False:
        return False
    if message.is_auto_reply or conversation.customer.blocked:
        return False
    channel = conversation.effective_reply_channel
    if channel.disabled or not channel.adapter.capabilities.can_send:
        return False
    if channel.adapter.capabilities.live and conversation.assignee_id is not None:
        return False  # a live chat an agent has: the agent answers now
    period = dt.timedelta(hours=float(service.get("ack_period_hours") or DEFAULT_PERIOD_HOURS))
    sent = conversation.promise_sent_at
    return sent is None or now - sent >= period


def do_acknowledge(
    conversation: Conversation, message: Message, now: dt.datetime | None = None
) -> Message | None:
    """Compute and store the promise and queue the acknowledgement, when one is due. Inside the
    transaction that received `message`."""
    now = now or timezone.now()
    if not should_acknowledge(conversation, message, now):
        return None
    channel = conversation.effective_reply_channel
    identity = conversation.customer.identity(channel.adapter.capabilities.recipient_kind)
    if identity is None:
        return None
    promise = compute_promise(conversation, now=now)
    text = acknowledgement_text(conversation, promise.promised_by, now)
    ack = queue_system_message(
        conversation, channel, identity.address, text, language=language_of(conversation), now=now
    )
    conversation.promised_by = promise.promised_by
    conversation.promise_sent_at = now
    conversation.save(update_fields=["promised_by", "promise_sent_at"])
    record_event(
        conversation.tenant_id,
        "promise.made",
        conversation=conversation,
        data={"promised_by": promise.promised_by.isoformat(), "message": ack.pk, "why": promise.why},
    )
    return ack
