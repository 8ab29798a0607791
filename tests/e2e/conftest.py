"""End-to-end tests: a real `frontdesk serve` process and Debian's Chromium driven by Playwright.

The server runs against the test database (a file on SQLite, the test database on PostgreSQL), so
tests create data through factories and actions, and the browser sees it. Tests here use
`transactional_db` so that what they create is committed before the browser asks for it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


def database_url() -> str:
    """The URL of the test database this pytest process uses, for server processes to share it."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class ServerProcess:
    """`frontdesk serve` in a child process, stopped when the fixture ends."""

    def __init__(
        self, tmp: Path, *, worker_threads: int = 1, extra_env: dict[str, str] | None = None
    ) -> None:
        from django.conf import settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "FRONTDESK_VAR_DIR": str(tmp / "var"),
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


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        proc = ServerProcess(tmp_path_factory.mktemp("server"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

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
