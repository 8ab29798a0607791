"""`make bench` (bench/run.py) works end to end at tiny sizes: the machine's limits, email ingest,
HTTP inbound, the agent's pages at two sizes, the server with the demo data — and prints its
side-by-side table and writes its JSON. A smoke test of the harness: timings are reported by the
benchmark and recorded in docs/performance.md, never asserted here. The peer (django-helpdesk,
installed from PyPI) and the chat load test have tests of their own elsewhere or are left out to
keep the suite fast; `make bench ARGS=--quick` runs everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the benchmarks make their own databases; once per suite run (the SQLite one) is enough",
)


def test_make_bench_quick_runs_every_step_and_prints_the_side_by_side_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FRONTDESK_TEST_DB_NAME", "REDIS_URL"):
        env.pop(name, None)

    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--no-peer", "--no-chat",
            "--no-postgres", "--json-out", str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == {}
    assert {"limits", "ingest-sqlite", "http-sqlite", "desk", "memory"} <= set(result["results"])
    stages = result["results"]["desk"]["stages"]
    assert [s["conversations"] for s in stages] == [300, 1000]
    # The inbox and the REST list take as many queries at 1000 conversations as at 300, and the
    # REST list as many for 100 rows as for 25.
    for key in ("inbox", "api"):
        assert {k: v["queries"] for k, v in stages[0][key].items()} == {
            k: v["queries"] for k, v in stages[1][key].items()
        }
    api = stages[1]["api"]
    assert api["mine (25)"]["queries"] == api["mine (100)"]["queries"]
    assert result["results"]["memory"]["pages_ok"] == result["results"]["memory"]["pages"]
    assert result["results"]["ingest-sqlite"]["failures"] == 0
    for label in ("email ingest, SQLite", "inbox mine @1,000 p95", "server peak RSS with the demo data"):
        assert label in done.stdout
    assert "django-helpdesk" in done.stdout  # the table's peer column, empty without --peer
