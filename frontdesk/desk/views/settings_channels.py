"""Channels: add one of a registered kind, edit its settings (typed-in secrets are write-only),
test its connections, disable it, rotate its secrets, see the addresses to connect it and what it
received lately (the ingestion log, with the quarantine: download a payload, process it again)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic
from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from frontdesk.channels import ratelimit
from frontdesk.channels.registry import UnknownChannelKind, get_adapter, kinds

from ..access import access_channel, access_raw_inbound
from ..actions.admin import (
    do_create_channel,
    do_reprocess_raw,
    do_rotate_channel_secrets,
    do_set_channel_secrets,
    do_update_channel,
    generated_secret_names,
    typed_secret_names,
)
from ..actions.calendars import calendars_of, do_set_calendar
from ..errors import ActionError, Invalid
from ..models import Channel, MailboxState, RawInbound, RawState, Role
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_config_form import (
    PREFIX,
    config_form,
    config_languages,
    form_sections,
    form_to_config,
    presets_of,
    secret_changes,
    secrets_form,
)
from .settings_forms import ChannelNameForm
from .settings_layouts import SECRET_LABELS
from .workspace import is_htmx

# Secrets are shown once, on the page that follows creating the channel or rotating them. The
# session holds only which channel's secrets to show, never the secrets.
_REVEAL_KEY = "settings.reveal_channel_secrets"
INGESTION_LOG_SIZE = 50
# The log's filter for what needs an admin's eye: payloads refused or failed in processing.
QUARANTINE = "quarantine"
QUARANTINE_STATES = (RawState.REJECTED, RawState.FAILED)

# Names of the addresses adapters publish (public_urls); unknown keys are shown as they are.
URL_LABELS: dict[str, Any] = {
    "inbound_url": gettext_lazy("Inbound webhook URL"),
    "form_url": gettext_lazy("Form address"),
    "embed_snippet": gettext_lazy("Code to embed in your site"),
    "try_url": gettext_lazy("A test page with the chat, to try it"),
}
# Connection tests offered by kinds that have them: action name → (kind, test).
CHECKS = {"check_imap": ("email", "imap"), "check_smtp": ("email", "smtp")}


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
    quarantined = dict(
        RawInbound.objects.filter(tenant=request.member.tenant, state__in=QUARANTINE_STATES)
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    rows = [
        {
            "channel": c,
            "kind_label": kind_label(c.kind),
            "status": channel_status(c),
            "quarantined": quarantined.get(c.pk, 0),
        }
        for c in Channel.objects.filter(tenant=request.member.tenant).order_by("name")
    ]
    choices = [{"kind": k, "label": kind_label(k)} for k in kinds()]
    return page(request, "channels.html", {"section": "settings_channels", "rows": rows, "kinds": choices})


def _adapter_or_404(kind: str) -> Any:
    if kind not in kinds():
        raise Http404
    return get_adapter(kind)


@dataclass
class ChannelForms:
    """The forms of a channel's settings page: name, the adapter's config, typed-in secrets."""

    name: forms.Form
    config: forms.Form
    secrets: forms.Form
    typed_secrets: tuple[str, ...]

    def is_valid(self) -> bool:
        # Every form is validated, so each shows its own errors.
        return all([self.name.is_valid(), self.config.is_valid(), self.secrets.is_valid()])


def _channel_forms(request: MemberRequest, adapter: Any, channel: Channel | None) -> ChannelForms:
    config = channel.config if channel else None
    languages = config_languages(adapter, list(request.member.tenant.languages or []), config)
    typed = typed_secret_names(adapter)
    if request.method == "POST":
        return ChannelForms(
            ChannelNameForm(request.POST),
            config_form(adapter, data=request.POST, languages=languages),
            secrets_form(typed, data=request.POST),
            typed,
        )
    name_initial = {"name": channel.name} if channel else {}
    return ChannelForms(
        ChannelNameForm(initial=name_initial),
        config_form(adapter, config=config, languages=languages),
        secrets_form(typed),
        typed,
    )


def _apply_channel_errors(f: ChannelForms, exc: ActionError) -> None:
    config_fields = {k: v for k, v in exc.fields.items() if k.startswith(f"{PREFIX}.")}
    secret_fields = {k: v for k, v in exc.fields.items() if k.startswith("secrets.")}
    other = {k: v for k, v in exc.fields.items() if k not in config_fields and k not in secret_fields}
    if config_fields:
        apply_errors(f.config, Invalid(exc.message, fields=config_fields), prefix=f"{PREFIX}.")
    if secret_fields:
        apply_errors(f.secrets, Invalid(exc.message, fields=secret_fields), prefix="secrets.")
    if other or not (config_fields or secret_fields):
        apply_errors(f.name, type(exc)(exc.message, code=exc.code, fields=other))


def _form_context(
    adapter: Any, f: ChannelForms, channel: Channel | None, check_results: dict[str, Any]
) -> dict[str, Any]:
    stored = set(channel.secrets) if channel else set()
    sections = form_sections(adapter, f.config, f.secrets, stored)
    for section in sections:
        section["result"] = check_results.get(section["check"])
    presets = presets_of(adapter)
    return {
        "name_form": f.name,
        "config_form": f.config,
        "secrets_form": f.secrets,
        "sections": sections,
        "presets": presets,
        # Read by settings.js (channelPresets); autoescaped into the attribute.
        "presets_json": json.dumps({p["key"]: p["json"] for p in presets}),
    }


# --- Connection tests ----------------------------------------------------------------------------


def _check_secrets(f: ChannelForms, channel: Channel | None) -> dict[str, str]:
    """The secrets as they would be after saving: typed ones, else the stored ones unless cleared."""
    secrets_ = dict(channel.secrets) if channel else {}
    for name, value in secret_changes(f.secrets, f.typed_secrets).items():
        if value:
            secrets_[name] = value
        else:
            secrets_.pop(name, None)
    return secrets_


def _connection_test(
    request: MemberRequest, f: ChannelForms, channel: Channel | None, which: str
) -> tuple[Any, int]:
    """Test the connection with the settings as typed on the page (saved or not). Returns the
    result to show and the status: 422 when the settings themselves are not usable."""
    from frontdesk.channels.email.check import CheckResult, check_imap, check_smtp, run_check
    from frontdesk.channels.email.config import Config

    # The channel's name does not matter for a test: only its settings and secrets.
    if not (f.config.is_valid() & f.secrets.is_valid()):
        problems = [
            f"{form.fields[name].label if name in form.fields else name}: {' '.join(str(e) for e in errors)}"
            for form in (f.config, f.secrets)
            for name, errors in form.errors.items()
        ]
        return CheckResult("failed", _("Correct these settings first."), problems), 422
    try:
        config = Config.model_validate(form_to_config(f.config))
    except pydantic.ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return CheckResult(
            "failed", _("The settings are not complete: %(problems)s") % {"problems": reasons}
        ), 422
    over = ratelimit.hit("FRONTDESK_RATE_CONNECTION_TEST_PER_TENANT", str(request.member.tenant_id))
    if over is not None:
        minutes = max(1, round(over.retry_after / 60))
        message = ngettext(
            "Too many connection tests: try again in %(n)d minute.",
            "Too many connection tests: try again in %(n)d minutes.",
            minutes,
        ) % {"n": minutes}
        return CheckResult("failed", message), 429
    check = check_imap if which == "imap" else check_smtp
    return run_check(check, config, _check_secrets(f, channel)), 200


def _check_response(request: MemberRequest, which: str, result: Any, status: int) -> HttpResponse:
    """The result alone, for the page's test button (htmx swaps it in beside the button)."""
    return render(
        request, "desk/settings/_check_result.html", {"check": which, "result": result}, status=status
    )


def _check_action(adapter: Any, action: str) -> str:
    """The test an action asks for ("imap", "smtp"), or an Invalid error for this kind."""
    kind, which = CHECKS[action]
    if adapter is None or adapter.kind != kind:
        raise Invalid(_("This kind of channel has no connection test."), code="no_check")
    return which


# --- Pages ------------------------------------------------------------------------------------------


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def channel_new(request: MemberRequest, kind: str) -> HttpResponse:
    adapter = _adapter_or_404(kind)
    f = _channel_forms(request, adapter, None)
    status = 200
    check_results: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in CHECKS:
            which = _check_action(adapter, action)
            result, status = _connection_test(request, f, None, which)
            if is_htmx(request):
                return _check_response(request, which, result, status)
            check_results[which] = result
        elif f.is_valid():
            try:
                with transaction.atomic():
                    channel = do_create_channel(
                        request.member, kind, f.name.cleaned_data["name"], form_to_config(f.config)
                    )
                    changes = secret_changes(f.secrets, f.typed_secrets)
                    if changes:
                        do_set_channel_secrets(request.member, channel, changes)
            except ActionError as exc:
                _apply_channel_errors(f, exc)
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
            **_form_context(adapter, f, None, check_results),
        },
        status=status,
    )


def _public_urls(adapter: Any, channel: Channel) -> list[dict[str, Any]]:
    rows = []
    for key, value in adapter.public_urls(channel).items():
        if key == "smtp_receiver" and adapter.kind == "email":
            continue  # the email page explains the receiver itself (receiving_by_smtp)
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


def _smtp_receiver(adapter: Any, channel: Channel) -> dict[str, Any] | None:
    """How to point mail at the built-in SMTP receiver, for an email channel that accepts it."""
    if adapter is None or adapter.kind != "email" or not channel.config.get("smtp_receive"):
        return None
    from frontdesk.channels.email.setup import smtp_receiver_endpoint

    endpoint = smtp_receiver_endpoint()
    address = channel.inbound_address or str(channel.config.get("address", ""))
    return {
        "address": address,
        "domain": address.rpartition("@")[2],
        "host": endpoint.host,
        "port": endpoint.port,
        "configured": endpoint.configured,
        # Folded away when the channel reads a mailbox over IMAP: then it is the road not taken.
        "open": not channel.config.get("imap_enabled"),
    }


def _ingestion_log(request: MemberRequest, channel: Channel) -> dict[str, Any]:
    state = request.GET.get("state", "")
    log = RawInbound.objects.filter(tenant=request.member.tenant, channel=channel).only(
        "received_at",
        "state",
        "error",
        "remote_addr",
        "content_type",
        "dedupe_key",
        "attempts",
        "processed_at",
    )
    if state == QUARANTINE:
        log = log.filter(state__in=QUARANTINE_STATES)
    elif state in RawState.values:
        log = log.filter(state=state)
    else:
        state = ""
    quarantined = RawInbound.objects.filter(channel=channel, state__in=QUARANTINE_STATES).count()
    mailboxes = list(MailboxState.objects.filter(channel=channel).order_by("folder"))
    for box in mailboxes:
        box.healthy = not box.last_error or bool(  # type: ignore[attr-defined]
            box.last_success_at and box.last_error_at and box.last_success_at > box.last_error_at
        )
        box.count_items = [  # type: ignore[attr-defined]
            (label, int((box.counts or {}).get(key, 0) or 0)) for key, label in MAILBOX_COUNTS
        ]
    return {
        "log": list(log.order_by("-received_at", "-id")[:INGESTION_LOG_SIZE]),
        "log_size": INGESTION_LOG_SIZE,
        "log_state": state,
        "log_states": [(QUARANTINE, _("Quarantine")), *RawState.choices],
        "quarantined": quarantined,
        "quarantine_states": [str(s) for s in QUARANTINE_STATES],
        "mailboxes": mailboxes,
        "raw_extension": "eml" if channel.kind == "email" else "",
    }


# Running totals a mailbox keeps (MailboxState.counts), as the log names them.
MAILBOX_COUNTS = (
    ("fetched", pgettext_lazy("mailbox count", "Fetched")),
    ("imported", pgettext_lazy("mailbox count", "Imported")),
    ("duplicates", pgettext_lazy("mailbox count", "Duplicates")),
    ("failed", pgettext_lazy("mailbox count", "Failed")),
)


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
    check_results: dict[str, Any] = {}
    f: ChannelForms | None = _channel_forms(request, adapter, channel) if adapter is not None else None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "save":
                if adapter is None or f is None:
                    raise Invalid(_("This kind of channel is no longer installed."), code="unknown_kind")
                if not f.is_valid():
                    status = 422
                else:
                    with transaction.atomic():
                        do_update_channel(
                            member, channel, name=f.name.cleaned_data["name"], config=form_to_config(f.config)
                        )
                        changes = secret_changes(f.secrets, f.typed_secrets)
                        if changes:
                            do_set_channel_secrets(member, channel, changes)
                    messages.success(request, _("The channel's settings are saved."))
                    return redirect("settings_channel", member.tenant.slug, channel.pk)
            elif action in CHECKS:
                which = _check_action(adapter, action)
                assert f is not None
                result, status = _connection_test(request, f, channel, which)
                if is_htmx(request):
                    return _check_response(request, which, result, status)
                check_results[which] = result
            elif action in ("disable", "enable"):
                do_update_channel(member, channel, disabled=action == "disable")
                messages.success(
                    request,
                    _("The channel is disabled: it accepts no messages and sends none.")
                    if action == "disable"
                    else _("The channel is enabled."),
                )
                return redirect("settings_channel", member.tenant.slug, channel.pk)
            elif action == "set_calendar":
                do_set_calendar(member, channel, request.POST.get("calendar"))
                messages.success(request, _("The channel's business hours are saved."))
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
            if action == "save" and f is not None:
                _apply_channel_errors(f, exc)
            else:
                error = exc.message
    generated = generated_secret_names(adapter) if adapter else ()
    revealed: list[dict[str, Any]] = []
    if request.method == "GET" and request.session.get(_REVEAL_KEY) == channel.pk:
        del request.session[_REVEAL_KEY]
        # Only what the channel made itself: a password an admin typed is never shown back.
        revealed = [
            {"key": k, "label": SECRET_LABELS.get(k, k.replace("_", " ").capitalize()), "value": v}
            for k, v in channel.secrets.items()
            if k in generated
        ]
    if f is None:
        name_form = ChannelNameForm(initial={"name": channel.name})
        form_context: dict[str, Any] = {"name_form": name_form, "config_form": forms.Form(), "sections": []}
    else:
        form_context = _form_context(adapter, f, channel, check_results)
    return page(
        request,
        "channel.html",
        {
            "section": "settings_channels",
            "channel": channel,
            "kind_label": kind_label(channel.kind),
            "status_info": channel_status(channel),
            **form_context,
            "has_adapter": adapter is not None,
            "has_secrets": bool(generated),
            "public_urls": _public_urls(adapter, channel) if adapter else [],
            "smtp_receiver": _smtp_receiver(adapter, channel),
            "revealed": revealed,
            "error": error,
            "calendar_choices": calendars_of(member.tenant),
            "current_calendar_id": channel.calendar_id,
            **_ingestion_log(request, channel),
        },
        status=status,
    )


# --- The quarantine: raw payloads ---------------------------------------------------------------


@settings_view(Role.ADMIN)
def raw_download(request: MemberRequest, channel_id: int, raw_id: int) -> HttpResponse:
    """A payload exactly as received (for an email channel, the .eml), always as a download."""
    channel = access_channel(request.member, channel_id)
    raw = access_raw_inbound(request.member, channel, raw_id)
    if channel.kind == "email":
        content_type, extension = "message/rfc822", "eml"
    elif raw.content_type.split(";")[0].strip().lower() == "application/json":
        content_type, extension = "application/json", "json"
    else:
        content_type, extension = "application/octet-stream", "bin"
    response = HttpResponse(bytes(raw.body), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{channel.kind}-{channel.pk}-raw-{raw.pk}.{extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@settings_view(Role.ADMIN, methods=("POST",))
def raw_process(request: MemberRequest, channel_id: int, raw_id: int) -> HttpResponse:
    """Process a rejected or failed payload again; the log shows how it went."""
    member = request.member
    channel = access_channel(member, channel_id)
    raw = access_raw_inbound(member, channel, raw_id)
    back = reverse("settings_channel", args=[member.tenant.slug, channel.pk]) + "#log-title"
    try:
        raw, numbers = do_reprocess_raw(member, raw)
    except ActionError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
        return redirect(back)
    if raw.state in QUARANTINE_STATES:
        messages.error(
            request,
            _("Processed again, still %(state)s: %(error)s")
            % {"state": raw.get_state_display().lower(), "error": raw.error[:300] or "—"},
        )
    elif numbers:
        messages.success(
            request,
            _("Processed again: it is in conversation %(numbers)s.")
            % {"numbers": ", ".join(f"#{n}" for n in numbers)},
        )
    else:
        messages.success(
            request, _("Processed again: %(state)s.") % {"state": raw.get_state_display().lower()}
        )
    return redirect(back)
