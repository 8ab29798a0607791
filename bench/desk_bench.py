#!/usr/bin/env python
"""The agent's pages at scale: inbox, REST list, search and a long conversation at 10k–1M conversations.

    python bench/desk_bench.py [--sizes 10000,100000,1000000] [--samples 30] [--quick]
                               [--database-url URL] [--json-out bench/results/desk-<date>.json]

A fresh database (a SQLite file in a temporary folder, or --database-url) is migrated, then a child
process (this script with --child, the same environment as a server) builds the shop of
bench/dataset.py and, at each size in --sizes, grows it and measures, through Django's test client
(the whole request: middleware, session, view, queries, template — everything but the socket):

- the inbox as an agent opens it: "mine", "unassigned", and "all open by due time" (HTML page);
- the REST API's list (`GET /api/v1/conversations`) for the same three, with 25 and with 100 rows
  a page — the SQL query count must be the same for both and at every size;
- search (HTML results page and API), one- and two-word queries of common, medium and rare words
  in Polish and English, newest first and best match;
- the conversation page of a conversation with 200 messages;
- the database's size.

Each request is made once to warm up, then `--samples` times (p50/p95/max in ms), and once more
inside CaptureQueriesContext to count its SQL queries. Every response must be 200, or the run
fails. Bounded: sizes and samples are fixed, and --time-limit stops measuring (the table says
which figures were cut short).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


from common import interpolated_percentile as percentile  # noqa: E402
from common import migrate, write_results  # noqa: E402


# --- The child: build and measure inside Django ----------------------------------------------------


class Timer:
    def __init__(self, samples: int, deadline: float) -> None:
        self.samples = samples
        self.deadline = deadline

    def get(self, client: Any, path: str, **headers: Any) -> dict[str, Any]:
        from django.db import connection

        response = client.get(path, **headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
        # Counted with an execute wrapper: CaptureQueriesContext loses what a request logs, as
        # Django empties the query log when each request starts.
        queries: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path, **headers)
        times = []
        for _ in range(self.samples):
            if time.monotonic() > self.deadline:
                break
            start = time.perf_counter()
            response = client.get(path, **headers)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")
        return {
            "path": path,
            "p50_ms": round(percentile(times, 0.5), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            "max_ms": round(max(times), 2) if times else None,
            "samples": len(times),
            "queries": len(queries),
            "bytes": len(response.content),
        }


def database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        return pages * int(cursor.fetchone()[0])


def search_queries() -> list[tuple[str, str, str]]:
    """(label, language, query): one word common/medium/rare, and two-word pairs, per language."""
    from text import search_words

    out = []
    for lang in ("pl", "en"):
        w = search_words(lang)
        out += [(f"{lang} {kind}", lang, word) for kind, word in w.items()]
        out.append((f"{lang} common+medium", lang, f"{w['common']} {w['medium']}"))
        out.append((f"{lang} medium+rare", lang, f"{w['medium']} {w['rare']}"))
    return out


def measure(dataset: Any, timer: Timer, *, search: bool) -> dict[str, Any]:
    from urllib.parse import urlencode

    from django.test import Client

    from frontdesk.desk.models import ApiToken, hash_token

    shop = dataset.shop
    slug = shop.tenant.slug
    agent = shop.agents[0]
    client = Client()
    client.force_login(agent.user)
    if not hasattr(dataset, "api_token"):
        # An agent's own token (the owner hands them out; an agent may not make one).
        lookup = secrets.token_hex(6)
        dataset.api_token = f"{ApiToken.PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        ApiToken.objects.create(
            tenant=shop.tenant,
            name="bench",
            lookup=lookup,
            token_hash=hash_token(dataset.api_token),
            member=agent,
        )
    api = {"HTTP_AUTHORIZATION": f"Bearer {dataset.api_token}"}
    active = "&".join(f"status={s}" for s in ("new", "open", "on_hold"))
    out: dict[str, Any] = {"inbox": {}, "api": {}, "search": {}, "search_api": {}}
    for label, params in (
        ("mine", "view=mine"),
        ("unassigned", "view=unassigned"),
        ("all by due", "view=all&sort=due"),
    ):
        out["inbox"][label] = timer.get(client, f"/t/{slug}/?{params}")
    for label, params in (("mine", "assignee=me"), ("unassigned", "assignee=none"), ("all open", "")):
        for limit in (25, 100):
            query = "&".join(p for p in (params, active, f"limit={limit}") if p)
            out["api"][f"{label} ({limit})"] = timer.get(client, f"/api/v1/conversations?{query}", **api)
    out["conversation_200"] = timer.get(client, f"/t/{slug}/c/{dataset.long_conversation}/")
    if search:
        for label, _lang, words in search_queries():
            for order in ("newest", "best"):
                params = {"q": words} if order == "newest" else {"q": words, "order": "best"}
                out["search"][f"{label} / {order}"] = timer.get(
                    client, f"/t/{slug}/search/?{urlencode(params)}"
                )
            out["search_api"][label] = timer.get(
                client, f"/api/v1/conversations?{urlencode({'q': words})}", **api
            )
    return out


def profile(dataset: Any, path: str) -> None:
    """cProfile 20 requests of one page (a path under the shop, e.g. "?view=all&sort=due" or
    "c/<long>/"), top functions to stderr: to see where a page's time goes."""
    import cProfile
    import pstats

    from django.test import Client

    client = Client()
    client.force_login(dataset.shop.agents[0].user)
    url = f"/t/{dataset.shop.tenant.slug}/" + path.replace("<long>", str(dataset.long_conversation))
    client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        client.get(url)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()
    from django.db import connection

    from dataset import Dataset
    from frontdesk.desk.models import Message

    deadline = time.monotonic() + args.time_limit
    timer = Timer(args.samples, deadline)
    started = time.monotonic()
    dataset = Dataset(seed=args.seed)
    stages = []
    for size in args.sizes:
        t0 = time.monotonic()
        dataset.grow_to(
            size, progress=lambda done, total: print(f"  {done}/{total}", file=sys.stderr, end="\r")
        )
        load_seconds = time.monotonic() - t0
        messages = Message.objects.filter(tenant=dataset.shop.tenant).count()
        print(
            f"\n== {size} conversations, {messages} messages, loaded in {load_seconds:.0f} s", file=sys.stderr
        )
        # The builder keeps hundreds of thousands of objects alive (its customer list, text pools);
        # a server does not. Frozen, the garbage collector's full passes no longer walk them
        # during the measured requests (they did: a third of a page's time at 1M).
        gc.collect()
        gc.freeze()
        stage = {
            "conversations": size,
            "messages": messages,
            "load_seconds": round(load_seconds, 1),
            "db_bytes": database_bytes(),
            **measure(dataset, timer, search=size == args.sizes[-1] or args.search_all),
        }
        stages.append(stage)
    if args.profile:
        profile(dataset, args.profile)
    result = {
        "vendor": connection.vendor,
        "sizes": args.sizes,
        "samples": args.samples,
        "stages": stages,
        "cut_short": time.monotonic() > deadline,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result))


# --- The parent: a fresh database, the child, the table ---------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="sizes 300,1000, 3 samples")
    parser.add_argument("--search-all", action="store_true", help="search at every size, not just the last")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--time-limit", type=float, default=3600.0)
    parser.add_argument("--json-out", default="")
    parser.add_argument(
        "--keep",
        default="",
        help="keep the SQLite database in this folder and reuse it next time (grown, never rebuilt)",
    )
    parser.add_argument("--profile", default="", help='profile one page after the run, e.g. "c/<long>/"')
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.samples = "300,1000", 3
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    if args.child:
        child(args)
        return 0
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="frontdesk-desk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-only-not-a-secret-" + "k" * 40,  # stable: --keep reuses signed data
            "FRONTDESK_VAR_DIR": str(folder / "var"),
            "MEDIA_ROOT": str(folder / "media"),
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "FRONTDESK_NO_SCHEDULER": "1",
        }
        for name in ("REDIS_URL", "FRONTDESK_TEST_DB_NAME"):
            env.pop(name, None)
        migrate(env, timeout=600)
        argv = [sys.executable, __file__, "--child", "--sizes", ",".join(map(str, args.sizes))]
        argv += [
            "--samples",
            str(args.samples),
            "--seed",
            str(args.seed),
            "--time-limit",
            str(args.time_limit),
        ]
        if args.search_all:
            argv.append("--search-all")
        if args.profile:
            argv += ["--profile", args.profile]
        done = subprocess.run(
            argv,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            timeout=args.time_limit + 3600,
            check=False,
        )
        if done.returncode != 0:
            print(f"desk bench failed (exit {done.returncode})", file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    result["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_results(result, args.json_out, "desk")
    print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    stages = result["stages"]
    head = "".join(f"{s['conversations']:>22,}" for s in stages)
    print(f"\n{'p50 / p95 ms (queries)':<42}{head}")
    for group in ("inbox", "api"):
        for label in stages[0][group]:
            cells = "".join(
                f"{s[group][label]['p50_ms']:>9.1f} /{s[group][label]['p95_ms']:>6.1f} ({s[group][label]['queries']:>2})"
                for s in stages
            )
            print(f"{group + ' ' + label:<42}{cells}")
    cells = "".join(
        f"{s['conversation_200']['p50_ms']:>9.1f} /{s['conversation_200']['p95_ms']:>6.1f} ({s['conversation_200']['queries']:>2})"
        for s in stages
    )
    print(f"{'conversation with 200 messages':<42}{cells}")
    print(f"{'database MB':<42}" + "".join(f"{s['db_bytes'] / 1e6:>22.0f}" for s in stages))
    last = stages[-1]
    if last.get("search"):
        print(
            f"\nsearch at {last['conversations']:,} conversations / {last['messages']:,} messages (p50 / p95 ms)"
        )
        for label, row in last["search"].items():
            print(f"  {label:<40}{row['p50_ms']:>9.1f} /{row['p95_ms']:>7.1f}  ({row['queries']} queries)")
        for label, row in last["search_api"].items():
            print(f"  API {label:<36}{row['p50_ms']:>9.1f} /{row['p95_ms']:>7.1f}")


if __name__ == "__main__":
    sys.exit(main())
