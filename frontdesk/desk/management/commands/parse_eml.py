"""`frontdesk parse-eml FILE… [--json]`: how Frontdesk reads a raw email, without the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from frontdesk.channels.email.parse import ParsedEmail, parse_email


class Command(BaseCommand):
    help = (
        "Print the normalised message Frontdesk reads from raw .eml files (addresses, subject, date, "
        "text and quoted text, sanitised HTML, attachments, thread keys, language, auto-reply/bounce/"
        "list classification). Touches no database. FILE '-' reads standard input."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="Print JSON (a list for several files).")
        parser.add_argument(
            "--languages",
            default="",
            help="Comma-separated languages to detect among (the shop's, e.g. pl,en); empty: any.",
        )
        parser.add_argument(
            "--tenant",
            type=int,
            default=None,
            help="Tenant id, to verify signed reply addresses (support+c12-…@) among the recipients.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        languages = [c.strip() for c in options["languages"].split(",") if c.strip()]
        results = []
        for name in options["files"]:
            raw = self._read(name)
            parsed = parse_email(raw, languages=languages)
            results.append((name, parsed))
        if options["json"]:
            data = [p.to_dict(tenant_id=options["tenant"]) | {"file": n} for n, p in results]
            output = data[0] if len(data) == 1 else data
            self.stdout.write(json.dumps(output, ensure_ascii=False, indent=2))
            return
        for name, parsed in results:
            self._print(name, parsed, options["tenant"])

    def _read(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror or exc}") from None

    def _print(self, name: str, parsed: ParsedEmail, tenant_id: int | None) -> None:
        data = parsed.to_dict(tenant_id=tenant_id)
        write = self.stdout.write

        def addresses(items: list[dict[str, str]]) -> str:
            return ", ".join(f"{a['name']} <{a['email']}>" if a["name"] else a["email"] for a in items)

        write(f"== {name}")
        rows = [
            ("From", addresses([data["from"]]) if data["from"] else ""),
            ("To", addresses(data["to"])),
            ("Cc", addresses(data["cc"])),
            ("Reply-To", addresses(data["reply_to"])),
            ("Subject", data["subject"]),
            ("Date", data["date"] or data["date_header"]),
            ("Message-ID", data["thread"]["message_id"]),
            ("In-Reply-To", " ".join(data["thread"]["in_reply_to"])),
            ("References", " ".join(data["thread"]["references"])),
            ("Subject ref", str(data["thread"]["subject_ref"] or "")),
            (
                "Reply address",
                json.dumps(data["thread"]["reply_address"]) if data["thread"]["reply_address"] else "",
            ),
            ("Language", data["language"]),
        ]
        classification = data["classification"]
        kinds = [
            k
            for k, on in (
                ("auto-reply", classification["auto_reply"]),
                ("bounce", classification["bounce"]),
                ("read receipt", classification["read_receipt"]),
                ("mailing list", classification["mailing_list"]),
            )
            if on
        ]
        rows.append(
            ("Kind", ", ".join(kinds) + (f" ({'; '.join(classification['reasons'])})" if kinds else ""))
        )
        if classification["bounce"]:
            bounce = classification["bounce"]
            rows.append(
                (
                    "Bounce",
                    f"{bounce['action']} {bounce['status']} {', '.join(bounce['recipients'])} "
                    f"about {' '.join(bounce['original_message_ids'])}",
                )
            )
        for label, value in rows:
            if value:
                write(f"{label + ':':<15}{value}")
        for a in data["attachments"]:
            cid = f" cid:{a['content_id']}" if a["content_id"] else ""
            write(f"{'Attachment:':<15}{a['filename']} ({a['content_type']}, {a['size']} bytes){cid}")
        if data["defects"]:
            write(f"{'Defects:':<15}{'; '.join(data['defects'])}")
        write("")
        write(data["text"])
        if data["quoted_text"]:
            write("")
            write(f"--- quoted ({data['strip_method']}) ---")
            write(data["quoted_text"])
        write("")
