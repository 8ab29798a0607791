#!/usr/bin/env python
"""Micro-benchmark of business-time arithmetic: Calendar.add() and Calendar.between() per call.

    python bench/business_time.py [--calls 10000] [--repeat 5] [--cold-calls 2000] [--quick]
                                  [--seed N] [--json-out bench/results/business-time-<date>.json]

The calendar is a realistic Polish one: Europe/Warsaw, Monday–Friday 08:00–16:00, the public holidays
of 2025–2028 from the `holidays` package closed, plus a two-week summer closure. Each call gets a
random start anywhere in 2026 (to the microsecond) and a target of 1–40 business hours (add) or an end
0–10 calendar days later (between).

Measured, in µs per call:
- warm: every date already in the cache (the steady state of a running server). The mean comes from
  timing the whole list of calls in one loop, timeit-style, --repeat times (the median run is kept);
  p50 / p99 / max from timing each call on its own (which adds ~0.1 µs of clock overhead);
- cold: the caches cleared before every call, so every date the call crosses is computed afresh,
  time-zone transitions included (the first call for a date after a restart).

Bounded: --calls × --repeat warm calls per operation, --cold-calls cold ones. One table on stdout;
JSON to --json-out. Nothing here touches a database or the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import platform
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from frontdesk.desk.lib.businesstime import Calendar, clear_caches, public_holidays

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

ROOT = Path(__file__).resolve().parents[1]

OFFICE = ((8 * 60, 16 * 60),)


def polish_calendar() -> Calendar:
    closed = set(public_holidays("PL", None, range(2025, 2029)))
    closed |= {dt.date(2026, 7, 20) + dt.timedelta(days=i) for i in range(14)}  # summer closure
    return Calendar("Europe/Warsaw", week=(OFFICE,) * 5 + ((), ()), closed=frozenset(closed))


def make_calls(rng: random.Random, n: int) -> tuple[list[tuple[dt.datetime, dt.timedelta]], list[Any]]:
    year = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    starts = [year + dt.timedelta(microseconds=rng.randrange(365 * 86_400 * 10**6)) for _ in range(n)]
    adds = [(s, dt.timedelta(minutes=rng.randint(60, 40 * 60))) for s in starts]
    betweens = [(s, s + dt.timedelta(seconds=rng.randrange(10 * 86_400))) for s in starts]
    return adds, betweens


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def warm(call: Callable[[Any, Any], Any], args: list[tuple[Any, Any]], repeat: int) -> dict[str, float]:
    for a, b in args:  # fill the caches
        call(a, b)
    gc.collect()
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        for a, b in args:
            call(a, b)
        runs.append((time.perf_counter() - began) / len(args))
    each = []
    clock = time.perf_counter_ns
    for a, b in args:
        began_ns = clock()
        call(a, b)
        each.append((clock() - began_ns) / 1000)
    return summary(statistics.median(runs) * 1e6, each, len(args) * (repeat + 2))


def cold(call: Callable[[Any, Any], Any], args: list[tuple[Any, Any]]) -> dict[str, float]:
    each = []
    clock = time.perf_counter_ns
    for a, b in args:
        clear_caches()
        began_ns = clock()
        call(a, b)
        each.append((clock() - began_ns) / 1000)
    return summary(statistics.fmean(each), each, len(args))


def summary(mean_us: float, each_us: list[float], calls: int) -> dict[str, float]:
    return {
        "mean_us": round(mean_us, 2),
        "p50_us": round(percentile(each_us, 50), 2),
        "p99_us": round(percentile(each_us, 99), 2),
        "max_us": round(max(each_us), 1),
        "calls": calls,
    }


def table(result: dict[str, Any]) -> str:
    head = f"{'operation':<22}{'mean µs':>10}{'p50 µs':>10}{'p99 µs':>10}{'max µs':>10}{'calls':>9}"
    lines = [head, "-" * len(head)]
    for name, row in result["results"].items():
        lines.append(
            f"{name:<22}{row['mean_us']:>10.2f}{row['p50_us']:>10.2f}{row['p99_us']:>10.2f}"
            f"{row['max_us']:>10.1f}{row['calls']:>9}"
        )
    lines.append(
        f"{result['python']} · holidays {result['holidays']} · {result['cpus']} CPUs · "
        f"load {result['load_average'][0]} → {result['load_average'][1]} · seed {result['seed']}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=None, help="random (start, target) pairs (10000; --quick: 1000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed warm runs over all pairs (5; --quick: 2)"
    )
    parser.add_argument(
        "--cold-calls", type=int, default=None, help="calls with caches cleared (2000; --quick: 200)"
    )
    parser.add_argument("--quick", action="store_true", help="small: a second or two")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json-out", default="", help="default: bench/results/business-time-<date>.json")
    args = parser.parse_args(argv)
    args.calls = args.calls if args.calls is not None else (1000 if args.quick else 10_000)
    args.repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    args.cold_calls = args.cold_calls if args.cold_calls is not None else (200 if args.quick else 2000)
    if min(args.calls, args.repeat, args.cold_calls) < 1:
        parser.error("--calls, --repeat and --cold-calls must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    rng = random.Random(seed)
    calendar = polish_calendar()
    adds, betweens = make_calls(rng, args.calls)
    load_before = os.getloadavg()[0]
    clear_caches()
    results = {
        "add, warm": warm(calendar.add, adds, args.repeat),
        "between, warm": warm(calendar.between, betweens, args.repeat),
        "add, cold": cold(calendar.add, adds[: args.cold_calls]),
        "between, cold": cold(calendar.between, betweens[: args.cold_calls]),
    }
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "calendar": "Europe/Warsaw, Mon–Fri 08:00–16:00, PL holidays 2025–2028, 2-week closure",
        "targets": "add: 1–40 business hours; between: 0–10 calendar days; starts in 2026",
        "seed": seed,
        "python": f"Python {platform.python_version()}",
        "holidays": metadata.version("holidays"),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every number: the 1-minute load before and after.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "results": results,
    }
    print(table(result))
    print(f"results: {write_results(result, args.json_out, 'business-time')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
