"""The chat widget's HTTP endpoints under /chat/<channel public id>/ (docs/chat.md).

They are called from the shop's own site, so they speak CORS: an allowed Origin gets its
Access-Control headers, any other is refused before anything is read. The visitor is named by the
token header, never by a cookie (third-party cookies are blocked by browsers, and a cookie would
make every endpoint a CSRF target).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from frontdesk.desk.actions import chat as chat_actions
from frontdesk.desk.errors import ActionError, Invalid, NotFound
from frontdesk.desk.models import Channel, ChatVisitor

from .. import ratelimit
from ..base import InboundAttachment, InboundRejected
from ..views import BodyTooLarge, find_channel, json_error, rate_limited, read_body, too_large
from .adapter import Config

log = structlog.get_logger(__name__)

WIDGET_JS = Path(__file__).resolve().parents[2] / "static" / "chat" / "widget.js"
TOKEN_HEADER = "X-Frontdesk-Visitor"  # noqa: S105 - a header name
MAX_JSON_BYTES = 64 * 1024
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

View = Callable[..., HttpResponseBase]


def _cors(response: HttpResponseBase, origin: str) -> HttpResponseBase:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
        response["Access-Control-Allow-Headers"] = f"Content-Type, {TOKEN_HEADER}"
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Max-Age"] = "600"
    return response


def chat_endpoint(*, visitor: bool = True, methods: tuple[str, ...] = ("POST",)) -> Callable[[View], View]:
    """Finds the channel, checks method and Origin, answers preflights, and (with `visitor`) finds
    the visitor by token. The view gets (request, channel, config[, visitor])."""

    def decorate(view: View) -> View:
        @csrf_exempt  # no cookies are used: the visitor token is a header a foreign page cannot set
        @functools.wraps(view)
        def wrapped(request: HttpRequest, public_id: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            origin = request.headers.get("Origin", "")
            channel = find_channel(public_id, kind="chat")
            # Refusals carry CORS headers too, or the browser hides them from the widget (which then
            # cannot tell "not here" from "server down").
            if channel is None:
                return _cors(json_error(404, "not_found", _("There is no chat at this address.")), origin)
            config: Config = channel.adapter.config(channel)
            if origin and not config.allows_origin(origin):
                if request.method == "OPTIONS":
                    return _cors(HttpResponse(status=204), origin)  # the request itself is refused
                return _cors(
                    json_error(
                        403,
                        "origin_not_allowed",
                        _("This chat does not run on %(origin)s.") % {"origin": origin},
                    ),
                    origin,
                )
            if request.method == "OPTIONS":
                return _cors(HttpResponse(status=204), origin)
            if request.method not in methods:
                return _cors(
                    json_error(
                        405,
                        "method_not_allowed",
                        _("Method not allowed."),
                        headers={"Allow": ", ".join(methods)},
                    ),
                    origin,
                )
            ip = ratelimit.client_ip(request)
            over = ratelimit.check([("FRONTDESK_RATE_CHAT_HTTP_PER_IP", f"{channel.public_id}:{ip}")])
            if over is not None:
                return _cors(rate_limited(over.retry_after), origin)
            extra: tuple[Any, ...] = ()
            if visitor:
                found = chat_actions.visitor_for_token(channel, request.headers.get(TOKEN_HEADER))
                if found is None:
                    return _cors(
                        json_error(401, "visitor_unknown", _("Unknown visitor: start a new session.")), origin
                    )
                found.channel = channel
                extra = (found,)
            # Errors in the visitor's language (the widget shows them as they are).
            language = extra[0].language if extra and extra[0].language else channel.tenant.default_language
            try:
                with translation.override(language[:2] or None):
                    response = view(request, channel, config, *extra, *args, **kwargs)
            except ActionError as exc:
                # The protocol answers bad input with 400 (docs/chat.md), not the API's 422.
                status = 400 if exc.status == Invalid.status else exc.status
                response = JsonResponse(exc.as_dict(), status=status)
            except InboundRejected as exc:
                response = json_error(exc.status, exc.code, exc.message, exc.fields)
            except BodyTooLarge:
                response = too_large(MAX_JSON_BYTES)
            except DatabaseError:
                log.exception("chat.database_error", channel=channel.pk)
                response = json_error(
                    503, "unavailable", _("Please try again in a moment."), headers={"Retry-After": "5"}
                )
            return _cors(response, origin)

        return wrapped

    return decorate


def _json(request: HttpRequest) -> dict[str, Any]:
    body = read_body(request, MAX_JSON_BYTES)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise InboundRejected(_("The body is not valid JSON."), code="malformed_json") from None
    if not isinstance(data, dict):
        raise InboundRejected(_("Send a JSON object."), code="invalid")
    return data


def _widget_bytes() -> tuple[bytes, str]:
    data = WIDGET_JS.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


@functools.cache
def _widget_cached() -> tuple[bytes, str]:
    return _widget_bytes()


def widget_js(request: HttpRequest, public_id: str) -> HttpResponse:
    """The widget script. Served for any channel id (a wrong one fails at the session, with a
    message in the console) so the snippet never breaks the shop's page."""
    data, etag = _widget_bytes() if settings.DEBUG else _widget_cached()
    quoted = f'"{etag}"'
    # Weak comparison: a proxy that compresses the script sends the tag back as W/"…".
    known = parse_etags(request.headers.get("If-None-Match", ""))
    if quoted in known or f"W/{quoted}" in known or "*" in known:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type="text/javascript; charset=utf-8")
    response["ETag"] = quoted
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _texts(config: Config, language: str, default: str) -> dict[str, str]:
    return {
        name: chat_actions._pick(getattr(config, name), language, default)
        for name in ("greeting", "launcher_text")
    }


@chat_endpoint(visitor=False)
def session(request: HttpRequest, channel: Channel, config: Config) -> HttpResponse:
    ip = ratelimit.client_ip(request)
    over = ratelimit.check([("FRONTDESK_RATE_CHAT_SESSION_PER_IP", f"{channel.public_id}:{ip}")])
    if over is not None:
        return rate_limited(over.retry_after)
    data = _json(request)
    tenant = channel.tenant
    language = str(data.get("language") or "").strip().lower()[:10] or tenant.default_language
    started = chat_actions.do_start_session(
        channel,
        token=data.get("token"),
        user=data.get("user"),
        page=data.get("page"),
        language=language,
        user_agent=request.headers.get("User-Agent", ""),
    )
    visitor = started.visitor
    texts = _texts(config, language, tenant.default_language)
    latest = chat_actions.latest_conversation(visitor)
    base = settings.FRONTDESK_BASE_URL
    ws_base = (
        "wss://" + base.removeprefix("https://")
        if base.startswith("https://")
        else "ws://" + base.removeprefix("http://")
    )
    return JsonResponse(
        {
            "visitor": visitor.public_id,
            "token": started.token,
            "returning": started.returning,
            "visit": visitor.visits,
            "identified": visitor.verified,
            "contact": {"name": visitor.name, "email": visitor.email, "phone": visitor.phone},
            "language": language,
            "conversation": latest.number if latest else None,
            "ws_url": f"{ws_base}/ws/chat/{channel.public_id}/",
            "availability": chat_actions.availability(channel),
            "config": {
                "title": config.title or tenant.name,
                "color": config.color,
                "position": config.position,
                "greeting": texts["greeting"],
                "launcher_text": texts["launcher_text"],
                "prechat": {
                    "name": config.prechat_name,
                    "email": config.prechat_email,
                    "phone": config.prechat_phone,
                },
                "reply_options": chat_actions.reply_options(channel),
                "max_upload_bytes": config.max_upload_bytes,
                "upload_types": config.upload_types,
                "invitations": [
                    {
                        "id": rule.id,
                        "trigger": rule.trigger,
                        "url_pattern": rule.url_pattern,
                        "seconds": rule.seconds,
                        "visit": rule.visit,
                        "text": chat_actions._pick(rule.text, language, tenant.default_language),
                    }
                    for rule in config.invitations
                ],
                "texts": config.widget_texts.get(language[:2]) or config.widget_texts.get(language) or {},
            },
        }
    )


def _message_json(message: Any, channel: Channel) -> dict[str, Any]:
    from frontdesk.realtime.visitor import _payload

    return _payload(message, settings.FRONTDESK_BASE_URL, channel)


def _limited_message(visitor: ChatVisitor, ip: str) -> HttpResponse | None:
    over = ratelimit.check(
        [
            ("FRONTDESK_RATE_CHAT_PER_VISITOR", visitor.public_id),
            ("FRONTDESK_RATE_CHAT_PER_IP", ip),
        ]
    )
    return rate_limited(over.retry_after) if over is not None else None


@chat_endpoint(methods=("GET", "POST"))
def messages(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    if request.method == "GET":
        try:
            after = max(0, int(request.GET.get("after") or 0))
        except ValueError:
            return json_error(400, "invalid", _("after must be a message id."), {"after": [_("Invalid.")]})
        chat_actions.touch_visitor(visitor.pk)
        rows = chat_actions.visitor_messages(visitor, after)
        pid = str(channel.public_id)
        base = settings.FRONTDESK_BASE_URL
        return JsonResponse(
            {
                "messages": [
                    chat_actions.message_payload(m, base_url=base, channel_public_id=pid) for m in rows
                ],
                "typing": chat_actions.agent_typing(visitor),
                "read_up_to": chat_actions.read_up_to(visitor),
            }
        )
    ip = ratelimit.client_ip(request)
    limited = _limited_message(visitor, ip)
    if limited is not None:
        return limited
    data = _json(request)
    result = chat_actions.do_visitor_message(
        visitor,
        client_id=data.get("client_id"),
        text=data.get("text"),
        conversation=data.get("conversation"),
        invitation=data.get("invitation"),
        remote_addr=ip,
    )
    body: dict[str, Any] = {"message": _message_json(result.message, channel)}
    if not result.created:
        body["duplicate"] = True
    return JsonResponse(body, status=201 if result.created else 200)


@chat_endpoint()
def files(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    ip = ratelimit.client_ip(request)
    over = ratelimit.check([("FRONTDESK_RATE_CHAT_UPLOAD_PER_VISITOR", visitor.public_id)])
    if over is not None:
        return rate_limited(over.retry_after)
    limit = config.max_upload_bytes
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + 64 * 1024:
        return _file_too_large(limit)
    upload = request.FILES.get("file")
    if upload is None:
        return json_error(400, "invalid", _("Send the file in the field file."), {"file": [_("Required.")]})
    if upload.size is None or upload.size > limit:
        return _file_too_large(limit)
    content_type = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if not config.upload_types or not config.allows_type(content_type):
        return json_error(
            415,
            "type_not_allowed",
            _("Files of type %(type)s cannot be sent here.") % {"type": content_type},
            {"file": [_("Type not allowed.")]},
        )
    result = chat_actions.do_visitor_message(
        visitor,
        client_id=request.POST.get("client_id"),
        text=request.POST.get("text") or "",
        conversation=_int(request.POST.get("conversation")),
        invitation=request.POST.get("invitation"),
        files=[
            InboundAttachment(filename=upload.name or "file", content_type=content_type, data=upload.read())
        ],
        remote_addr=ip,
    )
    body: dict[str, Any] = {"message": _message_json(result.message, channel)}
    if not result.created:
        body["duplicate"] = True
    return JsonResponse(body, status=201 if result.created else 200)


def _file_too_large(limit: int) -> HttpResponse:
    return json_error(
        413,
        "too_large",
        _("The file is larger than the limit of %(size)s.") % {"size": filesizeformat(limit)},
        {"file": [_("Too large.")]},
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@chat_endpoint()
def typing(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    data = _json(request)
    state = data.get("state")
    if not isinstance(state, bool):
        return json_error(400, "invalid", _("state must be true or false."), {"state": [_("Invalid.")]})
    latest = chat_actions.latest_conversation(visitor)
    if latest is not None:
        from frontdesk.realtime.publish import ring_group, tenant_group

        ring_group(
            tenant_group(visitor.tenant_id),
            {"type": "desk.typing", "conversation": latest.number, "state": state, "who": "customer"},
        )
    return HttpResponse(status=204)


@chat_endpoint()
def read(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    data = _json(request)
    up_to = data.get("up_to")
    if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 0:
        return json_error(400, "invalid", _("up_to must be a message id."), {"up_to": [_("Invalid.")]})
    chat_actions.do_mark_read_by_visitor(visitor, up_to)
    return HttpResponse(status=204)


@chat_endpoint()
def contact(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    return JsonResponse(chat_actions.do_set_visitor_contact(visitor, _json(request)))


@chat_endpoint()
def page(request: HttpRequest, channel: Channel, config: Config, visitor: ChatVisitor) -> HttpResponse:
    chat_actions.touch_visitor(visitor.pk, _json(request))
    return HttpResponse(status=204)


@chat_endpoint(visitor=False, methods=("GET",))
def file(request: HttpRequest, channel: Channel, config: Config, signed: str) -> HttpResponseBase:
    """An attachment of the visitor's conversation, by a signed URL (an <img> sends no header)."""
    try:
        found = chat_actions.attachment_for_file_url(channel, signed)
        handle = found.file.open("rb")
    except (NotFound, FileNotFoundError, OSError, ValueError):
        return json_error(404, "not_found", _("There is no such file."))
    inline = found.content_type in INLINE_TYPES
    response = FileResponse(
        handle, as_attachment=not inline, filename=found.filename, content_type=found.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
