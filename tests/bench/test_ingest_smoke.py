"""The shared email corpus (bench/corpus.py) is deterministic and a quarter replies, and the ingest
benchmark (bench/ingest.py) feeds a tiny one through the real inbound path on a fresh SQLite
database with nothing lost or mis-threaded. Counts only: timings are reported by the scripts,
never asserted here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COUNT = 30


def _env() -> dict[str, str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    # The benchmark makes its own SQLite database: not the test database, nothing leaks either way.
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FRONTDESK_TEST_DB_NAME", "REDIS_URL"):
        env.pop(name, None)
    return env


def _corpus(out: Path, seed: int) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "corpus.py"),
            "--count",
            str(COUNT),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest: dict[str, object] = json.loads((out / "manifest.json").read_text())
    return manifest


def test_the_corpus_is_the_same_for_a_seed_and_a_quarter_of_it_are_replies(tmp_path: Path) -> None:
    first = _corpus(tmp_path / "a", seed=3)
    again = _corpus(tmp_path / "b", seed=3)
    other = _corpus(tmp_path / "c", seed=4)

    names = sorted(p.name for p in (tmp_path / "a").glob("*.eml"))
    assert names == [f"{i:06d}.eml" for i in range(1, COUNT + 1)]
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)
    assert any((tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes() for n in names)
    for key in ("count", "replies", "bytes", "to_address", "seed"):
        assert first[key] == again[key]
    assert first["count"] == COUNT and first["seed"] == 3 and other["seed"] == 4
    assert first["to_address"] == "support@shop.bench.example"

    # Replies are counted from the mails themselves: In-Reply-To an earlier mail of the corpus
    # from the same sender, and a "Re:"/"Odp:" subject.
    earlier: dict[str, str] = {}
    replies = 0
    for name in names:
        head = (tmp_path / "a" / name).read_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii")
        head = re.sub(r"\r\n[ \t]+", " ", head)
        fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n"))}
        sender = re.search(r"<([^>]+)>|(\S+@\S+)", fields["from"])
        assert sender is not None
        address = sender.group(1) or sender.group(2)
        if "in-reply-to" in fields:
            replies += 1
            assert earlier.get(fields["in-reply-to"]) == address
            assert fields["subject"].startswith(
                ("Re:", "=?UTF-8?Q?Re", "=?UTF-8?Q?Odp", "=?utf-8?B?", "ODP:", "Odp:")
            )
        earlier[fields["message-id"]] = address
    assert replies == first["replies"] == round(COUNT * 0.25)


def test_the_ingest_benchmark_stores_and_threads_every_mail_of_a_tiny_corpus(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "corpus", seed=1)
    out = tmp_path / "ingest.json"

    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "ingest.py"), "--quick",
            "--corpus", str(tmp_path / "corpus"), "--json-out", str(out),
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Frontdesk email ingest" in done.stdout
    result = json.loads(out.read_text())
    checks = result["checks"]
    replies = int(manifest["replies"])  # type: ignore[call-overload]
    assert result["failures"] == 0, result["failure_samples"]
    assert result["messages"] == COUNT
    assert checks["messages_stored"] == COUNT
    assert checks["raw_states"] == {"processed": COUNT}
    assert checks["replies_in_corpus"] == replies
    assert checks["replies_threaded"] == replies
    assert checks["conversations"] == COUNT - replies
    # Acknowledgements are on in the benchmark's shop: one per new conversation, queued.
    assert checks["acknowledgements_queued"] == COUNT - replies
    assert result["limits"]["parse_extract"]["messages"] > 0
    assert result["limits"]["sqlite_commits"]["autocommit"]["commits"] > 0
