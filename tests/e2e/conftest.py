"""End-to-end tests: a real `frontdesk serve` process and Debian's Chromium driven by Playwright.

The server runs against the test database (a file on SQLite, the test database on PostgreSQL), so
tests create data through factories and actions, and the browser sees it. Tests here use
`transactional_db` so that what they create is committed before the browser asks for it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.database import database_url
from tests.peers import HttpPeer, running_peer

CHROMIUM = Path("/usr/bin/chromium")

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a thread
# with a running loop unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    # A developer machine without Chromium skips these; CI must have it (.ci/run installs it).
    if os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    for item in items:
        if "e2e" in item.nodeid.split("::")[0]:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`frontdesk serve` in a child process, stopped when the fixture ends."""

    def __init__(
        self, tmp: Path, *, worker_threads: int = 1, extra_env: dict[str, str] | None = None
    ) -> None:
        from django.conf import settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        # Where the server keeps its files; outgoing mail lands in var/mail (the file backend).
        self.var_dir = tmp / "var"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "FRONTDESK_VAR_DIR": str(self.var_dir),
            "MEDIA_ROOT": str(tmp / "media"),
            "FRONTDESK_BASE_URL": self.url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FRONTDESK_WEBHOOK_ALLOW_LOOPBACK": "true",
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        # The server is a normal process: no test-only relaxations leak into it.
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "frontdesk",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--worker-threads",
                str(worker_threads),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start within {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    """One server per test module, stopped at its end: its worker thread claims tasks from the test
    database, and must not take those of later tests in this process (they run their own)."""
    with django_db_blocker.unblock():
        proc = ServerProcess(tmp_path_factory.mktemp("server"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Per module: Playwright's sync API keeps an event loop on this thread while it runs, which
    would break async_to_sync() in the tests that follow in this process."""
    from playwright.sync_api import expect, sync_playwright

    # Live updates cross a server process and a WebSocket; on a busy 2-core CI machine running
    # tests in parallel they can take longer than Playwright's default 5 s for expect().
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, server):  # type: ignore[no-untyped-def]
    """Open a fresh browser context (its own cookies) and return a page in it."""
    contexts = []

    def make(*, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form, as a person would."""
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


# --- Helpers of the scenarios ---------------------------------------------------------------------


@pytest.fixture
def open_as(new_page, server):  # type: ignore[no-untyped-def]
    """A page in a fresh context, already signed in as `member` (a session made by the test client:
    faster than the login form, which test_workspace.py exercises once)."""
    from django.conf import settings
    from django.test import Client

    def make(member, *, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        page = new_page(width=width, height=height)
        client = Client()
        client.force_login(member.user)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": server.url,
                }
            ]
        )
        return page

    return make


@pytest.fixture
def peer() -> Iterator[HttpPeer]:
    """The world on 127.0.0.1 for the browser: the shop's webhook endpoint, a remote image host."""
    with running_peer() as instance:
        yield instance


def post_to_hook(server: ServerProcess, channel, payload: dict) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """What a shop's backend does: POST a customer message, signed, to the API channel's webhook."""
    from frontdesk.channels.signing import SIGNATURE_HEADER, sign

    body = json.dumps(payload).encode()
    answer = httpx.post(
        f"{server.url}/hooks/{channel.public_id}/",
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(channel.secrets["signing_secret"], body),
        },
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


class Trouble:
    """What a page should never do: open dialogs (alert/confirm/prompt), throw, or log errors."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def watch():  # type: ignore[no-untyped-def]
    return Trouble


def mark_document(page) -> None:  # type: ignore[no-untyped-def]
    """Mark the page's current document, to tell later that it was updated in place, not reloaded."""
    page.evaluate("window.__e2eMark = true")


def same_document(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("window.__e2eMark === true") is True  # type: ignore[no-any-return]
