"""The chat load test (bench/chat_load.py) runs end to end at a tiny size: it starts its own server on
127.0.0.1, drives visitors and agents, stops the server, prints its table and writes its JSON, and
loses no message. Timings are reported by the script, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_chat_load_test_runs_at_a_tiny_size_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chat.json"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    # Its own fresh SQLite database: not the test database, and nothing of this run leaks into it.
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FRONTDESK_TEST_DB_NAME", "REDIS_URL"):
        env.pop(name, None)

    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "chat_load.py"), "--quick",
            "--visitors", "5", "--messages", "3", "--agents", "2", "--json-out", str(out),
            # Room for a busy machine; the run ends as soon as every message is accounted for.
            "--time-limit", "60",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Frontdesk live chat load test" in done.stdout
    assert "visitor→agent p99 (ms)" in done.stdout
    result = json.loads(out.read_text())
    assert result["messages"]["sent"] == 15
    assert result["messages"]["lost"] == 0, done.stdout
    assert result["messages"]["duplicates"] == 0, done.stdout
    assert result["messages"]["stored_in_database"] == 15
