#!/usr/bin/env python
"""`make bench`: every benchmark in one run, side by side with the peer (django-helpdesk), one table.

    python bench/run.py [--quick] [--sizes 10000,100000,1000000] [--corpus 2000] [--peer-tickets 100000]
                        [--no-peer] [--no-postgres] [--no-chat] [--keep DIR] [--json-out FILE]

Steps, each a script of its own in bench/ (run alone for details; bench/README.md):
1. the shared email corpus (corpus.py: realistic multipart mails, 25 % replies), generated once
   per size and seed into bench/work/;
2. the machine's limits, measured now (limits.py): stdlib parse+extract rate, SQLite commits/s;
3. email ingest through the real inbound path (ingest.py), on SQLite and on PostgreSQL;
4. HTTP inbound through the API channel's endpoint with a load generator (http_inbound.py);
5. the agent's pages at 10k, 100k and 1M conversations (desk_bench.py): inbox, REST list, search,
   a conversation with 200 messages, the database size;
6. the live chat with 300 WebSocket visitors (chat_load.py);
7. the one-process server's peak RSS with the demo data (here: `frontdesk serve` on the demo
   shop, every main page requested);
8. the peer: django-helpdesk 2.6.1 installed into its own virtual environment (bench/.peer-venv,
   never the project's), fed the same corpus through its own email processing, loaded to the same
   number of tickets, its ticket list, search and REST list timed the same way (peer/).

Prints one table (each figure with the peer's and the ratio where there is one, and as a share of
the machine's limit where that applies) and writes everything to bench/results/bench-<date>.json.
A step that fails is reported in the table and makes the exit status 1; the others still run.
PostgreSQL steps run when a server answers on 127.0.0.1:5432 (FRONTDESK_BENCH_POSTGRES_URL to
use another); each uses a database of its own, created and dropped here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / "work"
PY = sys.executable
POSTGRES = os.environ.get("FRONTDESK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))

    def step(self, name: str, argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Any:
        """Run one script with --json-out; keep its JSON (or the error) under `name`."""
        out = self.folder / f"{name}.json"
        print(
            f"== {name}: {' '.join(Path(a).name if a.startswith(str(ROOT)) else a for a in argv)}", flush=True
        )
        started = time.monotonic()
        try:
            done = subprocess.run(
                [*argv, "--json-out", str(out)],
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.errors[name] = f"stopped after {timeout:.0f} s"
            print(f"   {self.errors[name]}", flush=True)
            return None
        seconds = time.monotonic() - started
        if self.args.verbose or done.returncode != 0:
            print(done.stdout[-6000:], flush=True)
        if not out.exists():
            self.errors[name] = f"exit {done.returncode}, no result: " + done.stdout.strip()[-500:]
            print(f"   failed: {self.errors[name]}", flush=True)
            return None
        result = json.loads(out.read_text())
        if done.returncode != 0:
            self.errors[name] = f"exit {done.returncode} (see its output above)"
        result["_seconds"] = round(seconds, 1)
        self.results[name] = result
        print(f"   done in {seconds:.0f} s", flush=True)
        return result


def postgres_available() -> bool:
    try:
        done = subprocess.run(
            ["psql", f"{POSTGRES}/postgres", "-tAc", "select 1"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class PostgresDatabase:
    """A database of its own for one step: created, then dropped whatever happens."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"{POSTGRES}/{name}"

    def __enter__(self) -> str:
        self._sql(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._sql(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _sql(self, sql: str) -> None:
        subprocess.run(
            ["psql", f"{POSTGRES}/postgres", "-qc", sql], capture_output=True, timeout=120, check=False
        )


# --- The one-process server with the demo data --------------------------------------------------------


def server_memory(folder: Path) -> dict[str, Any]:
    """Peak RSS (VmHWM) of `frontdesk serve` on the demo shop after every main page was requested."""
    sys.path.insert(0, str(BENCH))
    import httpx
    from chat_load import Server, free_port, server_env
    from common import migrate

    port = free_port()
    env = server_env(f"sqlite:///{folder / 'demo.sqlite3'}", folder, port)
    migrate(env)
    subprocess.run([PY, "-m", "frontdesk", "demo", "--if-empty"], env=env, cwd=ROOT, check=True, timeout=600)
    server = Server(env, port, folder / "server.log")
    pages = 0
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=30, follow_redirects=True) as client:
            page = client.get("/login/")
            token = client.cookies.get("csrftoken", "")
            client.post(
                "/login/",
                data={"username": "katarzyna@rowerownia.example", "password": "rowerownia-demo"},
                headers={"X-CSRFToken": token, "Referer": f"{server.url}/login/"},
            )
            home = client.get("/")
            slug = str(home.url).rstrip("/").split("/t/")[-1].split("/")[0] if "/t/" in str(home.url) else ""
            paths = [
                f"/t/{slug}/{p}" for p in ("", "?view=all", "?view=all&sort=due", "queue/", "customers/")
            ]
            paths += [f"/t/{slug}/c/{n}/" for n in range(1, 41)]
            paths += [f"/t/{slug}/search/?q={w}" for w in ("zamówienie", "rower", "zwrot", "faktura")]
            paths += [
                f"/t/{slug}/settings/{p}" for p in ("", "channels/", "members/", "hours/", "response-times/")
            ]
            for _round in range(3):
                for path in paths:
                    page = client.get(path)
                    pages += page.status_code == 200
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {
            "pages_ok": pages,
            "pages": 3 * len(paths),
            "peak_rss_mib": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
            "rss_mib": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "demo_db_bytes": (folder / "demo.sqlite3").stat().st_size,
        }
    finally:
        server.stop()


# --- The table ---------------------------------------------------------------------------------------


def dig(data: Any, *path: Any) -> Any:
    for key in path:
        if data is None:
            return None
        if isinstance(key, int) and isinstance(data, list):
            data = data[key] if -len(data) <= key < len(data) else None
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def ratio(ours: Any, theirs: Any, *, lower_is_better: bool) -> str:
    if not ours or not theirs:
        return "—"
    r = theirs / ours if lower_is_better else ours / theirs
    return f"{r:,.1f}x"


def stage_at(desk: Any, size: int) -> Any:
    for stage in dig(desk, "stages") or []:
        if stage["conversations"] == size:
            return stage
    return None


def table(run: Run) -> list[tuple[str, str, str, str, str]]:
    """(what, Frontdesk, peer, ratio, target) rows."""
    r = run.results
    rows: list[tuple[str, str, str, str, str]] = []
    limits, peer = r.get("limits"), r.get("peer")
    parse_rate = dig(limits, "parse_extract", "per_second")
    commit_rate = dig(limits, "sqlite_commits", "per_second")
    rows.append(("machine: stdlib parse+extract", fmt(parse_rate, " mails/s"), "", "", ""))
    rows.append(("machine: SQLite single-row commits", fmt(commit_rate, "/s", 0), "", "", ""))
    ingest = dig(r.get("ingest-sqlite"), "per_second")
    peer_ingest = dig(peer, "ingest", "per_second")
    share = f" ({ingest / parse_rate:.0%} of parse)" if ingest and parse_rate else ""
    rows.append(
        (
            "email ingest, SQLite",
            fmt(ingest, " msg/s") + share,
            fmt(peer_ingest, " msg/s"),
            ratio(ingest, peer_ingest, lower_is_better=False),
            "≥150/s, ≥5x, ≥60%",
        )
    )
    rows.append(
        ("email ingest, PostgreSQL", fmt(dig(r.get("ingest-postgres"), "per_second"), " msg/s"), "", "", "")
    )
    for name, label in (
        ("http-sqlite", "HTTP inbound (API channel), SQLite"),
        ("http-postgres", "HTTP inbound (API channel), PostgreSQL"),
        ("http-sqlite-async", "  answered 202 once stored, SQLite"),
        ("http-postgres-async", "  answered 202 once stored, PostgreSQL"),
    ):
        http = r.get(name)
        figure = fmt(dig(http, "rate", "steady_requests_per_second"), " req/s")
        figure += f", p99 {fmt(dig(http, 'latency_ms', 'p99'), ' ms')}"
        if name.endswith("-async"):
            # Answered 202, the messages are made behind: at this rate, by the same process.
            figure += f"; made {fmt(dig(http, 'processed_behind', 'messages_per_second'), ' msg/s')}"
        target = "≥300 req/s" if name == "http-sqlite-async" else ""
        rows.append((label, figure, "", "", target))
    desk = r.get("desk")
    sizes = [s["conversations"] for s in dig(desk, "stages") or []]
    small = stage_at(desk, sizes[0]) if sizes else None
    peer_size = dig(peer, "tickets")
    for label, key, peer_key in (
        ("inbox mine", "mine", "ticket_list_data"),
        ("inbox unassigned", "unassigned", None),
        ("inbox all open by due time", "all by due", None),
    ):
        for size in sizes:
            stage = stage_at(desk, size)
            p95 = dig(stage, "inbox", key, "p95_ms")
            theirs = dig(peer, peer_key, "p95_ms") if peer_key and size == peer_size else None
            flat = ""
            if size == sizes[-1] and small is not None and len(sizes) > 1:
                base = dig(small, "inbox", key, "p95_ms")
                flat = f" ({p95 / base:.2f}x of {sizes[0]:,})" if p95 and base else ""
            rows.append(
                (
                    f"{label} @{size:,} p95 (queries)",
                    f"{fmt(p95, ' ms')} ({dig(stage, 'inbox', key, 'queries')}){flat}",
                    fmt(theirs, " ms"),
                    ratio(p95, theirs, lower_is_better=True),
                    "≤50 ms, ≤1.5x of 10k" if size == sizes[-1] else "",
                )
            )
    for size in sizes:
        stage = stage_at(desk, size)
        worst = max((v["p95_ms"] for v in (dig(stage, "api") or {}).values()), default=None)
        queries = sorted({v["queries"] for v in (dig(stage, "api") or {}).values()})
        theirs = dig(peer, "rest_list", "p95_ms") if size == peer_size else None
        rows.append(
            (
                f"REST list @{size:,} worst p95 (queries)",
                f"{fmt(worst, ' ms')} ({'/'.join(map(str, queries))})",
                fmt(theirs, " ms"),
                ratio(worst, theirs, lower_is_better=True),
                "≤50 ms" if size == sizes[-1] else "",
            )
        )
    for size in sizes:
        stage = stage_at(desk, size)
        search = dig(stage, "search") or {}
        if not search:
            continue
        newest = max((v["p95_ms"] for k, v in search.items() if k.endswith("newest")), default=None)
        best = max((v["p95_ms"] for k, v in search.items() if k.endswith("best")), default=None)
        peer_search = dig(peer, "search") or {}
        theirs = max((v["p95_ms"] for v in peer_search.values()), default=None) if size == peer_size else None
        rows.append(
            (
                f"search @{size:,} ({stage['messages']:,} msgs) worst p95, newest",
                fmt(newest, " ms"),
                fmt(theirs, " ms"),
                ratio(newest, theirs, lower_is_better=True),
                "≤50 ms" if size == sizes[-1] else "",
            )
        )
        rows.append((f"search @{size:,} worst p95, best match", fmt(best, " ms"), "", "", "≤200 ms"))
    for size in sizes:
        stage = stage_at(desk, size)
        rows.append(
            (
                f"conversation page, 200 messages @{size:,} p95",
                fmt(dig(stage, "conversation_200", "p95_ms"), " ms"),
                "",
                "",
                "",
            )
        )
    for size in sizes:
        stage = stage_at(desk, size)
        per_100k = stage["db_bytes"] / size * 100_000 / 1e6 if stage else None
        theirs = dig(peer, "db_bytes")
        peer_per_100k = (
            theirs / peer_size * 100_000 / 1e6 if theirs and peer_size and size == peer_size else None
        )
        rows.append(
            (
                f"database per 100k conversations @{size:,}",
                fmt(per_100k, " MB", 0),
                fmt(peer_per_100k, " MB", 0),
                "",
                "",
            )
        )
    chat = r.get("chat")
    rows.append(
        (
            "chat visitor→agent p99 (lost)",
            f"{fmt(dig(chat, 'visitor_to_agent_ms', 'p99'), ' ms')} ({fmt(dig(chat, 'messages', 'lost'))})",
            "",
            "",
            "≤50 ms, 0 lost",
        )
    )
    memory = r.get("memory")
    rows.append(
        ("server peak RSS with the demo data", fmt(dig(memory, "peak_rss_mib"), " MiB"), "", "", "≤300 MB")
    )
    return rows


def print_table(run: Run) -> None:
    rows = table(run)
    widths = [max(len(row[i]) for row in [*rows, HEAD]) for i in range(5)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print()
    print(line.format(*HEAD))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    for name, error in run.errors.items():
        print(f"FAILED {name}: {error}")


HEAD = ("", "Frontdesk", "django-helpdesk", "ratio", "target")


# --- Main ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a check that the harness works")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="conversations for the agent's pages")
    parser.add_argument("--corpus", type=int, default=2000, help="mails in the email corpus")
    parser.add_argument("--peer-tickets", type=int, default=100_000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-chat", action="store_true")
    parser.add_argument("--keep", default="", help="keep (and reuse) the desk benchmark's database here")
    parser.add_argument("--verbose", action="store_true", help="print every step's own output")
    parser.add_argument("--json-out", default="")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.corpus, args.peer_tickets = "300,1000", 60, 1000
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.monotonic()
    run = Run(args)
    pg = not args.no_postgres and postgres_available()
    quick = ["--quick"] if args.quick else []

    corpus = WORK / f"corpus-{args.corpus}"
    if not (corpus / "manifest.json").exists():
        subprocess.run(
            [PY, str(BENCH / "corpus.py"), "--count", str(args.corpus), "--seed", "1", "--out", str(corpus)],
            cwd=ROOT,
            check=True,
            timeout=600,
        )
    run.step("limits", [PY, str(BENCH / "limits.py"), "--corpus", str(corpus)], timeout=600)
    run.step("ingest-sqlite", [PY, str(BENCH / "ingest.py"), "--corpus", str(corpus)], timeout=1800)
    if pg:
        with PostgresDatabase("frontdesk_bench_ingest") as url:
            run.step(
                "ingest-postgres",
                [PY, str(BENCH / "ingest.py"), "--corpus", str(corpus), "--database-url", url],
                timeout=1800,
            )
    # Answered after processing (201 with the message id), and answered 202 once stored
    # (Prefer: respond-async), processed behind by the server's worker thread.
    for mode, extra in (("", []), ("-async", ["--respond-async"])):
        run.step(f"http-sqlite{mode}", [PY, str(BENCH / "http_inbound.py"), *quick, *extra], timeout=900)
        if pg:
            with PostgresDatabase("frontdesk_bench_http") as url:
                run.step(
                    f"http-postgres{mode}",
                    [PY, str(BENCH / "http_inbound.py"), *quick, *extra, "--database-url", url],
                    timeout=900,
                )
    desk = [PY, str(BENCH / "desk_bench.py"), "--sizes", ",".join(map(str, sizes)), "--search-all"]
    if args.quick:
        desk += ["--samples", "3"]
    if args.keep:
        desk += ["--keep", args.keep]
    run.step("desk", desk, timeout=4 * 3600)
    if not args.no_chat:
        run.step("chat", [PY, str(BENCH / "chat_load.py"), *quick], timeout=900)
    print("== memory: frontdesk serve with the demo data", flush=True)
    try:
        run.results["memory"] = server_memory(run.folder)
    except Exception as exc:
        run.errors["memory"] = f"{type(exc).__name__}: {exc}"
    if not args.no_peer:
        setup = subprocess.run(
            [PY, str(BENCH / "peer" / "setup_venv.py")], cwd=ROOT, timeout=1800, check=False
        )
        if setup.returncode != 0:
            run.errors["peer"] = "could not install django-helpdesk into bench/.peer-venv"
        else:
            peer_python = str(BENCH / ".peer-venv" / "bin" / "python")
            run.step(
                "peer",
                [peer_python, str(BENCH / "peer" / "peer_bench.py"), "--corpus", str(corpus)]
                + ["--tickets", str(args.peer_tickets), "--work", str(run.folder / "peer")]
                + (
                    ["--samples", "2", "--time-limit", "120", "--search-words", "zwrot"] if args.quick else []
                ),
                timeout=3600,
            )

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "arguments": vars(args),
        "results": run.results,
        "errors": run.errors,
        "table": table(run),
        "seconds": round(time.monotonic() - started, 1),
    }
    out = write_results(result, args.json_out, "bench")
    print_table(run)
    print(f"\n{result['seconds']:.0f} s in all; JSON: {out}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
