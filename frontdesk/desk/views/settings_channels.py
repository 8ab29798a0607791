"""Channels: add one of a registered kind, edit its settings, disable it, rotate its secrets, see
the addresses to connect it and what it received lately (the ingestion log)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontdesk.channels.registry import UnknownChannelKind, get_adapter, kinds

from ..access import access_channel
from ..actions.admin import do_create_channel, do_rotate_channel_secrets, do_update_channel
from ..errors import ActionError, Invalid
from ..models import Channel, RawInbound, RawState, Role
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_config_form import PREFIX, config_form, form_to_config
from .settings_forms import ChannelNameForm

# Secrets are shown once, on the page that follows creating the channel or rotating them. The
# session holds only which channel's secrets to show, never the secrets.
_REVEAL_KEY = "settings.reveal_channel_secrets"
INGESTION_LOG_SIZE = 50

# Names of the addresses adapters publish (public_urls); unknown keys are shown as they are.
URL_LABELS: dict[str, Any] = {
    "inbound_url": gettext_lazy("Inbound webhook URL"),
    "form_url": gettext_lazy("Form address"),
    "embed_snippet": gettext_lazy("Code to embed in your site"),
}
SECRET_LABELS: dict[str, Any] = {"signing_secret": gettext_lazy("Signing secret")}


def kind_label(kind: str) -> str:
    try:
        return _(get_adapter(kind).label)
    except UnknownChannelKind:
        return kind


def channel_status(channel: Channel) -> tuple[str, str]:
    """(css class, label) of a channel's state."""
    if channel.disabled:
        return "disabled", _("Disabled")
    if channel.last_error:
        return "error", _("Error")
    return "active", _("Active")


@settings_view(Role.ADMIN)
def channels(request: MemberRequest) -> HttpResponse:
    rows = [
        {"channel": c, "kind_label": kind_label(c.kind), "status": channel_status(c)}
        for c in Channel.objects.filter(tenant=request.member.tenant).order_by("name")
    ]
    choices = [{"kind": k, "label": kind_label(k)} for k in kinds()]
    return page(request, "channels.html", {"section": "settings_channels", "rows": rows, "kinds": choices})


def _adapter_or_404(kind: str) -> Any:
    if kind not in kinds():
        raise Http404
    return get_adapter(kind)


def _save_forms(
    request: MemberRequest, adapter: Any, channel: Channel | None
) -> tuple[forms.Form, forms.Form]:
    if request.method == "POST":
        return ChannelNameForm(request.POST), config_form(adapter, data=request.POST)
    name_initial = {"name": channel.name} if channel else {}
    return ChannelNameForm(initial=name_initial), config_form(
        adapter, config=channel.config if channel else None
    )


def _apply_channel_errors(name_form: forms.Form, cfg_form: forms.Form, exc: ActionError) -> None:
    config_fields = {k: v for k, v in exc.fields.items() if k.startswith(f"{PREFIX}.")}
    other = {k: v for k, v in exc.fields.items() if not k.startswith(f"{PREFIX}.")}
    if config_fields:
        apply_errors(cfg_form, Invalid(exc.message, fields=config_fields), prefix=f"{PREFIX}.")
    if other or not config_fields:
        apply_errors(name_form, type(exc)(exc.message, code=exc.code, fields=other))


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def channel_new(request: MemberRequest, kind: str) -> HttpResponse:
    adapter = _adapter_or_404(kind)
    name_form, cfg_form = _save_forms(request, adapter, None)
    status = 200
    if request.method == "POST":
        if name_form.is_valid() and cfg_form.is_valid():
            try:
                channel = do_create_channel(
                    request.member, kind, name_form.cleaned_data["name"], form_to_config(cfg_form)
                )
            except ActionError as exc:
                _apply_channel_errors(name_form, cfg_form, exc)
                status = exc.status
            else:
                request.session[_REVEAL_KEY] = channel.pk
                messages.success(request, _("The channel %(name)s is ready.") % {"name": channel.name})
                return redirect("settings_channel", request.member.tenant.slug, channel.pk)
        else:
            status = 422
    return page(
        request,
        "channel_new.html",
        {
            "section": "settings_channels",
            "kind": kind,
            "kind_label": kind_label(kind),
            "name_form": name_form,
            "config_form": cfg_form,
        },
        status=status,
    )


def _public_urls(adapter: Any, channel: Channel) -> list[dict[str, Any]]:
    rows = []
    for key, value in adapter.public_urls(channel).items():
        text = str(value)
        rows.append(
            {
                "key": key,
                "label": URL_LABELS.get(key, key.replace("_", " ").capitalize()),
                "value": text,
                "multiline": "\n" in text or len(text) > 120,
            }
        )
    return rows


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def channel_detail(request: MemberRequest, channel_id: int) -> HttpResponse:
    member = request.member
    channel = access_channel(member, channel_id)
    try:
        adapter = channel.adapter
    except UnknownChannelKind:
        adapter = None
    status = 200
    error = ""
    if adapter is not None:
        name_form, cfg_form = _save_forms(request, adapter, channel)
    else:
        name_form, cfg_form = ChannelNameForm(initial={"name": channel.name}), forms.Form()
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "save":
                if adapter is None:
                    raise Invalid(_("This kind of channel is no longer installed."), code="unknown_kind")
                if not (name_form.is_valid() and cfg_form.is_valid()):
                    status = 422
                else:
                    do_update_channel(
                        member, channel, name=name_form.cleaned_data["name"], config=form_to_config(cfg_form)
                    )
                    messages.success(request, _("The channel's settings are saved."))
                    return redirect("settings_channel", member.tenant.slug, channel.pk)
            elif action in ("disable", "enable"):
                do_update_channel(member, channel, disabled=action == "disable")
                messages.success(
                    request,
                    _("The channel is disabled: it accepts no messages and sends none.")
                    if action == "disable"
                    else _("The channel is enabled."),
                )
                return redirect("settings_channel", member.tenant.slug, channel.pk)
            elif action == "rotate":
                do_rotate_channel_secrets(member, channel)
                request.session[_REVEAL_KEY] = channel.pk
                messages.success(
                    request, _("New secrets are made. The old ones stop working now: update your systems.")
                )
                return redirect("settings_channel", member.tenant.slug, channel.pk)
            else:
                raise Invalid(_("Unknown action."))
        except ActionError as exc:
            if exc.status == 404:
                raise
            channel.refresh_from_db()
            status = exc.status
            if action == "save":
                _apply_channel_errors(name_form, cfg_form, exc)
            else:
                error = exc.message
    revealed: list[dict[str, Any]] = []
    if request.method == "GET" and request.session.get(_REVEAL_KEY) == channel.pk:
        del request.session[_REVEAL_KEY]
        revealed = [
            {"key": k, "label": SECRET_LABELS.get(k, k.replace("_", " ").capitalize()), "value": v}
            for k, v in channel.secrets.items()
        ]
    state = request.GET.get("state", "")
    log = RawInbound.objects.filter(tenant=member.tenant, channel=channel).only(
        "received_at", "state", "error", "remote_addr", "content_type"
    )
    if state in RawState.values:
        log = log.filter(state=state)
    else:
        state = ""
    return page(
        request,
        "channel.html",
        {
            "section": "settings_channels",
            "channel": channel,
            "kind_label": kind_label(channel.kind),
            "status_info": channel_status(channel),
            "name_form": name_form,
            "config_form": cfg_form,
            "has_adapter": adapter is not None,
            "has_secrets": bool(adapter and adapter.secret_fields),
            "public_urls": _public_urls(adapter, channel) if adapter else [],
            "revealed": revealed,
            "error": error,
            "log": list(log.order_by("-received_at", "-id")[:INGESTION_LOG_SIZE]),
            "log_size": INGESTION_LOG_SIZE,
            "log_state": state,
            "log_states": RawState.choices,
        },
        status=status,
    )
