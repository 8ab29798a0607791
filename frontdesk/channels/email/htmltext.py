"""Readable text from an email's HTML, and where in it the quoted history starts.

One pass of the stdlib HTMLParser: block elements become line breaks, links keep their address,
lists their bullets, blockquotes a "> " prefix; scripts, styles and hidden preheaders vanish.
While converting it notes the first element mail clients use to wrap the quoted earlier message
(Gmail's gmail_quote, Apple Mail's and Thunderbird's <blockquote type="cite">, Outlook's
divRplyFwdMsg or border-top separator…), so strip.py can cut the reply there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import structlog

log = structlog.get_logger(__name__)

# Bigger HTML (newsletters with inlined images) is cut before converting: the text is for reading.
MAX_HTML_CHARS = 2_000_000

_BLOCK = frozenset({
    "address", "article", "aside", "caption", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "main", "nav", "section",
    "summary", "table", "tbody", "tfoot", "thead",
})  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})
_SKIP = frozenset({
    "head", "iframe", "noscript", "object", "script", "style", "svg", "template", "title", "xml",
})  # fmt: skip
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
})  # fmt: skip
_WS = re.compile(r"[ \t\r\n\f\u00a0\u200b\u200c\u200d\ufeff]+")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
_OUTLOOK_SEPARATOR = re.compile(
    r"border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)|border:\s*none;\s*border-top", re.I
)

# (tag, attribute, pattern): the first element matching one of these starts the quoted history.
_STRONG_MARKERS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("*", "class", re.compile(r"(?:^|\s)gmail_quote(?:_container)?(?:\s|$)")),
    ("blockquote", "type", re.compile(r"^cite$", re.I)),
    ("div", "class", re.compile(r"(?:^|\s)moz-cite-prefix(?:\s|$)")),
    (
        "*",
        "id",
        re.compile(r"^(?:x_)*(?:divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)$"),
    ),
    ("hr", "id", re.compile(r"^(?:x_)*stopSpelling$")),
    ("*", "class", re.compile(r"(?:^|\s)(?:yahoo_quoted|protonmail_quote|zmail_extra|OutlookMessageHeader)")),
    ("div", "id", re.compile(r"^(?:x_)*(?:yahoo_quoted|Zm-_Id_-Sgn)")),
    ("div", "style", _OUTLOOK_SEPARATOR),
)

_HEADINGS = re.compile(r"^h[1-6]$")


@dataclass
class HtmlText:
    text: str
    # Offset in `text` where the quoted history starts, or None.
    quote_at: int | None = None
    # What told us: "gmail_quote", "blockquote", "divRplyFwdMsg"…
    quote_marker: str = ""

    @property
    def new_text(self) -> str:
        return tidy(self.text if self.quote_at is None else self.text[: self.quote_at])

    @property
    def quoted_text(self) -> str:
        return "" if self.quote_at is None else tidy(self.text[self.quote_at :])


_MANY_NEWLINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no blank start or end.
    (Line by line: a regex for trailing spaces backtracks quadratically on long runs of spaces.)"""
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.newlines = 2  # the start counts as after a blank line: no leading breaks
        self.space = True
        self.skip: list[str] = []  # stack of tags whose content is dropped
        self.hidden_depth: list[tuple[str, int]] = []
        self.open_counts: dict[str, int] = {}
        self.pre = 0
        self.mso_paragraph = False
        self.quote_depth = 0
        self.lists: list[list[int]] = []  # [counter] per open list; -1 for bullets
        self.links: list[tuple[str, int]] = []
        self.quote_at: int | None = None
        self.quote_marker = ""
        # Plain <blockquote>s (no type=cite): quoted history only when nothing follows them.
        self.weak_quote: tuple[int, int] | None = None  # (text offset, open blockquotes at start)
        self.weak_quote_ended_at: int | None = None

    # -- output ---------------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.newlines and self.quote_depth:
            prefix = "> " * self.quote_depth
            text = prefix + text
        self.parts.append(text)
        self.length += len(text)
        self.newlines = 0
        self.space = text.endswith((" ", "\n"))

    def _break(self, count: int = 1) -> None:
        """End the current line; count=2 leaves a blank line."""
        if self.length == 0:
            return
        while self.newlines < count:
            self.parts.append("\n")
            self.length += 1
            self.newlines += 1
        self.space = True

    # -- parser callbacks -----------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag == self.skip[-1] and tag not in _VOID:
                self.skip.append(tag)
            return
        if tag in _SKIP:
            self.skip.append(tag)
            return
        attributes = {k: (v or "") for k, v in attrs}
        if tag not in _VOID:
            self.open_counts[tag] = self.open_counts.get(tag, 0) + 1
            style = attributes.get("style", "")
            if style and _HIDDEN.search(style):
                self.hidden_depth.append((tag, self.open_counts[tag]))
        if self.hidden_depth:
            return
        if self.quote_at is None:
            self._check_marker(tag, attributes)
        if tag == "br":
            self._newline_hard()
        elif tag == "hr":
            self._break(2)
        elif tag in _PARAGRAPH or _HEADINGS.match(tag):
            # Outlook writes each line as <p class=MsoNormal>: those are lines, not paragraphs.
            mso = "MsoNormal" in attributes.get("class", "")
            if tag == "p":
                self.mso_paragraph = mso
            self._break(1 if mso else 2)
            if tag == "pre":
                self.pre += 1
        elif tag == "blockquote":
            self._break(1)
            if self.quote_at is None and self.weak_quote is None:
                self.weak_quote = (self.length, self.open_counts.get("blockquote", 1))
            self.quote_depth += 1
        elif tag in ("ul", "ol"):
            self._break(1)
            self.lists.append([0 if tag == "ol" else -1])
        elif tag == "li":
            self._break(1)
            if self.lists and self.lists[-1][0] >= 0:
                self.lists[-1][0] += 1
                self._emit("  " * (len(self.lists) - 1) + f"{self.lists[-1][0]}. ")
            else:
                self._emit("  " * max(len(self.lists) - 1, 0) + "- ")
            self.space = True
        elif tag == "tr":
            self._break(1)
        elif tag in ("td", "th"):
            if not self.newlines and not self.space:
                self._emit(" ")
        elif tag in _BLOCK:
            self._break(1)
        elif tag == "a":
            self.links.append((attributes.get("href", "").strip(), len(self.parts)))
        elif tag == "img":
            alt = _WS.sub(" ", attributes.get("alt", "")).strip()
            if alt and len(alt) < 100:
                self._text(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in _VOID:
            return
        count = self.open_counts.get(tag, 0)
        if count:
            self.open_counts[tag] = count - 1
        if self.hidden_depth:
            if self.hidden_depth[-1] == (tag, count):
                self.hidden_depth.pop()
            return
        if tag in _PARAGRAPH or _HEADINGS.match(tag):
            self._break(1 if tag == "p" and self.mso_paragraph else 2)
            if tag == "pre" and self.pre:
                self.pre -= 1
        elif tag == "blockquote":
            self.quote_depth = max(self.quote_depth - 1, 0)
            self._break(1)
            if (
                self.weak_quote is not None
                and self.weak_quote_ended_at is None
                and count == self.weak_quote[1]
            ):
                self.weak_quote_ended_at = self.length
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(1)
        elif tag in ("li", "tr") or tag in _BLOCK:
            self._break(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            self._link(href, start)

    def handle_data(self, data: str) -> None:
        if self.skip or self.hidden_depth:
            return
        if self.pre:
            lines = data.split("\n")
            for i, line in enumerate(lines):
                if i:
                    self._newline_hard()
                self._emit(line)
            return
        self._text(data)

    def _text(self, data: str) -> None:
        text = _WS.sub(" ", data)
        if self.space or self.newlines:
            text = text.lstrip(" ")
        self._emit(text)

    def _newline_hard(self) -> None:
        """A <br>: always a line break, even several in a row (they are the blank lines)."""
        if self.newlines == 0:
            self.parts.append("\n")
        elif self.quote_depth:
            self.parts.append("> " * self.quote_depth + "\n")
        else:
            self.parts.append("\n")
        self.length += len(self.parts[-1])
        self.newlines += 1
        self.space = True

    def _link(self, href: str, start: int) -> None:
        if not href or href.startswith(("#", "cid:", "javascript:", "data:")):
            return
        shown = "".join(self.parts[start : start + 200])
        target = href[7:] if href.lower().startswith("mailto:") else href
        target = target.split("?", 1)[0] if href.lower().startswith("mailto:") else target
        if not target or target in shown or shown.strip() in (target, href):
            return
        self._emit(f" <{target}>" if shown.strip() else f"<{target}>")

    def _check_marker(self, tag: str, attributes: dict[str, str]) -> None:
        for marker_tag, attribute, pattern in _STRONG_MARKERS:
            if marker_tag not in ("*", tag):
                continue
            value = attributes.get(attribute)
            if value and pattern.search(value):
                self._break(1)
                self.quote_at = self.length
                self.quote_marker = _marker_name(tag, attribute, value)
                return


def _marker_name(tag: str, attribute: str, value: str) -> str:
    if attribute == "style":
        return "outlook_separator"
    if tag == "blockquote" and attribute == "type":
        return "blockquote_cite"
    return re.sub(r"^(?:x_)+", "", value.split()[0])


def html_to_text(html: str) -> HtmlText:
    """Readable text of an HTML body and where its quoted history starts. Never raises."""
    converter = _Converter()
    try:
        converter.feed(html[:MAX_HTML_CHARS])
        converter.close()
    except Exception:  # HTMLParser is lenient; a bug on hostile input must not lose the text
        log.warning("html conversion stopped early", exc_info=True)
    text = "".join(converter.parts)
    quote_at, marker = converter.quote_at, converter.quote_marker
    if quote_at is None and converter.weak_quote is not None:
        start = converter.weak_quote[0]
        end = converter.weak_quote_ended_at or len(text)
        # A plain blockquote at the very end of the message is the quoted history.
        if not text[end:].strip() and text[:start].strip():
            quote_at, marker = start, "blockquote"
    return HtmlText(text=text, quote_at=quote_at, quote_marker=marker)
