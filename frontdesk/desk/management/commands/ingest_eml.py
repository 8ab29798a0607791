"""`frontdesk ingest-eml --channel ID FILE…`: import raw emails (.eml files, mbox files, folders of
.eml files) into an email channel, through the same path as received mail. Importing again is
harmless: messages the channel has already are counted as duplicates."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from frontdesk.channels.base import InboundRejected
from frontdesk.channels.email.store import dedupe_key, store_message, stored_keys
from frontdesk.desk.actions.inbound import process_raw
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import Channel, RawState

PROGRESS_EVERY = 100


def is_mbox(path: Path) -> bool:
    """.mbox files, and other files starting with a "From sender date" line. An .eml file is one
    message even with such a line (the parser skips it): split as an mbox, a body line starting
    with "From " would cut it in two."""
    suffix = path.suffix.lower()
    if suffix == ".eml":
        return False
    if suffix in (".mbox", ".mbx"):
        return True
    with path.open("rb") as file:
        return file.read(5) == b"From "


def expand(paths: list[str]) -> list[Path]:
    """Files as given; folders → the .eml files in them (recursively), in name order."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml"))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{name}: no such file or folder")
    return found


def messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(source, raw bytes) of each message in the file."""
    if not is_mbox(path):
        yield str(path), path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield f"{path}#{number}", box.get_bytes(key)
    finally:
        box.close()


class Command(BaseCommand):
    help = (
        "Import raw emails (.eml files, mbox files, folders of .eml files) into an email channel, "
        "as if they had just been received. Messages the channel has already are skipped."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--channel", type=int, required=True, help="The email channel's id.")
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Only store the messages; the workers process them (faster for big imports).",
        )

    def handle(self, *args: Any, channel: int, files: list[str], queue: bool, **options: Any) -> None:
        target = Channel.objects.select_related("tenant").filter(pk=channel).first()
        if target is None or target.kind != "email":
            raise CommandError(f"No email channel with the id {channel}.")
        paths = expand(files)
        if not paths:
            raise CommandError("No .eml or mbox files found.")
        counts = {"imported": 0, "queued": 0, "duplicates": 0, "rejected": 0, "failed": 0}
        seen = 0
        for path in paths:
            try:
                found = messages(path)
                for source, raw in found:
                    seen += 1
                    outcome, reason = self._ingest(target, source, raw, queue=queue)
                    counts[outcome] += 1
                    if outcome in ("rejected", "failed"):
                        self.stderr.write(f"{source}: {outcome}: {reason}")
                    elif options["verbosity"] >= 2:
                        self.stdout.write(f"{source}: {outcome}")
                    if seen % PROGRESS_EVERY == 0:
                        self.stdout.write(f"… {seen} messages")
            except (OSError, mailbox.Error) as exc:
                counts["failed"] += 1
                self.stderr.write(f"{path}: cannot be read: {exc}")
        summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n or name != "queued")
        self.stdout.write(f"{seen} messages from {len(paths)} file(s): {summary}.")

    def _ingest(self, channel: Channel, source: str, raw: bytes, *, queue: bool) -> tuple[str, str]:
        limit = settings.FRONTDESK_EMAIL_MAX_BYTES
        if len(raw) > limit:
            return "rejected", f"larger than the limit of {limit // 1024} KiB"
        if not raw.strip():
            return "rejected", "empty file"
        key = dedupe_key(raw)
        if stored_keys(channel, [key]):
            return "duplicates", ""
        stored = store_message(
            channel, raw, key=key, headers={"x-frontdesk-source": source[-500:]}, enqueue=queue
        )
        if queue:
            return "queued", ""
        try:
            process_raw(stored)
        except (InboundRejected, ActionError) as exc:
            return "rejected", str(getattr(exc, "message", exc))
        except Exception as exc:  # kept as failed; the sweeper tries again
            return "failed", f"{type(exc).__name__}: {exc}"
        return ("duplicates", "") if stored.state == RawState.DUPLICATE else ("imported", "")
