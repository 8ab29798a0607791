"""Helpers every benchmark script shares. Standard library only: the peer's scripts, in their own
virtual environment, import this file by path too."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def interpolated_percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0–1) of the values, interpolated between neighbours; NaN for none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def migrate(env: Mapping[str, str], *, timeout: float = 900) -> None:
    """`frontdesk migrate` for the database of `env` (DATABASE_URL); RuntimeError with its output's
    end when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "frontdesk", "migrate", "--no-input", "-v", "0"],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stderr[-3000:]}")


def text_table(title: str, rows: Sequence[tuple[str, str]], rule: int = 30) -> str:
    """A two-column table of a script's results, names left-aligned, under its title."""
    width = max(len(name) for name, _ in rows)
    lines = [title, "-" * (width + rule)]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


def write_results(result: Mapping[str, Any], json_out: str | Path | None, name: str) -> Path:
    """Write a run's results as JSON to `json_out`, or to bench/results/NAME-DATE.json; the path."""
    out = Path(json_out) if json_out else ROOT / "bench" / "results" / f"{name}-{dt.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return out


def print_failures(result: Mapping[str, Any], server_log: str | None = None) -> None:
    """The first few failures of a load run (and the server log's end, when there was a server)."""
    if result["failure_samples"]:
        print("failures, first ones:", *result["failure_samples"][:5], sep="\n  ")
        if server_log is not None:
            print(f"server log, last lines:\n{server_log}")
