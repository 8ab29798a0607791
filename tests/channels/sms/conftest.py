"""What the SMS tests share: an SMS channel, a phone that texts it through "Twilio", and a simulated
Twilio REST API on 127.0.0.1 that checks what a real one checks and answers in its shapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from django.test import Client

from tests.factories import ChannelFactory

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f1e2d3c4b5a69788f1e2d3c4b5a69788"
SHOP_NUMBER = "+48221234567"
CUSTOMER_NUMBER = "+48601234567"


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """As Twilio documents it: the URL, then each parameter's name and value sorted by name,
    HMAC-SHA1 with the auth token, base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class TwilioCall:
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]

    def field(self, name: str) -> str:
        [value] = self.form[name]
        return value


class FakeTwilio:
    """Twilio's Messages endpoint: Basic auth with the account SID and token, form fields checked,
    201 with a Message resource. `answers` holds (status, error code) for the next calls."""

    def __init__(self) -> None:
        self.calls: list[TwilioCall] = []
        self.answers: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._count = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                call = TwilioCall(self.path, {k.lower(): v for k, v in self.headers.items()}, form)
                with fake._lock:
                    fake.calls.append(call)
                    fake._count += 1
                    planned = fake.answers.pop(0) if fake.answers else None
                    number = fake._count
                status, body = fake._answer(call, planned, number)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
        return status, {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def _answer(
        self, call: TwilioCall, planned: tuple[int, int] | None, number: int
    ) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return self._error(401, 20003, "Authenticate")
        if call.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return self._error(404, 20404, "The requested resource was not found")
        if "To" not in call.form:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if "From" not in call.form and "MessagingServiceSid" not in call.form:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if planned is not None:
            status, code = planned
            messages = {
                21211: f"Invalid 'To' Phone Number: {call.field('To')}",
                20500: "Internal Server Error",
            }
            return self._error(status, code, messages.get(code, "Error"))
        return 201, {
            "sid": f"SM{number:032x}",
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": call.field("Body"),
            "direction": "outbound-api",
            "from": call.form.get("From", [None])[0],
            "messaging_service_sid": call.form.get("MessagingServiceSid", [None])[0],
            "to": call.field("To"),
            "num_segments": "1",
            "status": "queued",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{number:032x}.json",
        }

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def sms_channel(tenant, twilio):  # type: ignore[no-untyped-def]
    """An SMS channel as an admin sets it up: the account, the shop's number, the auth token."""
    return ChannelFactory(
        tenant=tenant,
        kind="sms",
        name="SMS",
        config={"account_sid": ACCOUNT_SID, "from_number": SHOP_NUMBER, "api_base_url": twilio.url},
        secrets={"auth_token": AUTH_TOKEN},
    )


class Phone:
    """Twilio forwarding what a customer's phone texted to the shop's number, signed."""

    def __init__(self, client: Client, channel: Any) -> None:
        self.client = client
        self.channel = channel

    @property
    def path(self) -> str:
        return f"/sms/{self.channel.public_id}/"

    @property
    def public_url(self) -> str:
        return str(self.channel.adapter.public_urls(self.channel)["webhook_url"])

    def params(self, body: str | None = "Czy mój rower jest gotowy?", **extra: str) -> dict[str, str]:
        sid = extra.pop("MessageSid", "SM" + secrets.token_hex(16))
        params = {
            "ToCountry": "PL",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": SHOP_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": CUSTOMER_NUMBER,
            "ApiVersion": "2010-04-01",
        }
        if body is not None:
            params["Body"] = body
        params.update(extra)
        return params

    def post(self, params: dict[str, str], *, signature: str | None = None, token: str = AUTH_TOKEN) -> Any:
        headers = {}
        if signature != "":
            headers["X-Twilio-Signature"] = signature or twilio_signature(token, self.public_url, params)
        return self.client.post(
            self.path, urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
        )

    def text(self, body: str = "Czy mój rower jest gotowy?", **extra: str) -> Any:
        return self.post(self.params(body, **extra))


@pytest.fixture
def phone(client, sms_channel) -> Phone:  # type: ignore[no-untyped-def]
    return Phone(client, sms_channel)
