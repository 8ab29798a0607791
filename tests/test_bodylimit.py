"""Oversized bodies are refused before the application reads them."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from frontdesk.bodylimit import BodySizeLimit


class App:
    """Reads the whole body like Django does, then answers 200 with its length."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def call(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes]:
    sent: list[dict] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> dict:
        return pending.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    # In a thread of its own: a browser test earlier in this process may have left the main
    # thread with Playwright's event loop, where asyncio.run() is not allowed.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app({"type": "http", "headers": headers}, receive, send)).result(timeout=10)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_declared_length_over_the_limit_is_refused_without_calling_the_app():
    inner = App()
    status, body = call(BodySizeLimit(inner, 10), [(b"content-length", b"11")], [b"x" * 11])

    assert status == 413
    assert json.loads(body)["error"]["code"] == "too_large"
    assert not inner.called


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit():
    status, _ = call(BodySizeLimit(App(), 10), [], [b"x" * 6, b"x" * 6, b"x" * 6])

    assert status == 413


def test_a_body_within_the_limit_reaches_the_app():
    status, body = call(BodySizeLimit(App(), 10), [(b"content-length", b"10")], [b"x" * 10])

    assert (status, body) == (200, b"10")


def test_a_malformed_content_length_is_a_bad_request():
    status, _ = call(BodySizeLimit(App(), 10), [(b"content-length", b"ten")], [b""])

    assert status == 400
