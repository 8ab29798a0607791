"""The public contact form page: `GET /f/<channel public id>/` shows it, `POST` sends it.

Like every inbound endpoint, a submission is stored raw first and then processed; the customer
sees the reference number on success, and on a mistake the form again with what they typed.
No session and no CSRF cookie: the form lives in third-party frames where cookies are blocked; the
signed form token (adapter.form_token) protects it instead.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from frontdesk.desk.middleware import DEFAULT_CSP
from frontdesk.desk.models import Channel, Tenant

from .. import ratelimit
from ..views import BodyTooLarge, Deferred, Refused, find_channel, payload_from, read_body, store_and_process
from .adapter import FIELDS, HONEYPOT_FIELD, Config, UnreadableForm, form_token, read_fields

log = structlog.get_logger(__name__)

# A contact form without attachments is small; refuse anything much bigger before reading it.
FORM_MAX_BODY_BYTES = 256 * 1024
# Refusals that keep the customer's token: nothing about the token itself was wrong.
KEEP_TOKEN = frozenset({"invalid", "too_fast", "rate_limited", "unavailable"})


def form_language(request: HttpRequest, tenant: Tenant) -> str:
    """The page language: ?lang= when the shop's site asks, the browser's if the shop speaks it,
    else the shop's first language, else the browser's."""
    supported = {code for code, _name in settings.LANGUAGES}
    asked = request.GET.get("lang", "")
    if asked in supported:
        return asked
    shop = [code for code in tenant.languages or [] if code in supported]
    browser = translation.get_language_from_request(request)
    if browser in shop:
        return browser
    return shop[0] if shop else browser or settings.LANGUAGE_CODE


def frame_policy(response: HttpResponse, config: Config) -> HttpResponse:
    """Let the shop's own sites (config.embed_origins) frame the form, and nobody else."""
    ancestors = " ".join(config.embed_origins) or "'none'"
    response["Content-Security-Policy"] = DEFAULT_CSP.replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    if config.embed_origins:
        # X-Frame-Options cannot name several origins; browsers that know CSP follow frame-ancestors.
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    else:
        response["X-Frame-Options"] = "DENY"
    # Each rendering carries a fresh token: never serve one from a cache.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@csrf_exempt
def form_page(request: HttpRequest, public_id: str) -> HttpResponse:
    channel = find_channel(public_id, kind="form")
    if channel is None:
        raise Http404
    config: Config = channel.adapter.config(channel)
    language = form_language(request, channel.tenant)
    with translation.override(language):
        if request.method in ("GET", "HEAD"):
            response = show_form(request, channel, config, language)
        elif request.method == "POST":
            response = submit_form(request, channel, config, language)
        else:
            response = HttpResponseNotAllowed(["GET", "POST"])
    response["Content-Language"] = language
    return frame_policy(response, config)


def show_form(
    request: HttpRequest,
    channel: Channel,
    config: Config,
    language: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    problem: str = "",
    token: str = "",
    status: int = 200,
) -> HttpResponse:
    values = values or {}
    context: dict[str, Any] = {
        "channel": channel,
        "config": config,
        "shop": channel.tenant,
        "title": config.title or channel.tenant.name,
        "language": language,
        "values": {name: values.get(name, "") for name in FIELDS},
        "errors": errors or {},
        "problem": problem,
        "token": token or form_token(str(channel.public_id)),
        "honeypot": HONEYPOT_FIELD,
        "page": values.get("page", ""),
    }
    return render(request, "channels/form.html", context, status=status)


def submit_form(request: HttpRequest, channel: Channel, config: Config, language: str) -> HttpResponse:
    limit = min(settings.FRONTDESK_MAX_BODY_BYTES, FORM_MAX_BODY_BYTES)
    try:
        body = read_body(request, limit)
    except BodyTooLarge:
        return show_form(
            request,
            channel,
            config,
            language,
            problem=_("The message is too long to send. Please shorten it."),
            status=413,
        )
    try:
        values = read_fields(body, str(request.META.get("CONTENT_TYPE", "")))
    except UnreadableForm:
        values = {}
    ip = ratelimit.client_ip(request)
    over = ratelimit.check(
        [
            ("FRONTDESK_RATE_FORM_PER_IP", ip),
            ("FRONTDESK_RATE_FORM_PER_CHANNEL", str(channel.public_id)),
        ]
    )
    if over is not None:
        log.info("form.rate_limited", channel=channel.pk, ip=ip)
        minutes = max(1, round(over.retry_after / 60))
        response = show_form(
            request,
            channel,
            config,
            language,
            values=values,
            token=values.get("token", ""),
            problem=ngettext(
                "Too many messages were sent from your network. Please try again in %(n)d minute.",
                "Too many messages were sent from your network. Please try again in %(n)d minutes.",
                minutes,
            )
            % {"n": minutes},
            status=429,
        )
        response["Retry-After"] = str(over.retry_after)
        return response

    outcome = store_and_process(channel, payload_from(request, body))
    if isinstance(outcome, Deferred):
        return render(
            request,
            "channels/form_sent.html",
            {
                "title": config.title or channel.tenant.name,
                "shop": channel.tenant,
                "number": None,
                "email": values.get("email", "").strip(),
                "language": language,
            },
            status=202,
        )
    if isinstance(outcome, Refused):
        return refused(request, channel, config, language, values, outcome)
    first = outcome.results[0]
    log.info(
        "form.sent", channel=channel.pk, conversation=first.conversation.number, duplicate=not first.created
    )
    return render(
        request,
        "channels/form_sent.html",
        {
            "title": config.title or channel.tenant.name,
            "shop": channel.tenant,
            "number": first.conversation.number,
            "email": values.get("email", "").strip(),
            "language": language,
        },
    )


def refused(
    request: HttpRequest,
    channel: Channel,
    config: Config,
    language: str,
    values: dict[str, str],
    outcome: Refused,
) -> HttpResponse:
    """The form again, with what the customer typed and why it was not sent."""
    fields = outcome.fields if isinstance(outcome.fields, dict) else {}
    known = {name: list(msgs) for name, msgs in fields.items() if name in FIELDS}
    # An error the core found about a field the form does not show (the rare case) goes on top.
    problem = (
        outcome.message
        if (not known or len(known) < len(fields))
        else _("Please correct the fields marked below.")
    )
    keep = outcome.code in KEEP_TOKEN
    response = show_form(
        request,
        channel,
        config,
        language,
        values=values,
        errors=known,
        problem=problem,
        token=values.get("token", "") if keep else "",
        status=outcome.status,
    )
    for name, value in (outcome.headers or {}).items():
        response[name] = value
    return response
