"""Stand-ins for the world on 127.0.0.1: the shop's webhook endpoint, a remote image host.

One small HTTP server for every test that needs a peer: it records each request, answers POSTs
with the statuses queued in `answers` (200 and a JSON id by default), serves a pixel to GETs, and can
hold POSTs until released (a slow or vanished shop).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpPeer:
    PIXEL = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )

    def __init__(self, *, hold_first: bool = False) -> None:
        self.requests: list[Request] = []
        # (status, extra headers) for the next POSTs, in order; then 200.
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.hold_first = hold_first
        self.first_arrived = threading.Event()
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        self._first_released = threading.Event()  # for hold_first: set by release()/stop()
        self._posts = 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with peer._changed:
                    peer.requests.append(request)
                    peer._changed.notify_all()
                return request

            def do_GET(self) -> None:
                self._record()
                self._answer(200, {"Content-Type": "image/png"}, peer.PIXEL)

            def do_POST(self) -> None:
                request = self._record()
                with peer._changed:
                    peer._posts += 1
                    first = peer._posts == 1
                    status, headers = peer.answers.pop(0) if peer.answers else (200, {})
                if first and peer.hold_first:
                    peer.first_arrived.set()
                    peer._first_released.wait(timeout=120)
                peer._released.wait(timeout=120)
                delivery = request.headers.get("x-frontdesk-delivery", str(peer._posts))
                body = {"id": f"shop-{delivery}"} if status < 300 else {"error": "not now"}
                self._answer(
                    status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()
                )

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client went away (a killed worker): what a real peer would see too

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="http-peer", daemon=True)
        self.thread.start()

    @property
    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def deliveries(self) -> list[str]:
        """The X-Frontdesk-Delivery header of every POST, in arrival order."""
        return [r.headers.get("x-frontdesk-delivery", "") for r in self.posts]

    def hold(self) -> None:
        """Leave POSTs unanswered until release()."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()
        self._first_released.set()

    def wait_for(self, predicate: Callable[[Request], bool], timeout: float = 10.0) -> list[Request]:
        """The requests matching `predicate`, waiting until there is at least one."""
        with self._changed:
            self._changed.wait_for(lambda: any(predicate(r) for r in self.requests), timeout=timeout)
            found = [r for r in self.requests if predicate(r)]
        assert found, f"no such request reached the peer within {timeout} s: {self.requests}"
        return found

    def stop(self) -> None:
        """Stop answering (also mid-test: a shop whose endpoint went away). Safe to call twice."""
        self.release()
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()


@contextmanager
def running_peer(**kwargs: bool) -> Iterator[HttpPeer]:
    peer = HttpPeer(**kwargs)
    try:
        yield peer
    finally:
        peer.stop()
