"""Editing the service promise (Settings › Response times, Settings › Promise to customers,
Settings › Queue and assignment): the shop's response-time targets (SLA policies, used by
desk/actions/sla.py), the keys of `Tenant.service` that the acknowledgement and the promise read
(acknowledge.py, promise.py, status.py), and those of the queue's order and automatic assignment
(`queue_weights` for queue.py, `auto_assign` for assignment.py).

Only admins (and the owner) change anything; every member may look. A changed policy applies to
conversations that arrive afterwards (and to those re-routed before their first answer): due times
already set are promises already made.

Each page edits only its own keys of `Tenant.service`: a save merges into the stored dict, read
again under a row lock, and writes only that column — a full save of the tenant would put back
whatever another request changed meanwhile.
"""

from __future__ import annotations

import re
import string
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk.channels.registry import UnknownChannelKind, get_adapter
from frontdesk.channels.registry import kinds as channel_kinds

from ..errors import Invalid, NotFound
from ..events import record_event
from ..models import Channel, Membership, Priority, Role, SlaPolicy, Team, Tenant
from .acknowledge import DEFAULT_PERIOD_HOURS, TEMPLATES
from .admin import require
from .assignment import DEFAULTS as ASSIGN_DEFAULTS
from .assignment import MODES as ASSIGN_MODES
from .assignment import settings_of as assignment_settings
from .promise import DEFAULTS as PROMISE_DEFAULTS

# A target longer than a year is a typo (minutes where hours were meant).
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_LEGAL_DAYS = 366
MAX_TEMPLATE_LENGTH = 1000
PLACEHOLDERS = ("number", "who", "when", "status_url")
# What a template is tried with before it is stored: a template that formats with these formats
# with the real values too.
SAMPLE_VALUES: dict[str, str] = {
    "number": "1042",
    "who": "Anna",
    "when": "today by 14:30",
    "status_url": "https://example.com/s/abc/",
}
CONDITION_KEYS = (
    "channels",
    "channel_kinds",
    "priorities",
    "teams",
    "languages",
    "tags",
    "customer_attributes",
)

_DURATION = re.compile(
    r"^(?:(?P<days>\d+)\s*d)?\s*(?:(?P<hours>\d+)\s*h)?\s*(?:(?P<minutes>\d+)\s*(?:m|min)?)?$", re.I
)
_CLOCK = re.compile(r"^(\d+):([0-5]\d)$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


# --- Durations ---------------------------------------------------------------------------------


def parse_duration(text: str) -> int | None:
    """Minutes from "90", "90m", "2h", "2h 30m", "1d 4h" or "1:30" (hours:minutes); None for empty.

    Raises ValueError with a message the user can act on for anything else, zero included: a target
    of no time would be breached the moment a conversation arrives."""
    text = (text or "").strip()
    if not text:
        return None
    clock = _CLOCK.match(text)
    if clock:
        minutes = int(clock[1]) * 60 + int(clock[2])
    else:
        match = _DURATION.match(text)
        if not match or not any(match.groupdict().values()):
            raise ValueError(
                _("“%(text)s” is not a duration; write minutes (90) or hours and minutes (1h 30m).")
                % {"text": text}
            )
        parts = {key: int(value or 0) for key, value in match.groupdict().items()}
        minutes = parts["days"] * 1440 + parts["hours"] * 60 + parts["minutes"]
    if minutes <= 0:
        raise ValueError(_("Give a time longer than zero."))
    if minutes > MAX_TARGET_MINUTES:
        raise ValueError(_("Give a time of at most a year."))
    return minutes


def format_duration(minutes: int | None) -> str:
    """The text parse_duration reads back: "2h 30m", "45m", "1d 4h" ("" for None)."""
    if not minutes:
        return ""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(part for part in parts if part)


# --- Response-time targets ---------------------------------------------------------------------


def policies_of(tenant: Tenant) -> QuerySet[SlaPolicy]:
    """The shop's policies in the order they are tried (sla.matching_policy's order)."""
    return SlaPolicy.objects.filter(tenant=tenant).order_by("position", "id")


def access_policy(member: Membership, policy_id: int | str) -> SlaPolicy:
    """The member's shop's policy with this id, or NotFound (also for another shop's)."""
    try:
        return SlaPolicy.objects.get(pk=policy_id, tenant=member.tenant)
    except (SlaPolicy.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _words(value: Any) -> list[str]:
    """A list from form data: a list as it is, a text split at commas, semicolons and line ends."""
    items = value if isinstance(value, list | tuple) else re.split(r"[,;\n]", str(value or ""))
    seen: list[str] = []
    for item in items:
        word = str(item).strip()
        if word and word not in seen:
            seen.append(word)
    return seen


def _ids(tenant: Tenant, model: type[Channel] | type[Team], value: Any) -> list[int] | None:
    """The ids in `value` when each is one of the shop's rows of `model`; None when any is not."""
    words = _words(value)
    try:
        ids = [int(word) for word in words]
    except ValueError:
        return None
    found = set(model.objects.filter(tenant=tenant, pk__in=ids).values_list("pk", flat=True))
    return ids if found == set(ids) else None


def parse_attributes(text: str) -> dict[str, str]:
    """{"segment": "vip"} from lines such as "segment = vip"; ValueError for a line without "="."""
    attributes: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                _("“%(line)s” is not an attribute; write one per line as key = value.")
                % {"line": line.strip()}
            )
        attributes[key.strip()] = value.strip()
    return attributes


def format_attributes(attributes: dict[str, Any]) -> str:
    return "\n".join(f"{key} = {value}" for key, value in (attributes or {}).items())


def check_conditions(tenant: Tenant, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The conditions of a policy from form-like data, and the field errors. Empty conditions are
    left out: a policy with none matches every conversation."""
    errors: dict[str, list[str]] = {}
    conditions: dict[str, Any] = {}
    channels = _ids(tenant, Channel, data.get("channels"))
    if channels is None:
        errors["channels"] = [_("Choose among this shop's channels.")]
    elif channels:
        conditions["channels"] = channels
    teams = _ids(tenant, Team, data.get("teams"))
    if teams is None:
        errors["teams"] = [_("Choose among this shop's teams.")]
    elif teams:
        conditions["teams"] = teams
    known_kinds = set(channel_kinds())
    wanted_kinds = _words(data.get("channel_kinds"))
    if set(wanted_kinds) - known_kinds:
        errors["channel_kinds"] = [_("Choose among the kinds of channel Frontdesk has.")]
    elif wanted_kinds:
        conditions["channel_kinds"] = wanted_kinds
    priorities = _words(data.get("priorities"))
    if set(priorities) - set(Priority.values):
        errors["priorities"] = [_("Choose among the priorities low, normal, high and urgent.")]
    elif priorities:
        conditions["priorities"] = priorities
    languages = [word.lower() for word in _words(data.get("languages"))]
    bad = [word for word in languages if not _LANGUAGE.match(word)]
    if bad:
        errors["languages"] = [
            _("“%(code)s” is not a language code; use two or three letters such as pl or en.")
            % {"code": bad[0]}
        ]
    elif languages:
        conditions["languages"] = languages
    tags = _words(data.get("tags"))
    if any(len(tag) > 50 for tag in tags):
        errors["tags"] = [_("A tag has at most 50 characters.")]
    elif tags:
        conditions["tags"] = tags
    raw_attributes = data.get("customer_attributes")
    try:
        attributes = (
            dict(raw_attributes)
            if isinstance(raw_attributes, dict)
            else parse_attributes(str(raw_attributes or ""))
        )
    except ValueError as exc:
        errors["customer_attributes"] = [str(exc)]
    else:
        if attributes:
            conditions["customer_attributes"] = attributes
    return conditions, errors


def _bounded_int(
    data: dict[str, Any], key: str, low: int, high: int, message: str, errors: dict[str, list[str]]
) -> int | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors[key] = [message]
        return None
    return value


def check_policy(tenant: Tenant, policy: SlaPolicy | None, data: dict[str, Any]) -> dict[str, Any]:
    """Validated fields of a policy from form-like data: name, enabled, the three targets as
    durations (texts: see parse_duration), business_hours, legal_days, warn_percent and the
    conditions. Raises Invalid with field errors."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Give the target a name of 1 to 100 characters.")]
    else:
        same_name = policies_of(tenant).filter(name=name)
        if policy is not None:
            same_name = same_name.exclude(pk=policy.pk)
        if same_name.exists():
            errors["name"] = [_("Another response-time target of this shop has this name.")]
    clean["name"] = name
    clean["enabled"] = bool(data.get("enabled"))
    for field in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        raw = data.get(field)
        try:
            clean[field] = raw if isinstance(raw, int) and raw > 0 else parse_duration(str(raw or ""))
        except ValueError as exc:
            errors[field] = [str(exc)]
    clean["business_hours"] = bool(data.get("business_hours"))
    clean["legal_days"] = _bounded_int(
        data,
        "legal_days",
        1,
        MAX_LEGAL_DAYS,
        _("Give a number of days from 1 to %(max)s.") % {"max": MAX_LEGAL_DAYS},
        errors,
    )
    warn = _bounded_int(data, "warn_percent", 1, 99, _("Give a percentage from 1 to 99."), errors)
    clean["warn_percent"] = 80 if warn is None else warn
    if not errors and not any(
        clean[field]
        for field in ("first_response_minutes", "next_response_minutes", "resolution_minutes", "legal_days")
    ):
        errors["first_response_minutes"] = [_("Give at least one target.")]
    conditions, condition_errors = check_conditions(tenant, data)
    errors.update(condition_errors)
    clean["conditions"] = conditions
    if errors:
        raise Invalid(fields=errors)
    return clean


def do_save_policy(member: Membership, policy: SlaPolicy | None, data: dict[str, Any]) -> SlaPolicy:
    """Create (policy None; it goes last in the order) or update a policy of the member's shop."""
    require(member, Role.ADMIN)
    tenant = member.tenant
    clean = check_policy(tenant, policy, data)
    try:
        with transaction.atomic():
            if policy is None:
                last = policies_of(tenant).select_for_update().aggregate(last=Max("position"))["last"]
                policy = SlaPolicy.objects.create(
                    tenant=tenant, position=0 if last is None else last + 1, **clean
                )
                kind = "sla_policy.created"
            else:
                for key, value in clean.items():
                    setattr(policy, key, value)
                policy.updated_at = timezone.now()
                policy.save(update_fields=[*clean, "updated_at"])
                kind = "sla_policy.updated"
            record_event(tenant, kind, actor=member, data={"policy": policy.pk, "name": policy.name})
    except IntegrityError:  # the same name saved by someone else a moment ago
        raise Invalid(
            fields={"name": [_("Another response-time target of this shop has this name.")]}
        ) from None
    return policy


def do_set_policy_enabled(member: Membership, policy: SlaPolicy, enabled: bool) -> None:
    require(member, Role.ADMIN)
    with transaction.atomic():
        policy.enabled, policy.updated_at = enabled, timezone.now()
        policy.save(update_fields=["enabled", "updated_at"])
        record_event(
            member.tenant,
            "sla_policy.enabled" if enabled else "sla_policy.disabled",
            actor=member,
            data={"policy": policy.pk, "name": policy.name},
        )


def do_move_policy(member: Membership, policy: SlaPolicy, direction: str) -> None:
    """Move a policy one place "up" (tried earlier) or "down". The shop's positions are numbered
    0, 1, 2… afresh, so equal positions left by older data cannot make a move do nothing."""
    require(member, Role.ADMIN)
    if direction not in ("up", "down"):
        raise Invalid(_("Unknown direction."))
    with transaction.atomic():
        order = list(policies_of(member.tenant).select_for_update())
        index = next((i for i, row in enumerate(order) if row.pk == policy.pk), None)
        if index is None:
            raise NotFound()
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(order):
            return  # already first (or last): nothing to move
        order[index], order[other] = order[other], order[index]
        now = timezone.now()
        for position, row in enumerate(order):
            if row.position != position:
                row.position, row.updated_at = position, now
                row.save(update_fields=["position", "updated_at"])
        record_event(
            member.tenant,
            "sla_policy.moved",
            actor=member,
            data={"policy": policy.pk, "order": [row.pk for row in order]},
        )
    policy.position = next(row.position for row in order if row.pk == policy.pk)


def do_delete_policy(member: Membership, policy: SlaPolicy) -> None:
    """Delete a policy. Conversations it timed keep their due times (sla_policy is set null), so a
    breach already on the way is still recorded."""
    require(member, Role.ADMIN)
    with transaction.atomic():
        record_event(
            member.tenant,
            "sla_policy.deleted",
            actor=member,
            data={"policy": policy.pk, "name": policy.name},
        )
        policy.delete()


def describe_conditions(tenant: Tenant, conditions: dict[str, Any]) -> list[str]:
    """The conditions in words, one line per kind ([] matches every conversation)."""
    lines: list[str] = []
    conditions = conditions or {}
    if conditions.get("channels"):
        names = Channel.objects.filter(tenant=tenant, pk__in=conditions["channels"]).values_list(
            "name", flat=True
        )
        lines.append(_("Channel: %(names)s") % {"names": ", ".join(sorted(names)) or "—"})
    if conditions.get("channel_kinds"):
        labels = []
        for kind in conditions["channel_kinds"]:
            try:
                labels.append(_(get_adapter(kind).label))
            except UnknownChannelKind:
                labels.append(kind)
        lines.append(_("Kind of channel: %(names)s") % {"names": ", ".join(labels)})
    if conditions.get("priorities"):
        labels = [
            str(Priority(value).label) for value in conditions["priorities"] if value in Priority.values
        ]
        lines.append(_("Priority: %(names)s") % {"names": ", ".join(labels)})
    if conditions.get("teams"):
        teams = Team.objects.filter(tenant=tenant, pk__in=conditions["teams"]).values_list("name", flat=True)
        lines.append(_("Team: %(names)s") % {"names": ", ".join(sorted(teams)) or "—"})
    if conditions.get("languages"):
        lines.append(_("Language: %(names)s") % {"names": ", ".join(conditions["languages"])})
    if conditions.get("tags"):
        lines.append(_("Tag: %(names)s") % {"names": ", ".join(conditions["tags"])})
    if conditions.get("customer_attributes"):
        pairs = ", ".join(f"{key} = {value}" for key, value in conditions["customer_attributes"].items())
        lines.append(_("Customer: %(pairs)s") % {"pairs": pairs})
    return lines


# --- The promise to customers (Tenant.service) -------------------------------------------------


def template_languages(tenant: Tenant) -> list[str]:
    """The languages whose acknowledgement the shop may word: those it uses that the
    acknowledgement speaks, and English when a language it uses is not spoken (English is then sent)."""
    languages = [code.split("-")[0].lower() for code in tenant.languages or []]
    spoken = [code for code in dict.fromkeys(languages) if code in TEMPLATES]
    if not spoken or len(spoken) < len(dict.fromkeys(languages)):
        spoken = [*spoken, "en"] if "en" not in spoken else spoken
    return spoken


def service_values(tenant: Tenant) -> dict[str, Any]:
    """The settings as the acknowledgement and the promise read them (defaults filled in)."""
    service = tenant.service or {}
    values: dict[str, Any] = {
        "acknowledge": service.get("acknowledge") is not False,
        "ack_period_hours": service.get("ack_period_hours") or DEFAULT_PERIOD_HOURS,
        "offer_call": bool(service.get("offer_call")),
    }
    for key, default in PROMISE_DEFAULTS.items():
        value = service.get(key)
        values[key] = default if value is None else value
    templates = service.get("ack_templates") or {}
    for language in template_languages(tenant):
        custom = templates.get(language)
        values[f"template_{language}"] = custom if isinstance(custom, str) else ""
    return values


def template_error(template: str) -> str | None:
    """Why a template cannot be sent (None: it can): an unknown placeholder, a stray brace."""
    try:
        fields = [
            name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None
        ]
    except ValueError:
        return _("A lone { or } in the text: write {{ or }} for a brace, or use a placeholder.")
    for name in fields:
        if name not in PLACEHOLDERS:
            return _("Unknown placeholder {%(name)s}: use {number}, {who}, {when} or {status_url}.") % {
                "name": name
            }
    try:
        template.format(**SAMPLE_VALUES)
    except (KeyError, IndexError, ValueError, AttributeError):
        return _("This text cannot be filled in: use only {number}, {who}, {when} and {status_url}.")
    return None


def check_service_settings(tenant: Tenant, data: dict[str, Any]) -> dict[str, Any]:
    """The service keys from form-like data: acknowledge, ack_period_hours, template_<language>,
    promise_minutes (a duration), handling_minutes, margin_percent, round_minutes, offer_call.
    Returns the keys to merge into Tenant.service; raises Invalid with field errors."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {
        "acknowledge": bool(data.get("acknowledge")),
        "offer_call": bool(data.get("offer_call")),
    }
    period = _bounded_int(
        data, "ack_period_hours", 1, 720, _("Give a number of hours from 1 to 720."), errors
    )
    clean["ack_period_hours"] = period or DEFAULT_PERIOD_HOURS
    raw = data.get("promise_minutes")
    try:
        promise = raw if isinstance(raw, int) and raw > 0 else parse_duration(str(raw or ""))
    except ValueError as exc:
        errors["promise_minutes"] = [str(exc)]
        promise = None
    clean["promise_minutes"] = promise or PROMISE_DEFAULTS["promise_minutes"]
    bounds = {
        "handling_minutes": (1, 480, _("Give a number of minutes from 1 to 480.")),
        "margin_percent": (0, 500, _("Give a percentage from 0 to 500.")),
        "round_minutes": (1, 60, _("Give a number of minutes from 1 to 60.")),
    }
    for key, (low, high, message) in bounds.items():
        value = _bounded_int(data, key, low, high, str(message), errors)
        clean[key] = PROMISE_DEFAULTS[key] if value is None else value
    templates = dict((tenant.service or {}).get("ack_templates") or {})
    for language in template_languages(tenant):
        text = str(data.get(f"template_{language}") or "").strip()
        if not text:
            templates.pop(language, None)  # the built-in wording
            continue
        problem = (
            _("Keep the text under %(max)s characters.") % {"max": MAX_TEMPLATE_LENGTH}
            if len(text) > MAX_TEMPLATE_LENGTH
            else template_error(text)
        )
        if problem:
            errors[f"template_{language}"] = [problem]
        templates[language] = text
    clean["ack_templates"] = templates
    if errors:
        raise Invalid(fields=errors)
    return clean


def do_save_service_settings(member: Membership, data: dict[str, Any]) -> dict[str, Any]:
    """Save the promise settings into Tenant.service, keeping every key this form does not edit.
    Returns the stored dict."""
    require(member, Role.ADMIN)
    tenant = member.tenant
    clean = check_service_settings(tenant, data)
    with transaction.atomic():
        # Read again under a lock: a key another request saved a moment ago is kept.
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = dict(locked.service or {})
        service = {**before, **clean}
        locked.service = service
        locked.save(update_fields=["service"])
        changed = sorted(key for key in clean if before.get(key) != service[key])
        record_event(tenant, "service.updated", actor=member, data={"changed": changed})
    tenant.service = service
    return service


# --- The queue's order and automatic assignment (Tenant.service) --------------------------------

# Each number of the queue's weights with the range it may take. The tops stop typos (an extra
# zero or three), not choices: after_hours must be able to outweigh everything else, and a customer
# value may be counted in money.
WEIGHT_BOUNDS: dict[str, tuple[int, int]] = {
    "overdue": (0, 100_000),
    "overdue_per_hour": (0, 100_000),
    "overdue_max_extra": (0, 100_000),
    "due_soon": (0, 100_000),
    "due_horizon_hours": (0, 720),
    "priority_step": (0, 100_000),
    "channel_default": (0, 100_000),
    "waiting_per_hour": (0, 100_000),
    "waiting_max": (0, 100_000),
    "value_points": (0, 100_000),
    "value_full_at": (0, 1_000_000_000),
    "vip_points": (0, 100_000),
    "after_hours": (0, 10_000_000),
}
MAX_CHANNEL_POINTS = 100_000
MAX_OPEN = 500
MAX_REASSIGN_MINUTES = 7 * 24 * 60
MAX_TAG_LENGTH = 50
_ATTRIBUTE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def channel_field(kind: str) -> str:
    """The form field of a channel kind's points."""
    return f"channel_{kind}"


def queue_values(tenant: Tenant) -> dict[str, Any]:
    """The queue and assignment settings as the form shows them: a weight the shop has not set is
    "" (the default applies, and follows the default if it changes); auto-assign as assignment.py
    reads it (bad stored values shown as their default)."""
    own = (tenant.service or {}).get("queue_weights") or {}
    own_channels = own.get("channels") or {}
    values: dict[str, Any] = {key: own.get(key, "") for key in WEIGHT_BOUNDS}
    values["value_attribute"] = own.get("value_attribute") or ""
    values["vip_tag"] = own.get("vip_tag") or ""
    for kind in channel_kinds():
        values[channel_field(kind)] = own_channels.get(kind, "")
    auto = assignment_settings(tenant)
    values.update(
        auto_enabled=auto.enabled,
        auto_mode=auto.mode,
        auto_max_open=auto.max_open,
        auto_reassign_minutes=auto.reassign_minutes,
    )
    return {key: ("" if value is None else value) for key, value in values.items()}


def _optional_int(
    data: dict[str, Any], field: str, low: int, high: int, errors: dict[str, list[str]]
) -> int | None:
    """A whole number from low to high, None when the field is empty; an error beside it otherwise."""
    raw = data.get(field)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors[field] = [_("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]
        return None
    return value


def check_queue_settings(tenant: Tenant, data: dict[str, Any]) -> dict[str, Any]:
    """`queue_weights` and `auto_assign` from form-like data: the weights of WEIGHT_BOUNDS,
    channel_<kind> for each kind of the registry, value_attribute, vip_tag; auto_enabled, auto_mode,
    auto_max_open, auto_reassign_minutes. An empty weight is left out, so the default applies.
    Returns the two keys to put into Tenant.service; raises Invalid with field errors."""
    errors: dict[str, list[str]] = {}
    stored = (tenant.service or {}).get("queue_weights") or {}
    # Keys this form does not show (a channel kind no longer in the registry) are kept as they are.
    weights: dict[str, Any] = {
        key: value
        for key, value in stored.items()
        if key not in WEIGHT_BOUNDS and key not in ("channels", "value_attribute", "vip_tag")
    }
    for key, (low, high) in WEIGHT_BOUNDS.items():
        value = _optional_int(data, key, low, high, errors)
        if value is not None:
            weights[key] = value
    channels = {
        kind: points for kind, points in (stored.get("channels") or {}).items() if kind not in channel_kinds()
    }
    for kind in channel_kinds():
        value = _optional_int(data, channel_field(kind), 0, MAX_CHANNEL_POINTS, errors)
        if value is not None:
            channels[kind] = value
    if channels:
        weights["channels"] = channels
    attribute = str(data.get("value_attribute") or "").strip()
    if attribute and not _ATTRIBUTE.match(attribute):
        errors["value_attribute"] = [
            _("Give the name of a customer attribute: up to 50 letters, digits, _ and -.")
        ]
    elif attribute:
        weights["value_attribute"] = attribute
    vip_tag = str(data.get("vip_tag") or "").strip()
    if len(vip_tag) > MAX_TAG_LENGTH:
        errors["vip_tag"] = [_("A tag has at most 50 characters.")]
    elif vip_tag:
        weights["vip_tag"] = vip_tag
    mode = str(data.get("auto_mode") or ASSIGN_DEFAULTS["mode"])
    if mode not in ASSIGN_MODES:
        errors["auto_mode"] = [_("Choose balanced or round robin.")]
    max_open = _optional_int(data, "auto_max_open", 0, MAX_OPEN, errors)
    reassign = _optional_int(data, "auto_reassign_minutes", 0, MAX_REASSIGN_MINUTES, errors)
    if errors:
        raise Invalid(fields=errors)
    auto_assign = {
        **((tenant.service or {}).get("auto_assign") or {}),
        "enabled": bool(data.get("auto_enabled")),
        "mode": mode,
        "max_open": max_open or 0,
        "reassign_minutes": reassign or 0,
    }
    return {"queue_weights": weights, "auto_assign": auto_assign}


def _changed(before: dict[str, Any], after: dict[str, Any], prefix: str) -> list[str]:
    """Dotted names of the keys whose value differs, one level into nested dicts."""
    names: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) or isinstance(new, dict):
            names += _changed(
                old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}, f"{prefix}{key}."
            )
        elif old != new:
            names.append(f"{prefix}{key}")
    return names


def do_save_queue_settings(member: Membership, data: dict[str, Any]) -> dict[str, Any]:
    """Save the queue's weights and automatic assignment into Tenant.service, keeping every other
    key. The next ranking and the next assignment sweep read them. Returns the stored dict."""
    require(member, Role.ADMIN)
    tenant = member.tenant
    with transaction.atomic():
        # Read again under a lock (and check against what is stored now): keys another request
        # saved a moment ago are kept.
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        clean = check_queue_settings(locked, data)
        before = dict(locked.service or {})
        service = {**before, **clean}
        locked.service = service
        locked.save(update_fields=["service"])
        changed = _changed({key: before.get(key) or {} for key in clean}, clean, "")
        record_event(tenant, "service.updated", actor=member, data={"changed": changed})
    tenant.service = service
    return service
