"""`frontdesk serve --smtp HOST:PORT`: the one-process server receives mail and its worker thread
turns it into conversations; without the option nothing listens for mail."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from frontdesk.desk.models import Conversation
from tests.channels.email.dovecot import free_port, message, wait_for
from tests.database import database_url
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)


def serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "FRONTDESK_ENCRYPTION_KEY": settings.FRONTDESK_ENCRYPTION_KEY,
        "FRONTDESK_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("FRONTDESK_TEST_DB_NAME", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", "serve", "--port", str(port), "--worker-threads", "1", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, what="the server", details=lambda: log.read_text()[-3000:])
    return process, port, log


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_serve_with_smtp_receives_mail_and_makes_conversations_of_it(tenant, tmp_path):
    channel = ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )
    smtp_port = free_port()
    process, _port, log = serve(tmp_path, "--smtp", f"127.0.0.1:{smtp_port}")
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            assert (
                client.sendmail("jan@example.org", ["support@rowery.example"], message(1, subject="Hamulce"))
                == {}
            )

        conversation = wait_for(
            lambda: Conversation.objects.filter(channel=channel).first(),
            timeout=30,
            what="the conversation",
            details=lambda: log.read_text()[-3000:],
        )
        assert conversation.subject == "Hamulce"
    finally:
        stop(process)
    assert "Receiving mail over SMTP on 127.0.0.1" in log.read_text()


def test_without_the_option_serve_listens_for_no_mail(tenant, tmp_path):
    smtp_port = free_port()
    process, _port, log = serve(tmp_path)
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", smtp_port), timeout=2).close()
    finally:
        stop(process)
    assert "Receiving mail" not in log.read_text()


def test_a_taken_port_stops_serve_with_an_error(tenant, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "frontdesk",
                "serve",
                "--port",
                str(free_port()),
                "--smtp",
                f"127.0.0.1:{port}",
            ],
            env={**os.environ, "DATABASE_URL": database_url(), "FRONTDESK_VAR_DIR": str(tmp_path)},
            capture_output=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert b"address already in use" in result.stderr.lower() or b"errno 98" in result.stderr.lower()


def test_a_malformed_listen_address_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk", "serve", "--smtp", "127.0.0.1:http"],
        env={**os.environ, "FRONTDESK_VAR_DIR": str(tmp_path)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"--smtp: Not a HOST:PORT" in result.stderr
