"""Settings › Queue and assignment: the points that order the queue (desk/actions/queue.py) and
automatic assignment (desk/actions/assignment.py).

Every member may look (agents see why the queue hands them what it does); only admins change
anything, which the action enforces (desk/actions/service_settings.py). Each field shows the
default; an empty weight follows it.
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

from ..actions.assignment import BALANCED, DEFAULTS, ROUND_ROBIN
from ..actions.queue import DEFAULT_WEIGHTS
from ..actions.service_settings import (
    MAX_OPEN,
    MAX_REASSIGN_MINUTES,
    channel_field,
    do_save_queue_settings,
    queue_values,
)
from ..errors import ActionError, Forbidden
from ..models import Role
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view

# The weights in the page's groups, with their labels (the action holds their bounds).
DUE_FIELDS = {
    "overdue": gettext_lazy("Overdue"),
    "overdue_per_hour": gettext_lazy("Overdue: more per hour late"),
    "overdue_max_extra": gettext_lazy("Overdue: at most this much more"),
    "due_soon": gettext_lazy("Due soon: at most"),
    "due_horizon_hours": gettext_lazy("Due soon counts from (hours before the due time)"),
}
PRIORITY_FIELDS = {"priority_step": gettext_lazy("Each priority step above low")}
CUSTOMER_FIELDS = {
    "waiting_per_hour": gettext_lazy("Waiting: per hour"),
    "waiting_max": gettext_lazy("Waiting: at most"),
    "value_attribute": gettext_lazy("Customer attribute holding the customer's value"),
    "value_points": gettext_lazy("Customer value: at most"),
    "value_full_at": gettext_lazy("Customer value that gets all the points"),
    "vip_tag": gettext_lazy("VIP tag"),
    "vip_points": gettext_lazy("VIP tag on the conversation"),
}
AFTER_HOURS_FIELDS = {"after_hours": gettext_lazy("Arrived while closed")}
AUTO_FIELDS = ("auto_enabled", "auto_mode", "auto_max_open", "auto_reassign_minutes")
MODE_LABELS = {
    BALANCED: gettext_lazy("Balanced: the agent with the fewest open conversations"),
    ROUND_ROBIN: gettext_lazy("Round robin: agents take turns"),
}
_CHANGE_FORBIDDEN = gettext_lazy("Only an admin of this shop can change the queue and assignment.")


def _default(value: Any) -> str:
    return _("Default: %(value)s.") % {"value": value if value not in ("", None) else _("none")}


class QueueForm(forms.Form):
    """Every weight is optional text (the action parses and bounds it, with one message for all)."""

    auto_enabled = forms.BooleanField(
        label=gettext_lazy("Assign conversations to agents automatically"),
        required=False,
        help_text=gettext_lazy(
            "In the queue's order, to online agents of the conversation's team and language. "
            "Live chats are left to the chat router. Default: off."
        ),
    )
    auto_mode = forms.ChoiceField(
        label=gettext_lazy("Who gets the next one"),
        choices=list(MODE_LABELS.items()),
        widget=forms.RadioSelect,
    )
    auto_max_open = forms.CharField(
        label=gettext_lazy("At most open conversations per agent"), required=False, max_length=6
    )
    auto_reassign_minutes = forms.CharField(
        label=gettext_lazy("Pass to another agent when not answered within (minutes)"),
        required=False,
        max_length=6,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = {**DUE_FIELDS, **PRIORITY_FIELDS, **CUSTOMER_FIELDS, **AFTER_HOURS_FIELDS}
        for name, label in numbers.items():
            default = DEFAULT_WEIGHTS[name]
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=12 if name not in ("value_attribute", "vip_tag") else 60,
                widget=forms.TextInput(attrs={"placeholder": str(default)}),
                help_text=_default(default),
            )
        self.fields["value_attribute"].help_text = " ".join(
            [
                _(
                    "A number in this attribute gives points up to the most; true gives all. "
                    "Empty: customer value does not count."
                ),
                _default(DEFAULT_WEIGHTS["value_attribute"]),
            ]
        )
        self.fields["vip_tag"].help_text = " ".join(
            [_("Any case. To ignore the tag, give it 0 points."), _default(DEFAULT_WEIGHTS["vip_tag"])]
        )
        self.fields["after_hours"].help_text = " ".join(
            [
                _("Such conversations come first at opening, in arrival order."),
                _default(DEFAULT_WEIGHTS["after_hours"]),
            ]
        )
        for kind in kinds():
            default = DEFAULT_WEIGHTS["channels"].get(kind, DEFAULT_WEIGHTS["channel_default"])
            self.fields[channel_field(kind)] = forms.CharField(
                label=_("Channel: %(kind)s") % {"kind": _(get_adapter(kind).label)},
                required=False,
                max_length=12,
                widget=forms.TextInput(attrs={"placeholder": str(default)}),
                help_text=_default(default),
            )
        self.fields["channel_default"] = forms.CharField(
            label=gettext_lazy("Any other kind of channel"),
            required=False,
            max_length=12,
            widget=forms.TextInput(attrs={"placeholder": str(DEFAULT_WEIGHTS["channel_default"])}),
            help_text=_default(DEFAULT_WEIGHTS["channel_default"]),
        )
        self.fields["auto_max_open"].help_text = " ".join(
            [
                _("Live chats do not count. 0: no limit; at most %(max)s.") % {"max": MAX_OPEN},
                _default(DEFAULTS["max_open"]),
            ]
        )
        self.fields["auto_reassign_minutes"].help_text = " ".join(
            [
                _(
                    "Only what was assigned automatically; never back to the same agent. "
                    "0: never; at most %(max)s (a week)."
                )
                % {"max": MAX_REASSIGN_MINUTES},
                _default(DEFAULTS["reassign_minutes"]),
            ]
        )
        self.fields["auto_mode"].help_text = _default(MODE_LABELS[DEFAULTS["mode"]])


def _queue_page(request: MemberRequest, form: QueueForm, *, status: int = 200) -> HttpResponse:
    channel_names = [channel_field(kind) for kind in kinds()] + ["channel_default"]
    groups = [
        (_("Due time"), [form[name] for name in DUE_FIELDS]),
        (_("Priority and channel"), [form[name] for name in [*PRIORITY_FIELDS, *channel_names]]),
        (_("Waiting and the customer"), [form[name] for name in CUSTOMER_FIELDS]),
        (_("Business hours"), [form[name] for name in AFTER_HOURS_FIELDS]),
    ]
    return page(
        request,
        "queue.html",
        {
            "section": "settings_queue",
            "form": form,
            "weight_groups": groups,
            "auto_fields": [form[name] for name in AUTO_FIELDS],
            "can_edit": request.member.is_admin,
        },
        status=status,
    )


@settings_view(Role.AGENT, methods=("GET", "POST"))
def queue_settings(request: MemberRequest) -> HttpResponse:
    """The queue's weights and automatic assignment; POST saves them."""
    tenant = request.member.tenant
    if request.method != "POST":
        return _queue_page(request, QueueForm(initial=queue_values(tenant)))
    # Checked here too (the action checks again) so an agent's POST is a 403, never field errors.
    if not request.member.is_admin:
        raise Forbidden(_CHANGE_FORBIDDEN)
    form = QueueForm(request.POST)
    if not form.is_valid():
        return _queue_page(request, form, status=422)
    try:
        do_save_queue_settings(request.member, form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return _queue_page(request, form, status=exc.status)
    messages.success(request, _("The queue and assignment settings are saved."))
    return redirect("settings_queue", tenant.slug)
