"""Response times (the shop's SLA policies, in the order they are tried) and the promise to
customers (the acknowledgement and how the promised time is computed).

Every member may look (agents answer against these targets); only admins change anything, which
the actions enforce (desk/actions/service_settings.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontdesk.channels.registry import get_adapter, kinds

from ..actions.acknowledge import TEMPLATES, TODAY, WHO_SHOP
from ..actions.service_settings import (
    CONDITION_KEYS,
    SAMPLE_VALUES,
    access_policy,
    describe_conditions,
    do_delete_policy,
    do_move_policy,
    do_save_policy,
    do_save_service_settings,
    do_set_policy_enabled,
    format_attributes,
    format_duration,
    policies_of,
    service_values,
    template_error,
    template_languages,
)
from ..errors import ActionError, Forbidden, Invalid
from ..models import Channel, Priority, Role, SlaPolicy, Team, Tenant
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_forms import language_name, set_choices

TARGET_FIELDS = (
    "name",
    "enabled",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "business_hours",
    "legal_days",
    "warn_percent",
)
ACK_FIELDS = ("acknowledge", "ack_period_hours")
PROMISE_FIELDS = ("promise_minutes", "handling_minutes", "margin_percent", "round_minutes")
_DURATION_HELP = gettext_lazy("Minutes (90) or hours and minutes (1h 30m); empty: no target.")
_CHANGE_FORBIDDEN = gettext_lazy("Only an admin of this shop can change response times and the promise.")


class _AnyOf(forms.MultipleChoiceField):
    """Checkboxes whose values the action checks (with a message that says what is wrong, such as
    another shop's channel) rather than Django's generic "not one of the available choices"."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: str) -> bool:
        return True


class PolicyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    first_response_minutes = forms.CharField(
        label=gettext_lazy("First response within"), required=False, max_length=30, help_text=_DURATION_HELP
    )
    next_response_minutes = forms.CharField(
        label=gettext_lazy("Next response within"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("After each customer message once the shop has answered."),
    )
    resolution_minutes = forms.CharField(
        label=gettext_lazy("Resolved within"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("Paused while the conversation waits on the customer."),
    )
    business_hours = forms.BooleanField(
        label=gettext_lazy("Count business hours only"),
        required=False,
        help_text=gettext_lazy("Untick to count every hour of the day and night."),
    )
    legal_days = forms.CharField(
        label=gettext_lazy("Legal deadline (calendar days)"),
        required=False,
        max_length=4,
        help_text=gettext_lazy("For example 14 for a consumer complaint in Poland; never paused."),
    )
    warn_percent = forms.CharField(
        label=gettext_lazy("Warn when this share of the time has passed (%)"),
        max_length=3,
        help_text=gettext_lazy("From 1 to 99; 80 warns when a fifth of the time is left."),
    )
    channels = _AnyOf(label=gettext_lazy("Channels"), required=False)
    channel_kinds = _AnyOf(label=gettext_lazy("Kinds of channel"), required=False)
    priorities = _AnyOf(label=gettext_lazy("Priorities"), required=False)
    teams = _AnyOf(label=gettext_lazy("Teams"), required=False)
    languages = forms.CharField(
        label=gettext_lazy("Languages"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Language codes separated by commas, such as pl, en."),
    )
    tags = forms.CharField(
        label=gettext_lazy("Conversation tags"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Separated by commas; any one of them matches."),
    )
    customer_attributes = forms.CharField(
        label=gettext_lazy("Customer attributes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "segment = vip"}),
        help_text=gettext_lazy("One per line as key = value; all of them must match."),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = Channel.objects.filter(tenant=tenant).values_list("pk", "name")
        set_choices(self, "channels", [(str(pk), name) for pk, name in channels])
        teams = Team.objects.filter(tenant=tenant).values_list("pk", "name")
        set_choices(self, "teams", [(str(pk), name) for pk, name in teams])
        set_choices(self, "channel_kinds", [(kind, _(get_adapter(kind).label)) for kind in kinds()])
        set_choices(self, "priorities", Priority.choices)


def _initial(policy: SlaPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {"enabled": True, "business_hours": True, "warn_percent": "80", "first_response_minutes": "4h"}
    conditions = policy.conditions or {}
    return {
        "name": policy.name,
        "enabled": policy.enabled,
        "first_response_minutes": format_duration(policy.first_response_minutes),
        "next_response_minutes": format_duration(policy.next_response_minutes),
        "resolution_minutes": format_duration(policy.resolution_minutes),
        "business_hours": policy.business_hours,
        "legal_days": str(policy.legal_days or ""),
        "warn_percent": str(policy.warn_percent),
        "channels": [str(pk) for pk in conditions.get("channels") or []],
        "channel_kinds": conditions.get("channel_kinds") or [],
        "priorities": conditions.get("priorities") or [],
        "teams": [str(pk) for pk in conditions.get("teams") or []],
        "languages": ", ".join(conditions.get("languages") or []),
        "tags": ", ".join(conditions.get("tags") or []),
        "customer_attributes": format_attributes(conditions.get("customer_attributes") or {}),
    }


def _targets(policy: SlaPolicy) -> list[str]:
    targets = []
    if policy.first_response_minutes:
        targets.append(
            _("first response %(time)s") % {"time": format_duration(policy.first_response_minutes)}
        )
    if policy.next_response_minutes:
        targets.append(_("next response %(time)s") % {"time": format_duration(policy.next_response_minutes)})
    if policy.resolution_minutes:
        targets.append(_("resolved %(time)s") % {"time": format_duration(policy.resolution_minutes)})
    if policy.legal_days:
        targets.append(_("legal deadline %(days)s days") % {"days": policy.legal_days})
    return targets


def _require_admin(request: MemberRequest) -> None:
    # Checked here too (the actions check again) so an agent's POST is refused before its form is
    # validated: a 403, never a list of field errors.
    if not request.member.is_admin:
        raise Forbidden(_CHANGE_FORBIDDEN)


@settings_view(Role.AGENT)
def policies(request: MemberRequest) -> HttpResponse:
    """The shop's response-time targets in the order they are tried."""
    tenant = request.member.tenant
    rows = list(policies_of(tenant))
    items = [
        {
            "policy": row,
            "targets": _targets(row),
            "conditions": describe_conditions(tenant, row.conditions),
            "first": index == 0,
            "last": index == len(rows) - 1,
        }
        for index, row in enumerate(rows)
    ]
    return page(
        request,
        "sla_policies.html",
        {"section": "settings_sla_policies", "items": items, "can_edit": request.member.is_admin},
    )


def _edit_page(
    request: MemberRequest, policy: SlaPolicy | None, form: PolicyForm, *, status: int = 200
) -> HttpResponse:
    return page(
        request,
        "sla_policy.html",
        {
            "section": "settings_sla_policies",
            "policy": policy,
            "form": form,
            "target_fields": [form[name] for name in TARGET_FIELDS],
            "condition_fields": [form[name] for name in CONDITION_KEYS],
            "can_edit": request.member.is_admin,
        },
        status=status,
    )


@settings_view(Role.AGENT, methods=("GET", "POST"))
def policy_new(request: MemberRequest) -> HttpResponse:
    """A new policy (last in the order); POST creates it."""
    tenant = request.member.tenant
    if request.method != "POST":
        return _edit_page(request, None, PolicyForm(initial=_initial(None), tenant=tenant))
    _require_admin(request)
    form = PolicyForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _edit_page(request, None, form, status=422)
    try:
        row = do_save_policy(request.member, None, form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return _edit_page(request, None, form, status=exc.status)
    messages.success(request, _("The response-time target %(name)s is created.") % {"name": row.name})
    return redirect("settings_sla_policies", tenant.slug)


@settings_view(Role.AGENT, methods=("GET", "POST"))
def policy_detail(request: MemberRequest, policy_id: int) -> HttpResponse:
    """One policy; POST with `action`: save, delete, enable, disable, up, down."""
    row = access_policy(request.member, policy_id)
    tenant = request.member.tenant
    if request.method != "POST":
        return _edit_page(request, row, PolicyForm(initial=_initial(row), tenant=tenant))
    _require_admin(request)
    action = request.POST.get("action", "save")
    listing = redirect("settings_sla_policies", tenant.slug)
    if action in ("up", "down"):
        do_move_policy(request.member, row, action)
        return listing
    if action in ("enable", "disable"):
        do_set_policy_enabled(request.member, row, action == "enable")
        return listing
    if action == "delete":
        do_delete_policy(request.member, row)
        messages.success(request, _("The response-time target %(name)s is deleted.") % {"name": row.name})
        return listing
    if action != "save":
        raise Invalid(_("Unknown action."))
    form = PolicyForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _edit_page(request, row, form, status=422)
    try:
        do_save_policy(request.member, row, form.cleaned_data)
    except ActionError as exc:
        row.refresh_from_db()
        apply_errors(form, exc)
        return _edit_page(request, row, form, status=exc.status)
    messages.success(request, _("The response-time target %(name)s is saved.") % {"name": row.name})
    return listing


# --- The promise to customers ------------------------------------------------------------------


def _sample(language: str) -> dict[str, str]:
    """What a preview fills a template with: a conversation handled by the shop, due today."""
    return {**SAMPLE_VALUES, "who": WHO_SHOP[language], "when": TODAY[language].format(time="14:30")}


def preview(template: str, language: str) -> str:
    """The acknowledgement a customer writing in `language` would get (the built-in wording when
    the shop's own cannot be filled in, as acknowledge.py does)."""
    text = template.strip() or TEMPLATES[language]
    if template_error(text):
        text = TEMPLATES[language]
    return text.format(**_sample(language))


class ServiceForm(forms.Form):
    acknowledge = forms.BooleanField(
        label=gettext_lazy("Acknowledge every new message"),
        required=False,
        help_text=gettext_lazy(
            "The customer is told the reference number, who handles it and by when they answer."
        ),
    )
    ack_period_hours = forms.CharField(
        label=gettext_lazy("At most once per conversation every (hours)"), max_length=4
    )
    promise_minutes = forms.CharField(
        label=gettext_lazy("Promise when no response-time target applies"),
        max_length=30,
        help_text=gettext_lazy("Business time, such as 3h; the queue may make the promise later."),
    )
    handling_minutes = forms.CharField(
        label=gettext_lazy("Handling time of one conversation (minutes)"), max_length=4
    )
    margin_percent = forms.CharField(
        label=gettext_lazy("Safety margin (%)"),
        max_length=4,
        help_text=gettext_lazy("Added to the queue's estimate, so the promise is one the shop keeps."),
    )
    round_minutes = forms.CharField(
        label=gettext_lazy("Round the promised time up to (minutes)"),
        max_length=3,
        help_text=gettext_lazy("15 promises 14:30 rather than 14:23."),
    )
    offer_call = forms.BooleanField(
        label=gettext_lazy("Customers may ask for a phone call"),
        required=False,
        help_text=gettext_lazy("Offered on the customer's status page, with a time window."),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for language in template_languages(tenant):
            self.fields[f"template_{language}"] = forms.CharField(
                label=_("Acknowledgement in %(language)s") % {"language": language_name(language)},
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3, "placeholder": TEMPLATES[language]}),
                help_text=_(
                    "Empty: the built-in text shown greyed. "
                    "Placeholders: {number}, {who}, {when}, {status_url}."
                ),
            )


def _service_page(request: MemberRequest, form: ServiceForm, *, status: int = 200) -> HttpResponse:
    tenant = request.member.tenant
    stored = service_values(tenant)
    previews = [
        {"language": language_name(language), "text": preview(stored[f"template_{language}"], language)}
        for language in template_languages(tenant)
    ]
    return page(
        request,
        "promise.html",
        {
            "section": "settings_promise",
            "form": form,
            "ack_fields": [
                field for field in form if field.name in ACK_FIELDS or field.name.startswith("template_")
            ],
            "promise_fields": [form[name] for name in PROMISE_FIELDS],
            "status_fields": [form["offer_call"]],
            "previews": previews,
            "can_edit": request.member.is_admin,
        },
        status=status,
    )


def _service_initial(tenant: Tenant) -> dict[str, Any]:
    values = service_values(tenant)
    values["promise_minutes"] = format_duration(int(values["promise_minutes"]))
    return values


@settings_view(Role.AGENT, methods=("GET", "POST"))
def promise(request: MemberRequest) -> HttpResponse:
    """The acknowledgement and the promise; POST saves them."""
    tenant = request.member.tenant
    if request.method != "POST":
        return _service_page(request, ServiceForm(initial=_service_initial(tenant), tenant=tenant))
    _require_admin(request)
    form = ServiceForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _service_page(request, form, status=422)
    try:
        do_save_service_settings(request.member, form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return _service_page(request, form, status=exc.status)
    messages.success(request, _("The promise to customers is saved."))
    return redirect("settings_promise", tenant.slug)
