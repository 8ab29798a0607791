"""`POST /sms/<channel public id>/`: Twilio's incoming-message and status-callback webhook.

The same steps as every webhook (frontdesk.channels.views: method, channel, rate limit, size, the
raw payload committed before parsing), but a stored message is answered with an empty TwiML
`<Response/>` as text/xml: Twilio reads the answer as instructions, and an empty one makes it send
nothing back by itself (a JSON answer would be logged as an error in the shop's Twilio console).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .. import ratelimit
from ..views import (
    BodyTooLarge,
    Refused,
    find_channel,
    json_error,
    payload_from,
    rate_limited,
    read_body,
    store_and_process,
    too_large,
)
from .adapter import EMPTY_TWIML


@csrf_exempt  # Twilio is authenticated by X-Twilio-Signature, not by a browser session
def hook(request: HttpRequest, public_id: str) -> HttpResponse:
    if request.method != "POST":
        return json_error(
            405,
            "method_not_allowed",
            _("Use POST to send messages to this address."),
            headers={"Allow": "POST"},
        )
    channel = find_channel(public_id, kind="sms")
    if channel is None:
        return json_error(404, "not_found", _("There is no channel at this address."))
    ip = ratelimit.client_ip(request)
    over = ratelimit.check(
        [
            ("FRONTDESK_RATE_HOOK_PER_CHANNEL", str(channel.public_id)),
            ("FRONTDESK_RATE_HOOK_PER_IP", f"{channel.public_id}:{ip}"),
        ]
    )
    if over is not None:
        return rate_limited(over.retry_after)
    limit = settings.FRONTDESK_MAX_BODY_BYTES
    try:
        body = read_body(request, limit)
    except BodyTooLarge:
        return too_large(limit)
    outcome = store_and_process(channel, payload_from(request, body))
    if isinstance(outcome, Refused):
        return json_error(outcome.status, outcome.code, outcome.message, outcome.fields, outcome.headers)
    # Received (new or duplicate), a status callback with nothing to record, or stored for the
    # sweeper: Twilio has nothing to retry either way.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")
