#!/usr/bin/env python
"""What this machine allows, measured in the same run as the benchmarks it puts in proportion.

    python bench/limits.py --corpus DIR [--json-out F] [--time-limit 10] [--commits 20000] [--quick]

1. stdlib email parse + extract, on one core: every mail of the corpus (bench/corpus.py) read with
   `email.message_from_bytes(raw, policy=email.policy.default)`, its addressing headers read (From,
   To, Subject, Date, Message-ID, In-Reply-To, References: what any desk needs), its parts walked,
   the text of text parts decoded (`get_content()`) and attachments' payloads decoded — messages/s.
   The files are read into memory first: the disk is not measured. This is the ceiling of issue 6
   (Frontdesk's ingest is shown as a fraction of it). The same with `policy.compat32` (headers
   decoded with email.header) is shown beside it: the standard library's faster way, ~2.5x.
2. SQLite single-row commit rate: a fresh database file in a temporary folder with the PRAGMAs
   Frontdesk's settings give every connection (journal_mode=WAL, synchronous=NORMAL, … read from
   frontdesk/settings.py so they cannot drift), one INSERT per transaction in autocommit, and the
   same as Django runs a write (BEGIN IMMEDIATE; INSERT; COMMIT) — commits/s.

Bounded by count and time (--time-limit seconds each; --commits rows at most). Standard library
only: `parse_rate()` and `sqlite_commit_rate()` are importable (bench/ingest.py uses them), and the
peer's virtual environment can run this file too. Prints a table; JSON to --json-out (default
bench/results/limits-<date>.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.header
import email.policy
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import text_table, write_results

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References")
# What frontdesk/settings.py sets when it cannot be read (kept equal to it by hand).
DEFAULT_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=20000",
    "cache_size=-20000",
    "temp_store=MEMORY",
)


# --- 1. Parse + extract ------------------------------------------------------------------------------


def read_corpus(folder: Path, limit: int = 5000) -> list[bytes]:
    """The raw bytes of the first `limit` .eml files of the folder, in delivery (name) order."""
    return [path.read_bytes() for path in sorted(Path(folder).glob("*.eml"))[:limit]]


def parse_and_extract(raw: bytes) -> int:
    """Parse one mail and take out what an ingest needs; returns the characters and bytes taken
    out (so nothing can be optimised away). This is the ceiling's definition (issue 6)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    taken = sum(len(str(msg.get(name, ""))) for name in HEADERS)
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            taken += len(part.get_content())
        else:
            taken += len(part.get_payload(decode=True) or b"")
    return taken


def parse_and_extract_compat32(raw: bytes) -> int:
    """The same with the legacy compat32 policy (header values stay strings, decoded here): the
    stdlib's faster way, shown beside the ceiling for what a parser built on it can reach."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    taken = 0
    for name in HEADERS:
        value = msg.get(name)
        if value is not None:
            taken += len(str(email.header.make_header(email.header.decode_header(str(value)))))
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)  # bytes for a leaf
        data = payload if isinstance(payload, bytes) else b""
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            taken += len(data.decode(part.get_content_charset() or "utf-8", "replace"))
        else:
            taken += len(data)
    return taken


def parse_rate(
    raws: Sequence[bytes],
    *,
    time_limit: float = 10.0,
    min_seconds: float = 2.0,
    parse: Callable[[bytes], int] = parse_and_extract,
) -> dict[str, Any]:
    """Messages/s of `parse` (parse_and_extract) on one core: the corpus once, and again while less
    than `min_seconds` have passed (small corpora), never longer than `time_limit`."""
    if not raws:
        raise ValueError("no mail to parse")
    done = 0
    size = 0
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + time_limit
    while True:
        for raw in raws:
            parse(raw)
            done += 1
            size += len(raw)
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds or elapsed >= time_limit or time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    return {
        "messages": done,
        "seconds": round(elapsed, 3),
        "per_second": round(done / elapsed, 1),
        # On a shared machine the wall clock also counts other processes' turns on the core.
        "cpu_seconds": round(cpu_seconds, 3),
        "per_cpu_second": round(done / max(cpu_seconds, 1e-9), 1),
        "mean_kib": round(size / done / 1024, 1),
    }


# --- 2. SQLite commits -------------------------------------------------------------------------------


def frontdesk_pragmas(settings_file: Path = ROOT / "frontdesk" / "settings.py") -> list[str]:
    """The PRAGMAs of Frontdesk's SQLite connections, as its settings write them."""
    try:
        found = re.findall(r"PRAGMA\s+([a-z_]+\s*=\s*[^;\"]+);", settings_file.read_text())
    except OSError:
        found = []
    return [re.sub(r"\s+", "", pragma) for pragma in found] or list(DEFAULT_PRAGMAS)


def sqlite_commit_rate(
    *, commits: int = 20_000, time_limit: float = 5.0, folder: Path | None = None
) -> dict[str, Any]:
    """Single-row commits/s on a fresh WAL database file with Frontdesk's PRAGMAs: autocommit
    INSERTs, then BEGIN IMMEDIATE; INSERT; COMMIT (how Django writes with transaction_mode
    IMMEDIATE). Each bounded by `commits` and `time_limit` seconds."""
    pragmas = frontdesk_pragmas()
    own = folder is None
    where = Path(tempfile.mkdtemp(prefix="frontdesk-limits-")) if own else Path(folder)  # type: ignore[arg-type]
    result: dict[str, Any] = {"pragmas": pragmas, "sqlite_version": sqlite3.sqlite_version}
    try:
        db = sqlite3.connect(where / "commits.sqlite3", isolation_level=None)  # autocommit
        try:
            for pragma in pragmas:
                db.execute(f"PRAGMA {pragma}")
            result["journal_mode"] = db.execute("PRAGMA journal_mode").fetchone()[0]
            db.execute(
                "CREATE TABLE event (id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, data TEXT)"
            )
            row_text = '{"message": 12345, "direction": "in", "channel": 7}'  # an event row's size
            for name, statements in (
                ("autocommit", ("INSERT INTO event (at, kind, data) VALUES (?, 'x', ?)",)),
                (
                    "begin_immediate",
                    ("BEGIN IMMEDIATE", "INSERT INTO event (at, kind, data) VALUES (?, 'x', ?)", "COMMIT"),
                ),
            ):
                done = 0
                started, cpu = time.perf_counter(), time.process_time()
                deadline = started + time_limit
                while done < commits and time.perf_counter() < deadline:
                    for statement in statements:
                        if statement.startswith("INSERT"):
                            db.execute(statement, (time.time(), row_text))
                        else:
                            db.execute(statement)
                    done += 1
                elapsed = time.perf_counter() - started
                result[name] = {
                    "commits": done,
                    "seconds": round(elapsed, 3),
                    "per_second": round(done / elapsed, 1),
                    "per_cpu_second": round(done / max(time.process_time() - cpu, 1e-9), 1),
                }
        finally:
            db.close()
    finally:
        if own:
            shutil.rmtree(where, ignore_errors=True)
    result["per_second"] = result["autocommit"]["per_second"]
    return result


# --- Main --------------------------------------------------------------------------------------------


def measure(corpus: Path, *, time_limit: float = 10.0, commits: int = 20_000) -> dict[str, Any]:
    raws = read_corpus(corpus)
    load_before = os.getloadavg()[0]
    least = min(3.0, time_limit)  # small corpora are parsed again until this much time has passed
    parse = parse_rate(raws, time_limit=time_limit, min_seconds=least)
    compat32 = parse_rate(raws, time_limit=time_limit, min_seconds=least, parse=parse_and_extract_compat32)
    sqlite = sqlite_commit_rate(commits=commits, time_limit=min(time_limit, 5.0))
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus": str(corpus),
        "corpus_messages": len(raws),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "parse_extract": parse,
        "parse_extract_compat32": compat32,
        "sqlite_commits": sqlite,
    }


def table(result: dict[str, Any]) -> str:
    parse, sqlite = result["parse_extract"], result["sqlite_commits"]
    rows = [
        ("stdlib parse+extract (msg/s, 1 core)", f"{parse['per_second']:g}"),
        ("  per CPU second", f"{parse['per_cpu_second']:g}"),
        (
            "  messages / seconds / mean KiB",
            f"{parse['messages']} / {parse['seconds']:g} / {parse['mean_kib']:g}",
        ),
        (
            "  with policy.compat32 instead (msg/s)",
            f"{result['parse_extract_compat32']['per_second']:g}"
            f" ({result['parse_extract_compat32']['per_cpu_second']:g} per CPU second)",
        ),
        ("SQLite WAL commits/s (autocommit)", f"{sqlite['autocommit']['per_second']:g}"),
        ("SQLite commits/s (BEGIN IMMEDIATE)", f"{sqlite['begin_immediate']['per_second']:g}"),
        ("  PRAGMAs", "; ".join(sqlite["pragmas"])),
        ("load average before / after", " / ".join(f"{x:g}" for x in result["load_average"])),
    ]
    return text_table("The machine's limits", rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="", help="a folder of .eml files (default: 500 generated mails)")
    parser.add_argument("--json-out", default="", help="default: bench/results/limits-<date>.json")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per measurement at most (10)")
    parser.add_argument("--commits", type=int, default=20_000, help="SQLite commits at most (20000)")
    parser.add_argument("--quick", action="store_true", help="1 s per measurement: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.time_limit = min(args.time_limit, 1.0)
    folder: Path | None = None
    corpus = Path(args.corpus) if args.corpus else None
    try:
        if corpus is None:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from corpus import generate

            folder = Path(tempfile.mkdtemp(prefix="frontdesk-limits-corpus-"))
            corpus = folder / "corpus"
            generate(corpus, 500, 1)
        result = measure(corpus, time_limit=args.time_limit, commits=args.commits)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(result))
    print(f"results: {write_results(result, args.json_out, 'limits')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
