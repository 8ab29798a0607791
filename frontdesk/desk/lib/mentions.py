"""Finding @mentions in note text."""

from __future__ import annotations

import re

# "@anna", "@anna.kowalska", "@anna-k" — a mention ends at whitespace or punctuation other than . - _
MENTION_RE = re.compile(r"(?<![\w@])@([\w][\w.\-]*[\w]|[\w])", re.UNICODE)


def mentioned_handles(text: str) -> list[str]:
    """Handles mentioned in `text`, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)
