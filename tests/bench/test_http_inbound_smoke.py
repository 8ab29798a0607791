"""The HTTP inbound load test (bench/http_inbound.py) runs end to end at a tiny size: it starts its own
server on 127.0.0.1, posts signed messages to the API channel's webhook (some of them twice), stops
the server, checks the database and writes its JSON — nothing lost, nothing stored twice. Timings
are reported by the script, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("answered", ["after processing", "202 once stored"])
def test_the_http_inbound_load_test_runs_at_a_tiny_size_and_loses_nothing(
    tmp_path: Path, answered: str
) -> None:
    out = tmp_path / "http-inbound.json"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    # Its own fresh SQLite database: not the test database, and nothing of this run leaks into it.
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FRONTDESK_TEST_DB_NAME", "REDIS_URL"):
        env.pop(name, None)

    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "http_inbound.py"), "--quick",
            "--requests", "40", "--concurrency", "4", "--customers", "15",
            # Every tenth request resends an earlier one: the repeats must come back as duplicates.
            "--repeat-share", "0.1", "--floor", "20", "--json-out", str(out),
            # Room for a busy machine; the run ends as soon as the 40 requests are answered.
            "--time-limit", "60",
            *(["--respond-async"] if answered == "202 once stored" else []),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Frontdesk HTTP inbound (API channel) load test" in done.stdout
    result = json.loads(out.read_text())
    requests, stored = result["requests"], result["persistence"]
    assert requests["sent"] == 40
    assert requests["accepted"] == requests["sent"], done.stdout
    assert requests["repeats"] == 4
    assert requests["repeats_held"] == 4, done.stdout
    assert stored["lost"] == 0, done.stdout
    assert stored["duplicates"] == 0, done.stdout
    # Every request but the repeats is one stored message.
    assert stored["stored_in_database"] == 36
    assert result["queries_per_request"]["follow_up"]["status"] == 201
    if answered == "202 once stored":
        assert requests["statuses"] == {"202": 40}
        # Answered before processing, every message was made by the server's worker afterwards.
        assert result["processed_behind"]["left_unprocessed"] == 0
        assert result["persistence"]["raw_by_state"] == {"duplicate": 4, "processed": 36}
