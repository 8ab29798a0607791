"""The peer, django-helpdesk 2.6.1, measured the way bench/desk_bench.py measures Frontdesk.

Runs INSIDE the peer's own virtualenv (never the project's), which bench/peer/setup_venv.py makes:

    python3.11 bench/peer/setup_venv.py
    bench/.peer-venv/bin/python bench/peer/peer_bench.py --corpus DIR --tickets 100000 \\
        --json-out bench/results/peer.json [--work DIR] [--samples 20] [--time-limit 1800]

On a fresh SQLite database (WAL, the same pragmas as Frontdesk) in --work (a temporary folder by
default), migrated, with one queue whose address is the corpus's To address and 20 staff agents:

1. email ingest: every DIR/*.eml, sorted by name, goes through helpdesk's own per-message function,
   `helpdesk.email.extract_email_metadata(message, queue, logger)` — what its IMAP, POP3 and
   local-directory importers call for each message: parse, thread (In-Reply-To / [slug-id]),
   ticket or follow-up, attachments written to MEDIA_ROOT, the acknowledgement mail built and
   handed to the (in-memory) mail backend. Messages/s over all files; a failure is counted, not fatal.
2. bulk load up to --tickets tickets with bulk_create, shaped like Frontdesk's bench/dataset.py:
   the text of bench/text.py (Polish and English, Zipf-like), 2000 current open/reopened tickets from
   the last two weeks, the rest resolved/closed history over three years, 1-7 messages each as
   follow-ups (alternating customer e-mail / agent reply), fixed seed; then ANALYZE, as dataset.py.
3. through Django's test client, logged in as a staff agent (the whole request: middleware,
   session, view, queries, template), one warm-up then up to --samples timed requests each:
   - the agent ticket list page `/tickets/` and its data, which the page's DataTables script fetches
     from `/datatables_ticket_list/<base64 query>` with the browser's first-page parameters;
   - keyword search as the navigation bar's search box sends it (`/tickets/?q=...&status=1&status=2
     &status=3&search_type=header`): the page does not search, its data request does, so that
     request is the one timed (and its recordsFiltered kept as `matches`);
   - the REST list `/api/tickets/` (first page, 25 tickets, as staff).
   SQL queries per request are counted on an untimed run with a counting execute wrapper (not
   CaptureQueriesContext: it keeps at most 9000 queries, and the REST list makes one per ticket).
   --time-limit bounds the whole run: each endpoint gets a share of what is left (at most
   --endpoint-limit seconds) and takes fewer samples when its requests are slow; `samples` says
   how many were taken.
4. the database's size in bytes (after a WAL checkpoint).

Writes JSON (--json-out) and prints a short summary to stderr. Figures from a shared 2-core machine
are indicative.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import io
import json
import logging
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SITE = HERE / "site"
DEFAULT_TO = "support@shop.bench.example"
VERSION = "2.6.1"

# The shape of the data, as bench/dataset.py builds Frontdesk's (see its docstring for why).
CURRENT = 2000  # open work at any scale, capped at 20 % of the tickets
AGENTS = 20
HISTORY_DAYS = 3 * 365
BATCH = 2000
SEED = 20261124


# --- helpers ---------------------------------------------------------------------------------------


def load_bench_module(name: str) -> ModuleType:
    """bench/<name>.py, imported by path: text.py and common.py are stdlib only, shared with
    Frontdesk's side."""
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"peer_bench: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


percentile = load_bench_module("common").interpolated_percentile


def default_search_queries(text: ModuleType) -> list[tuple[str, str]]:
    """(label, query): the same set as desk_bench.search_queries() — per language one common, one
    medium and one rare word, and two two-word queries."""
    out: list[tuple[str, str]] = []
    for lang in ("pl", "en"):
        w = text.search_words(lang)
        out += [(f"{lang} {kind}", word) for kind, word in w.items()]
        out.append((f"{lang} common+medium", f"{w['common']} {w['medium']}"))
        out.append((f"{lang} medium+rare", f"{w['medium']} {w['rare']}"))
    return out


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


@contextmanager
def count_queries(connection: Any) -> Iterator[list[int]]:
    """Counts every SQL statement the connection executes inside the block (no limit, no copies)."""
    counter = [0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def setup_django(work: Path) -> None:
    db = work / "peer.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    media = work / "media"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True)
    os.environ["PEER_DB"] = str(db)
    os.environ["PEER_MEDIA"] = str(media)
    os.environ["DJANGO_SETTINGS_MODULE"] = "peersite.settings"
    sys.path.insert(0, str(SITE))
    import django

    django.setup()


# --- the budget ------------------------------------------------------------------------------------


class Timer:
    """Times GET requests through the test client within a global deadline."""

    def __init__(
        self, client: Any, samples: int, deadline: float, endpoint_limit: float, endpoints: int
    ) -> None:
        self.client = client
        self.samples = samples
        self.deadline = deadline
        self.endpoint_limit = endpoint_limit
        self.endpoints_left = endpoints

    def get(self, path: str, *, expect_json: bool = False) -> dict[str, Any]:
        from django.db import connection

        self.endpoints_left = max(1, self.endpoints_left)
        now = time.monotonic()
        remaining = self.deadline - now
        budget = min(self.endpoint_limit, remaining / self.endpoints_left)
        self.endpoints_left -= 1
        # DataTables' long first-page query string is the same everywhere; the JSON names it.
        shown = path.split("?")[0] + "?<DataTables first-page parameters>" if "draw=1" in path else path
        result: dict[str, Any] = {"path": shown, "samples_wanted": self.samples}
        if remaining <= 0:
            result.update(samples=0, skipped="time limit reached before this endpoint")
            return result
        start = time.perf_counter()
        # The warm-up, counting its queries: a slow endpoint (the REST list) is not run twice more
        # just to count them.
        try:
            with count_queries(connection) as counter:
                t0 = time.perf_counter()
                response = self.client.get(path)
                warm = time.perf_counter() - t0
        except Exception as exc:
            result.update(samples=0, error=f"{type(exc).__name__}: {exc}")
            return result
        if response.status_code != 200:
            result.update(samples=0, error=f"status {response.status_code}", status=response.status_code)
            return result
        queries = counter[0]
        if warm < 2.0:
            # Fast enough to count again on a warm process, as desk_bench.py counts (after warm-up).
            with count_queries(connection) as counter:
                response = self.client.get(path)
            queries = counter[0]
        times: list[float] = []
        if warm > budget / 2:
            # One request takes most of this endpoint's share (the REST list at 100k tickets): its
            # warm-up is its one sample rather than running it twice; a page cache warmed by the
            # bulk load and a few compiled templates are nothing beside tens of seconds.
            times.append(warm * 1000)
            result["warmup_counted"] = True
        while len(times) < self.samples:
            spent = time.perf_counter() - start
            expected = times[-1] / 1000 if times else warm
            over_budget = spent + expected > budget
            if times and (over_budget or time.monotonic() + expected > self.deadline):
                break
            t0 = time.perf_counter()
            response = self.client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                result["error"] = f"status {response.status_code} on a timed sample"
                break
        result.update(
            p50_ms=round(percentile(times, 0.5), 2),
            p95_ms=round(percentile(times, 0.95), 2),
            max_ms=round(max(times), 2) if times else None,
            samples=len(times),
            warmup_ms=round(warm * 1000, 2),
            queries=queries,
            bytes=len(response.content),
        )
        if expect_json:
            try:
                body = json.loads(response.content)
                if isinstance(body, dict):
                    for key in ("recordsFiltered", "recordsTotal", "count"):
                        if key in body:
                            result[key] = body[key]
            except ValueError:
                result["error"] = "response is not JSON"
        return result


# --- 1. e-mail ingest ------------------------------------------------------------------------------


def ingest(corpus: Path, queue: Any) -> dict[str, Any]:
    from django.core import mail
    from django.utils import encoding
    from helpdesk.email import extract_email_metadata
    from helpdesk.exceptions import DeleteIgnoredTicketException, IgnoreTicketException
    from helpdesk.models import FollowUp, FollowUpAttachment, Ticket

    # As helpdesk.email.process_email sets up a queue whose logging_type is "none".
    logger = logging.getLogger("django.helpdesk.queue." + queue.slug)
    logger.handlers = []
    logger.propagate = False
    # ... where its errors would reach logging's last-resort handler (stderr) and clutter the output.
    logger.addHandler(logging.NullHandler())
    files = sorted(corpus.glob("*.eml"))
    tickets_before = Ticket.objects.count()
    followups_before = FollowUp.objects.count()
    attachments_before = FollowUpAttachment.objects.count()
    mail.outbox = []
    failed = ignored = 0
    errors: list[str] = []
    # helpdesk print()s some attachment validation errors; kept out of the benchmark's output.
    chatter = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(chatter):
        for path in files:
            # What the IMAP and POP3 importers hand over: the raw bytes, decoded with errors replaced.
            message = encoding.force_str(path.read_bytes(), errors="replace")
            try:
                ticket = extract_email_metadata(message=message, queue=queue, logger=logger)
            except (IgnoreTicketException, DeleteIgnoredTicketException):
                ignored += 1
                continue
            except Exception as exc:
                failed += 1
                if len(errors) < 5:
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    place = f"{Path(where.filename).name}:{where.lineno}"
                    errors.append(f"{path.name}: {type(exc).__name__}: {exc} ({place})")
                continue
            if not ticket:
                failed += 1
                if len(errors) < 5:
                    errors.append(f"{path.name}: not processed (no ticket returned)")
    seconds = time.perf_counter() - start
    built = len(getattr(mail, "outbox", []))
    mail.outbox = []
    return {
        "messages": len(files),
        "failed": failed,
        "ignored": ignored,
        "seconds": round(seconds, 3),
        "per_second": round(len(files) / seconds, 2) if seconds > 0 else None,
        "tickets_created": Ticket.objects.count() - tickets_before,
        "followups_created": FollowUp.objects.count() - followups_before,
        "attachments_saved": FollowUpAttachment.objects.count() - attachments_before,
        "mails_built": built,
        "printed_lines": len(chatter.getvalue().splitlines()),
        "errors": errors,
    }


# --- 2. bulk load ----------------------------------------------------------------------------------


def bulk_load(target: int, queue: Any, agents: list[Any], text: ModuleType, seed: int) -> dict[str, Any]:
    """Adds `target` tickets with their follow-ups; returns counts and seconds."""
    from django.db import connection, transaction
    from django.utils import timezone
    from helpdesk.models import FollowUp, Ticket

    start = time.perf_counter()
    if target <= 0:
        return {"tickets": 0, "followups": 0, "seconds": 0.0}
    rng = random.Random(seed)
    maker = text.TextMaker(seed + 1)
    now = timezone.now()
    current = min(CURRENT, target // 5)
    # Customers write 2.5 tickets each on average, in one language each (as dataset.py).
    domains = ("gmail.com", "wp.pl", "onet.pl", "interia.pl", "o2.pl", "outlook.com", "example.com")
    customers = [
        (f"klient{k}@{domains[k % len(domains)]}", maker.language()) for k in range(max(1, int(target / 2.5)))
    ]
    agent_ids = [a.pk for a in agents]
    priorities = (3, 2, 4, 1)  # normal, high, low, urgent, weighted as dataset.py's
    # helpdesk sets created/modified itself (auto_now_add / auto_now); history needs its own dates.
    created_field = Ticket._meta.get_field("created")
    modified_field = Ticket._meta.get_field("modified")
    saved_flags = (created_field.auto_now_add, modified_field.auto_now)
    created_field.auto_now_add = False
    modified_field.auto_now = False
    n_tickets = n_followups = 0
    try:
        done = 0
        while done < target:
            size = min(BATCH, target - done)
            tickets: list[Any] = []
            threads: list[list[tuple[str, dict[str, Any]]]] = []
            for i in range(done, done + size):
                email, lang = rng.choice(customers)
                if i < current:
                    created = now - dt.timedelta(hours=rng.uniform(0.2, 14 * 24))
                    status = rng.choices((Ticket.OPEN_STATUS, Ticket.REOPENED_STATUS), weights=(85, 15))[0]
                    assignee = rng.choice(agent_ids) if rng.random() < 0.8 else None
                else:
                    created = now - dt.timedelta(days=rng.uniform(14, 14 + HISTORY_DAYS))
                    status = rng.choices((Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS), weights=(70, 30))[0]
                    assignee = rng.choice(agent_ids) if rng.random() < 0.95 else None
                n_messages = min(1 + int(rng.expovariate(0.5)), 7)
                at = created
                thread: list[tuple[str, dict[str, Any]]] = []
                for m in range(n_messages):
                    inbound = m % 2 == 0
                    order = f"ZAM-{rng.randint(100000, 999999)}" if inbound and rng.random() < 0.3 else ""
                    body = maker.message(lang, sentences=(1, 5), order=order)
                    if inbound:
                        fields = {
                            "title": f"E-Mail Received from {email}",
                            "public": True,
                            "user_id": None,
                            "message_id": f"<t{i}.{m}.{rng.getrandbits(40):010x}@mail.bench.example>",
                        }
                    else:
                        fields = {
                            "title": "Comment",
                            "public": rng.random() >= 0.05,  # 5 % internal notes
                            "user_id": assignee or rng.choice(agent_ids),
                            "message_id": None,
                        }
                    fields.update(comment=body, date=at)
                    thread.append((body, fields))
                    if m + 1 < n_messages:
                        at += dt.timedelta(minutes=rng.uniform(5, 60 * 6 if i < current else 60 * 20))
                if i < current and at > now:
                    at = now - dt.timedelta(minutes=rng.uniform(1, 30))
                    thread[-1][1]["date"] = at
                if status in (Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS):
                    last = thread[-1][1]
                    last["new_status"] = status
                resolution = None
                if status in (Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS) and rng.random() < 0.5:
                    resolution = maker.sentence(lang)
                tickets.append(
                    Ticket(
                        title=maker.subject(lang),
                        queue_id=queue.pk,
                        created=created,
                        modified=at,
                        submitter_email=email,
                        assigned_to_id=assignee,
                        status=status,
                        description=thread[0][0],  # helpdesk keeps the first mail as description too
                        resolution=resolution,
                        priority=rng.choices(priorities, weights=(80, 12, 5, 3))[0],
                        due_date=created + dt.timedelta(days=5) if i < current else None,
                    )
                )
                threads.append(thread)
            with transaction.atomic():
                Ticket.objects.bulk_create(tickets)
                followups = [
                    FollowUp(ticket_id=ticket.pk, **fields)
                    for ticket, thread in zip(tickets, threads, strict=True)
                    for _body, fields in thread
                ]
                FollowUp.objects.bulk_create(followups)
            n_tickets += len(tickets)
            n_followups += len(followups)
            done += size
    finally:
        created_field.auto_now_add, modified_field.auto_now = saved_flags
    # As bench/dataset.py does after its load: the planner gets statistics on both sides.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"tickets": n_tickets, "followups": n_followups, "seconds": round(time.perf_counter() - start, 3)}


# --- 3. requests -----------------------------------------------------------------------------------


DATATABLES_URL = re.compile(r"datatables_ticket_list/([A-Za-z0-9+/=]*)")


def datatables_params() -> str:
    """The query string DataTables sends for the ticket list's first page (serverSide, order: [],
    data-page-length = the agent's tickets_per_page, 25 by default)."""
    from helpdesk import settings as hs

    columns = ["id", "ticket", "priority", "queue", "status", "created", "due_date", "assigned_to"]
    columns += ["submitter", "last_followup"]
    if hs.HELPDESK_ENABLE_TIME_SPENT_ON_TICKET:
        columns.append("time_spent")
    if hs.HELPDESK_KB_ENABLED:
        columns.append("kbitem")
    params: list[tuple[str, str]] = [("draw", "1")]
    for i, name in enumerate(columns):
        params += [
            (f"columns[{i}][data]", name),
            (f"columns[{i}][name]", ""),
            (f"columns[{i}][searchable]", "true"),
            (f"columns[{i}][orderable]", "false" if i == 0 else "true"),
            (f"columns[{i}][search][value]", ""),
            (f"columns[{i}][search][regex]", "false"),
        ]
    params += [
        ("start", "0"),
        ("length", "25"),
        ("search[value]", ""),
        ("search[regex]", "false"),
        ("_", str(int(time.time() * 1000))),
    ]
    return urlencode(params)


def data_url_of(client: Any, page: str) -> str:
    """The data request the ticket list page makes, taken from the page itself."""
    response = client.get(page)
    if response.status_code != 200:
        raise RuntimeError(f"GET {page}: status {response.status_code}")
    match = DATATABLES_URL.search(response.content.decode())
    if not match:
        raise RuntimeError(f"GET {page}: no datatables_ticket_list URL in the page")
    return f"/datatables_ticket_list/{match.group(1)}?{datatables_params()}"


def measure(
    agent: Any, queries: list[tuple[str, str]], args: argparse.Namespace, deadline: float
) -> dict[str, Any]:
    from django.test import Client

    client = Client()
    client.force_login(agent)
    timer = Timer(client, args.samples, deadline, args.endpoint_limit, endpoints=3 + len(queries))
    out: dict[str, Any] = {}
    out["ticket_list_page"] = timer.get("/tickets/")
    out["ticket_list_data"] = timer.get(data_url_of(client, "/tickets/"), expect_json=True)
    out["search"] = {}
    for label, words in queries:
        page = "/tickets/?" + urlencode(
            [("q", words), ("status", "1"), ("status", "2"), ("status", "3"), ("search_type", "header")]
        )
        try:
            url = data_url_of(client, page)
        except RuntimeError as exc:
            out["search"][words] = {"label": label, "samples": 0, "error": str(exc)}
            timer.endpoints_left -= 1
            continue
        figures = timer.get(url, expect_json=True)
        figures["label"] = label
        figures["page"] = page
        if "recordsFiltered" in figures:
            figures["matches"] = figures["recordsFiltered"]
        out["search"][words] = figures
    out["rest_list"] = timer.get("/api/tickets/", expect_json=True)
    return out


def database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        return pages * int(cursor.fetchone()[0])


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of *.eml (and manifest.json)")
    parser.add_argument("--tickets", type=int, required=True, help="tickets in the database when measured")
    parser.add_argument("--json-out", type=Path, required=True)
    parser.add_argument("--work", type=Path, help="folder for the database and attachments (kept)")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=1800.0, help="seconds for the whole run")
    parser.add_argument(
        "--endpoint-limit", type=float, default=60.0, help="seconds at most for one endpoint's samples"
    )
    parser.add_argument("--search-words", help='comma-separated queries, e.g. "zwrot,order status"')
    parser.add_argument(
        "--ingest-at",
        choices=("empty", "loaded"),
        default="empty",
        help="ingest into the fresh database (default) or after the bulk load",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.tickets < 0 or args.samples < 1:
        parser.error("--tickets must be >= 0 and --samples >= 1")
    if not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus} is not a folder")
    return args


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    run_start = time.perf_counter()
    deadline = time.monotonic() + args.time_limit
    load_before = loadavg()
    setup_django(work)

    import django
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from helpdesk.models import FollowUp, Queue, Ticket

    text = load_bench_module("text")
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = time.perf_counter() - t0

    to_address = DEFAULT_TO
    manifest = args.corpus / "manifest.json"
    if manifest.is_file():
        to_address = json.loads(manifest.read_text()).get("to_address") or DEFAULT_TO
    maildir = work / "maildir"
    maildir.mkdir(exist_ok=True)
    queue = Queue.objects.create(
        title="Support",
        slug="support",
        email_address=to_address,
        allow_email_submission=True,
        email_box_type="local",
        email_box_local_dir=str(maildir),
        logging_type="none",
    )
    User = get_user_model()
    agents = []
    for k in range(AGENTS):
        user = User(
            username="agent" if k == 0 else f"agent{k}",
            email=f"agent{k}@shop.bench.example",
            first_name=f"Agent{k}",
            last_name="Bench",
            is_staff=True,
        )
        user.set_unusable_password()
        user.save()
        agents.append(user)

    if args.search_words:
        queries = [(w.strip(), w.strip()) for w in args.search_words.split(",") if w.strip()]
    else:
        queries = default_search_queries(text)

    print(
        f"peer: django-helpdesk {VERSION}, Django {django.get_version()}, work folder {work}", file=sys.stderr
    )
    eml_count = len(list(args.corpus.glob("*.eml")))
    if args.ingest_at == "empty":
        print(f"peer: ingesting {eml_count} messages ...", file=sys.stderr)
        ingest_result = ingest(args.corpus, queue)
        target = args.tickets - Ticket.objects.count()
        print(f"peer: bulk loading {max(0, target)} tickets ...", file=sys.stderr)
        load = bulk_load(target, queue, agents, text, args.seed)
    else:
        # Leave room for the tickets the corpus opens (replies thread into existing ones).
        target = max(0, args.tickets - eml_count)
        print(f"peer: bulk loading {target} tickets ...", file=sys.stderr)
        load = bulk_load(target, queue, agents, text, args.seed)
        print(f"peer: ingesting {eml_count} messages ...", file=sys.stderr)
        ingest_result = ingest(args.corpus, queue)
    ingest_result["at"] = args.ingest_at
    tickets = Ticket.objects.count()
    followups = FollowUp.objects.count()

    print(f"peer: measuring with {tickets} tickets, {followups} follow-ups ...", file=sys.stderr)
    measure_start = time.perf_counter()
    figures = measure(agents[0], queries, args, deadline)
    measure_seconds = time.perf_counter() - measure_start
    db_bytes = database_bytes()
    result: dict[str, Any] = {
        "peer": "django-helpdesk",
        "version": VERSION,
        "django": django.get_version(),
        "tickets": tickets,
        "tickets_requested": args.tickets,
        "followups": followups,
        "ingest": ingest_result,
        **figures,
        "db_bytes": db_bytes,
        "db_bytes_per_100k_tickets": round(db_bytes * 100_000 / tickets) if tickets else None,
        "load_seconds": load["seconds"],
        "load": load,
        "migrate_seconds": round(migrate_seconds, 3),
        "measure_seconds": round(measure_seconds, 3),
        "run_seconds": round(time.perf_counter() - run_start, 3),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "corpus": str(args.corpus),
        "to_address": to_address,
        "samples": args.samples,
        "time_limit": args.time_limit,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "cpus": os.cpu_count(),
        "database": "sqlite (WAL, synchronous=NORMAL)",
    }
    return result


def fmt(figures: dict[str, Any]) -> str:
    if not figures.get("samples"):
        return f"— ({figures.get('error') or figures.get('skipped') or 'no samples'})"
    return (
        f"p50 {figures['p50_ms']:>9.1f} ms  p95 {figures['p95_ms']:>9.1f} ms  "
        f"{figures['queries']:>6} queries  n={figures['samples']}"
    )


def summary(result: dict[str, Any]) -> str:
    ing = result["ingest"]
    lines = [
        f"django-helpdesk {result['version']} at {result['tickets']} tickets "
        f"({result['followups']} follow-ups), SQLite WAL; run {result['run_seconds']:.0f} s "
        f"(indicative: shared machine, load {result['loadavg_after']})",
        f"  email ingest      {ing['per_second']} msg/s ({ing['messages']} messages, {ing['failed']} failed, "
        f"{ing['tickets_created']} tickets + {ing['followups_created']} follow-ups, {ing['seconds']} s)",
        f"  bulk load         {result['load']['tickets']} tickets in {result['load_seconds']:.1f} s",
        f"  ticket list page  {fmt(result['ticket_list_page'])}",
        f"  ticket list data  {fmt(result['ticket_list_data'])}",
    ]
    for words, figures in result["search"].items():
        matches = figures.get("matches")
        lines.append(
            f"  search {words!r:<24} {fmt(figures)}" + (f"  {matches} matches" if matches is not None else "")
        )
    lines.append(f"  REST list         {fmt(result['rest_list'])}")
    lines.append(f"  database          {result['db_bytes'] / 1e6:.1f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="peer-bench-")) if temporary else args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args, work)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(summary(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
