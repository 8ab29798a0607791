"""The business-time micro-benchmark (bench/business_time.py) runs end to end at its quick size and
writes its JSON. Timings are reported by the script, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_business_time_benchmark_runs_quickly_and_reports_every_operation(tmp_path: Path) -> None:
    out = tmp_path / "business-time.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "business_time.py"), "--quick", "--json-out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"add, warm", "between, warm", "add, cold", "between, cold"}
    assert all(r["calls"] > 0 and r["mean_us"] > 0 for r in results.values())
