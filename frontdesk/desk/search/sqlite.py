"""SQLite backend: FTS5 tables kept in step with the data by triggers.

Three full-text tables, each keyed by the rowid of what it indexes:
  desk_search_message(tenant, body)   rowid = desk_message.id        message text (customer, replies, notes)
  desk_search_subject(tenant, body)   rowid = desk_conversation.id   conversation subject
  desk_search_customer(tenant, body)  rowid = desk_customer.id       customer name
The tokenizer is unicode61 with remove_diacritics 2 (case and most diacritics ignored); letters
Unicode does not decompose ("ł") are folded by the triggers. There is no Polish dictionary in
SQLite: inflected forms are found by prefix ("paczk" finds "paczka", "paczki"), see query.light_stem.

Because triggers maintain the tables, every write path (actions, bulk updates, merges, fixtures)
keeps the index right. Tenant scoping is part of every query twice over: the `tenant` column holds
the document's shop as a word ("t42"), so FTS5 itself reads only that shop's documents
(`_scoped`; before it, a search read every other shop's matches newer than the shop's own), and
each match is joined to its row and filtered on that row's tenant_id in the same statement.

Best match (`ranked_documents`) scores only the newest `cap` matching documents of each table
(rowid order, which FTS5 walks backwards and stops), in Python (`query.scores`): ordering by rank
makes FTS5 score every match first, 5-8 s for a word in most of 1M messages.

Prefixes are matched through a word list of our own, `desk_search_word` (every distinct word the
three tables hold, without pure numbers): "zamowien" becomes ("zamowienia" OR "zamowienie").
FTS5 answers a prefix query by merging the whole document lists of every word with that prefix
before it returns the first row (150–990 ms for a common prefix at 1M messages, even for the
newest 20); the same words written out are read newest first and stop at the LIMIT (0.2 ms).
Three-letter prefixes stay prefix queries: the `prefix='3'` index holds them ready. The word list
is filled by triggers through `frontdesk_words()`, a function every SQLite connection gets
(`register_functions`, on connection_created), and from the FTS5 vocabulary when it is created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.safestring import SafeString

from .query import _FOLD_EXTRA, MAX_TERM_CHARS, TYPICAL_WORDS, Term, fold, scores

TOKENIZER = "unicode61 remove_diacritics 2"

# (fts table, indexed table, indexed column)
TABLES = (
    ("desk_search_message", "desk_message", "text"),
    ("desk_search_subject", "desk_conversation", "subject"),
    ("desk_search_customer", "desk_customer", "name"),
)


WORDS = "desk_search_word"
# A prefix standing for more words than this is left to FTS5 as a prefix query.
MAX_EXPANSION = 64
_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)
def _folded_word(word: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(word)))


def words_json(text: str | None) -> str:
    """`frontdesk_words(text)`: the distinct folded words of a text as a JSON array, the way the
    tokenizer cuts them (letters and digits), without pure numbers (never prefixes)."""
    if not text:
        return "[]"
    found: dict[str, None] = {}
    for word in dict.fromkeys(_TOKEN.findall(text.lower())):
        for folded in _folded_word(word):
            if not folded.isdigit() and len(folded) <= MAX_TERM_CHARS:
                found[folded] = None
    return json.dumps(list(found), ensure_ascii=False)


def register_functions(connection: Any) -> None:
    """Give a new SQLite connection the functions the search triggers call."""
    connection.connection.create_function("frontdesk_words", 1, words_json, deterministic=True)


def _folded(expr: str) -> str:
    """SQL folding the letters the tokenizer keeps ("ł" → "l"), the same way query.fold does."""
    for source, target in sorted(_FOLD_EXTRA.items()):
        char = chr(source)
        for variant in {char, char.upper()}:
            expr = f"replace({expr}, '{variant}', '{target}')"
    return expr


def _ddl() -> list[str]:
    """Statements creating the tables and triggers (built from the constants above only)."""
    statements = []
    for fts, table, column in TABLES:
        new, old = _folded(f"new.{column}"), "old.id"
        statements += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} "
            f"USING fts5(tenant, body, tokenize = '{TOKENIZER}', prefix = '3')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = new.id; "
            f"INSERT INTO {fts}(rowid, tenant, body) VALUES (new.id, 't' || new.tenant_id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column}, tenant_id ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = {old}; "
            f"INSERT INTO {fts}(rowid, tenant, body) VALUES (new.id, 't' || new.tenant_id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = {old}; END",
        ]
    statements.append(f"CREATE TABLE IF NOT EXISTS {WORDS} (word TEXT PRIMARY KEY) WITHOUT ROWID")
    for fts, table, column in TABLES:
        add = (
            f"BEGIN INSERT OR IGNORE INTO {WORDS}(word)"  # noqa: S608 - constants
            f" SELECT value FROM json_each(frontdesk_words(new.{column})); END"
        )
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {fts}_words_insert AFTER INSERT ON {table} {add}",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_words_update AFTER UPDATE OF {column} ON {table} {add}",
        ]
    return statements


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the index (filled from the existing rows) and its triggers. Idempotent.

    Run by the migration, and again after every `migrate`: SQLite drops a table's triggers when a
    migration rebuilds the table, and this puts them back.
    """
    with connection.cursor() as cursor:
        existing = {
            row[0]
            for row in cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        }
        for fts, _table, _column in TABLES:
            if fts in existing and not _has_tenant_column(cursor, fts):
                # Made before documents carried their tenant (see `_scoped`): made again.
                _drop(cursor, fts)
                existing.discard(fts)
        for statement in _ddl():
            cursor.execute(statement)
        for fts, table, column in TABLES:
            if fts not in existing:
                _fill(cursor, fts, table, column)
        if WORDS not in existing:
            _fill_words(cursor)


def _has_tenant_column(cursor: Any, fts: str) -> bool:
    return any(row[1] == "tenant" for row in cursor.execute(f"PRAGMA table_info({fts})").fetchall())


def _drop(cursor: Any, fts: str) -> None:
    for suffix in ("insert", "update", "delete", "words_insert", "words_update"):
        cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
    cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def _fill_words(cursor: Any) -> None:
    """The word list from what the FTS5 tables hold (their vocabulary): once, when it is created."""
    cursor.execute(f"DELETE FROM {WORDS}")  # noqa: S608 - constant table name
    for fts, _table, _column in TABLES:
        cursor.execute(f"CREATE VIRTUAL TABLE temp.{fts}_vocab USING fts5vocab(main, {fts}, col)")
        cursor.execute(
            f"INSERT OR IGNORE INTO {WORDS}(word) SELECT DISTINCT term FROM temp.{fts}_vocab"  # noqa: S608
            f" WHERE col = 'body' AND term GLOB '*[^0-9]*' AND length(term) <= {MAX_TERM_CHARS}"
        )
        cursor.execute(f"DROP TABLE temp.{fts}_vocab")


def _fill(cursor: Any, fts: str, table: str, column: str) -> None:
    cursor.execute(f"DELETE FROM {fts}")  # noqa: S608 - constant table names
    cursor.execute(
        f"INSERT INTO {fts}(rowid, tenant, body) SELECT id, 't' || tenant_id, {_folded(column)} FROM {table}"  # noqa: S608
    )


def rebuild(connection: BaseDatabaseWrapper) -> None:
    """Index everything again from the data."""
    install(connection)
    with connection.cursor() as cursor:
        for fts, table, column in TABLES:
            _fill(cursor, fts, table, column)
        _fill_words(cursor)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for fts, _table, _column in TABLES:
            _drop(cursor, fts)
        cursor.execute(f"DROP TABLE IF EXISTS {WORDS}")


def prepare(connection: BaseDatabaseWrapper, terms: Sequence[Term]) -> str:
    """The FTS5 query: every term, quoted (so nothing in it is syntax), whole or as a prefix —
    a prefix written out as the words it stands for (see the module docstring)."""
    with connection.cursor() as cursor:
        return " AND ".join(f"body : {_term(cursor, t)}" for t in terms)


def _scoped(tenant_id: int, expression: str) -> str:
    """The query within one shop: every document carries its tenant as a word of its own column,
    so FTS5 reads only the shop's documents (at a thousand shops, not everyone's matches)."""
    return f'tenant : "t{int(tenant_id)}" AND {expression}'


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _term(cursor: Any, term: Term) -> str:
    if not term.prefix:
        return _quoted(term.folded)
    stem = term.stem
    if len(stem) <= 3:
        return _quoted(stem) + "*"
    after = stem[:-1] + chr(ord(stem[-1]) + 1)
    cursor.execute(
        f"SELECT word FROM {WORDS} WHERE word >= %s AND word < %s LIMIT %s",  # noqa: S608 - constant
        [stem, after, MAX_EXPANSION + 1],
    )
    words = [row[0] for row in cursor.fetchall()]
    if not words or len(words) > MAX_EXPANSION:
        return _quoted(stem) + "*"
    return "(" + " OR ".join(_quoted(w) for w in words) + ")"


def message_hits(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, before: int | None, n: int
) -> list[tuple[int, int]]:
    """(message id, conversation id) of the tenant's `n` newest messages matching all terms with an
    id below `before`, newest first. FTS5 walks its lists backwards from `before` and stops."""
    sql = (
        "SELECT desk_search_message.rowid, m.conversation_id FROM desk_search_message"
        " CROSS JOIN desk_message m ON m.id = desk_search_message.rowid"
        " WHERE desk_search_message MATCH %s AND desk_search_message.rowid < %s AND m.tenant_id = %s"
        " ORDER BY desk_search_message.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_scoped(tenant_id, expression), _below(before), tenant_id, n])
        return [tuple(row) for row in cursor.fetchall()]


def subject_hits(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, before: int | None, n: int
) -> list[int]:
    """Ids of the tenant's `n` newest conversations (not merged away) whose subject matches all
    terms, with an id below `before`, newest first."""
    sql = (
        "SELECT c.id FROM desk_search_subject"
        " CROSS JOIN desk_conversation c ON c.id = desk_search_subject.rowid"
        " WHERE desk_search_subject MATCH %s AND desk_search_subject.rowid < %s AND c.tenant_id = %s"
        " AND c.merged_into_id IS NULL ORDER BY desk_search_subject.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_scoped(tenant_id, expression), _below(before), tenant_id, n])
        return [row[0] for row in cursor.fetchall()]


def customer_hits(connection: BaseDatabaseWrapper, tenant_id: int, expression: str, cap: int) -> list[int]:
    """Ids of the tenant's `cap` newest customers whose name matches all terms."""
    sql = (
        "SELECT cu.id FROM desk_search_customer"
        " CROSS JOIN desk_customer cu ON cu.id = desk_search_customer.rowid"
        " WHERE desk_search_customer MATCH %s AND cu.tenant_id = %s"
        " ORDER BY desk_search_customer.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_scoped(tenant_id, expression), tenant_id, cap])
        return [row[0] for row in cursor.fetchall()]


# Newer messages to check are read from the index in runs of ids at most this far apart.
RUN_GAP = 2000


def newer_matches(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, after: Sequence[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The (conversation id, message id) pairs whose conversation has a message matching all terms
    with an id above the pair's.

    The newer messages are few and mostly recent: their ids are read (an index range per pair),
    then the index is asked which ids match in a few rowid ranges covering them. A lookup per
    message costs 0.2 ms (each sets up the whole query); a range costs about that once."""
    if not after:
        return set()
    values = ", ".join(["(%s, %s)"] * len(after))
    sql = (
        f"WITH wanted(conversation_id, after) AS (VALUES {values})"  # noqa: S608 - placeholders only
        " SELECT wanted.conversation_id, wanted.after, m.id FROM wanted"
        " CROSS JOIN desk_message m ON m.conversation_id = wanted.conversation_id AND m.id > wanted.after"
        " WHERE m.tenant_id = %s"
    )
    params: list[Any] = [value for pair in after for value in pair]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tenant_id])
        newer = cursor.fetchall()
        matching: set[int] = set()
        for low, high in _runs(sorted({row[2] for row in newer})):
            # Unscoped: only these ids of the tenant's count (the shop's own word would only add a
            # seek in the longest list of all).
            cursor.execute(
                "SELECT rowid FROM desk_search_message WHERE desk_search_message MATCH %s"
                " AND rowid >= %s AND rowid <= %s",
                [expression, low, high],
            )
            matching.update(row[0] for row in cursor.fetchall())
    return {
        (conversation_id, bound) for conversation_id, bound, message_id in newer if message_id in matching
    }


def _runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs, a new run where the next id is more than RUN_GAP on."""
    runs: list[tuple[int, int]] = []
    for message_id in ids:
        if runs and message_id - runs[-1][1] <= RUN_GAP:
            runs[-1] = (runs[-1][0], message_id)
        else:
            runs.append((message_id, message_id))
    return runs


def _below(before: int | None) -> int:
    return (1 << 63) - 1 if before is None else before


def customer_ids_sql(tenant_id: int, expression: str) -> tuple[str, list[Any]]:
    """A subquery: ids of the tenant's customers whose name matches all terms."""
    sql = (
        "SELECT cu.id FROM desk_search_customer"
        " JOIN desk_customer cu ON cu.id = desk_search_customer.rowid"
        " WHERE desk_search_customer MATCH %s AND cu.tenant_id = %s"
    )
    return sql, [_scoped(tenant_id, expression), tenant_id]


def ranked_documents(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, cap: int, terms: Sequence[Term]
) -> tuple[list[tuple[int, int, float]], list[tuple[int, float]], list[tuple[int, float]]]:
    """The newest `cap` matching messages, subjects and customer names of the tenant, scored.

    Returns (conversation id, message id, score) for messages, (conversation id, score) for
    subjects of conversations not merged away, (customer id, score) for names. The score is
    `query.scores` (BM25 without the words' rarity), computed in Python for these rows only: FTS5's
    bm25() first counts every document holding each phrase of the query — the shop's own word
    among them, all of its documents — 100–250 ms at 1M messages before the first row.
    """
    statements = (
        "SELECT m.conversation_id, m.id, m.text FROM desk_search_message"
        " CROSS JOIN desk_message m ON m.id = desk_search_message.rowid"
        " WHERE desk_search_message MATCH %s AND m.tenant_id = %s"
        " ORDER BY desk_search_message.rowid DESC LIMIT %s",
        "SELECT c.id, c.subject FROM desk_search_subject"
        " CROSS JOIN desk_conversation c ON c.id = desk_search_subject.rowid"
        " WHERE desk_search_subject MATCH %s AND c.tenant_id = %s AND c.merged_into_id IS NULL"
        " ORDER BY desk_search_subject.rowid DESC LIMIT %s",
        "SELECT cu.id, cu.name FROM desk_search_customer"
        " CROSS JOIN desk_customer cu ON cu.id = desk_search_customer.rowid"
        " WHERE desk_search_customer MATCH %s AND cu.tenant_id = %s"
        " ORDER BY desk_search_customer.rowid DESC LIMIT %s",
    )
    results: list[list[Any]] = []
    with connection.cursor() as cursor:
        for sql, kind in zip(statements, ("message", "subject", "name"), strict=True):
            cursor.execute(sql, [_scoped(tenant_id, expression), tenant_id, cap])
            rows = cursor.fetchall()
            scored = scores([row[-1] or "" for row in rows], terms, TYPICAL_WORDS[kind])
            results.append([(*row[:-1], score) for row, score in zip(rows, scored, strict=True)])
    return results[0], results[1], results[2]


def newest_matching_messages(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, conversation_ids: Sequence[int]
) -> dict[int, int]:
    """For each of the conversations, the id of its newest message matching all terms."""
    if not conversation_ids:
        return {}
    placeholders = ", ".join(["%s"] * len(conversation_ids))
    sql = (
        "SELECT conversation_id, id FROM ("  # noqa: S608 - only placeholders are interpolated
        " SELECT m.conversation_id, m.id, row_number() OVER ("
        "  PARTITION BY m.conversation_id ORDER BY m.created_at DESC, m.id DESC) AS rank"
        " FROM desk_search_message JOIN desk_message m ON m.id = desk_search_message.rowid"
        f" WHERE desk_search_message MATCH %s AND m.tenant_id = %s AND m.conversation_id IN ({placeholders})"
        ") WHERE rank = 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_scoped(tenant_id, expression), tenant_id, *conversation_ids])
        return dict(cursor.fetchall())


def snippets(
    connection: BaseDatabaseWrapper,
    tenant_id: int,
    expression: str,
    terms: Sequence[Term],
    conversation_ids: Sequence[int],
    chosen: Mapping[int, int] | None = None,
) -> dict[int, tuple[int, SafeString]]:
    """conversation id → (message id, highlighted excerpt) of its newest matching message.

    `chosen` (conversation id → message id, a matching message of the tenant's) names the message
    to show instead for some of them: the best-matching one, for best match.
    """
    from ..models import Message
    from .query import highlight

    wanted = set(conversation_ids)
    chosen = {c: m for c, m in (chosen or {}).items() if c in wanted}
    rest = [c for c in conversation_ids if c not in chosen]
    picked = {**newest_matching_messages(connection, tenant_id, expression, rest), **chosen}
    texts = dict(
        Message.objects.filter(tenant_id=tenant_id, pk__in=picked.values()).values_list("pk", "text")
    )
    return {
        conversation_id: (message_id, highlight(texts.get(message_id, ""), terms))
        for conversation_id, message_id in picked.items()
    }
