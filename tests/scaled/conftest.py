"""Real `frontdesk serve` / `frontdesk worker` processes against the test's PostgreSQL and Redis.

The processes share nothing with the test but what scaled-out processes share in production: the
database (the pytest-django test database, so the test's data must be committed — these tests use
`transactional_db`), Redis (a prefix of its own per run) and SECRET_KEY / FRONTDESK_ENCRYPTION_KEY.
Every process is killed in the fixture's teardown, whatever happens in the test.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from frontdesk.desk.models import Membership
from tests.database import database_url
from tests.peers import HttpPeer, running_peer

FRONTDESK = str(Path(sys.executable).with_name("frontdesk"))
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))

requires_postgres_and_redis = pytest.mark.skipif(
    not (ON_POSTGRES and REDIS_URL),
    reason="scaled-out tests need DATABASE_URL=postgres://… and FRONTDESK_TEST_REDIS_URL (or REDIS_URL)",
)

T = TypeVar("T")


def wait_for(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    details: Callable[[], str] | None = None,
    every: float = 0.05,
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds, with `details()`
    (e.g. the processes' logs) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}\n{details() if details else ''}"
            )
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login_cookie(member: Membership) -> str:
    client = Client()
    client.force_login(member.user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Process:
    """One frontdesk process; its output goes to a log file shown when something fails."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            [FRONTDESK, *args], env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (as in a crash or an OOM kill)."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


class Server(Process):
    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        super().__init__(name, ["serve", "--port", str(self.port), "--worker-threads", "0"], env, log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if not self.alive():
            raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


class Cluster:
    """Starts processes sharing the test database and one Redis prefix; stops them all at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.prefix = f"fdtest{secrets.token_hex(4)}"
        self.processes: list[Process] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": REDIS_URL,
            "FRONTDESK_REDIS_PREFIX": self.prefix,
            "SECRET_KEY": settings.SECRET_KEY,
            "FRONTDESK_ENCRYPTION_KEY": settings.FRONTDESK_ENCRYPTION_KEY,
            "FRONTDESK_VAR_DIR": str(log_dir / "var"),
            "FRONTDESK_WEBHOOK_ALLOW_LOOPBACK": "true",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "LOG_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("FRONTDESK_TEST_DB_NAME", None)

    def servers(self, count: int) -> list[Server]:
        started = [
            Server(f"server{len(self.processes) + i + 1}", self.env, self.log_dir) for i in range(count)
        ]
        self.processes.extend(started)
        for server in started:
            wait_for(server.ready, timeout=60, what=f"{server.name} to answer /healthz")
        return started

    def worker(self, *args: str, **env: str) -> Process:
        name = f"worker{len(self.processes) + 1}"
        process = Process(name, ["worker", "--interval", "0.1", *args], {**self.env, **env}, self.log_dir)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def cluster(transactional_db, tmp_path: Path) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    (tmp_path / "var").mkdir()
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.stop()
        # The processes' connections are gone before pytest-django empties the tables.
        connection.close()


def json_frames(
    ws: Any,
    *,
    timeout: float,
    until: Callable[[dict], bool],
    what: str,
    details: Callable[[], str] | None = None,
) -> list[dict]:
    """Frames from a websockets client connection up to the first for which `until` is true."""
    deadline = time.monotonic() + timeout
    frames: list[dict] = []
    for _ in range(1000):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            frame = json.loads(ws.recv(timeout=remaining))
        except TimeoutError:
            break
        frames.append(frame)
        if until(frame):
            return frames
    raise AssertionError(
        f"timed out after {timeout} s waiting for {what}; got {frames}\n{details() if details else ''}"
    )


@pytest.fixture
def stalling_shop() -> Iterator[HttpPeer]:
    """Like `shop`, but the first request hangs until the test ends."""
    with running_peer(hold_first=True) as peer:
        yield peer
