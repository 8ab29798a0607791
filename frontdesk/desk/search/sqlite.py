"""SQLite backend: FTS5 tables kept in step with the data by triggers.

Three full-text tables, each keyed by the rowid of what it indexes:
  desk_search_message(body)   rowid = desk_message.id        message text (customer, replies, notes)
  desk_search_subject(body)   rowid = desk_conversation.id   conversation subject
  desk_search_customer(body)  rowid = desk_customer.id       customer name
The tokenizer is unicode61 with remove_diacritics 2 (case and most diacritics ignored); letters
Unicode does not decompose ("ł") are folded by the triggers. There is no Polish dictionary in
SQLite: inflected forms are found by prefix ("paczk" finds "paczka", "paczki"), see query.light_stem.

Because triggers maintain the tables, every write path (actions, bulk updates, merges, fixtures)
keeps the index right. Tenant scoping is part of every query: each match is joined to its row and
filtered on that row's tenant_id in the same statement, before any LIMIT.

Best match (`ranked_documents`) scores documents with FTS5's bm25(), but only the newest `cap`
matching documents of each table (rowid order, which FTS5 walks backwards and stops): ordering by
rank makes FTS5 score every match first, 5-8 s for a word in most of 1M messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.safestring import SafeString

from .query import _FOLD_EXTRA, Term

TOKENIZER = "unicode61 remove_diacritics 2"

# (fts table, indexed table, indexed column)
TABLES = (
    ("desk_search_message", "desk_message", "text"),
    ("desk_search_subject", "desk_conversation", "subject"),
    ("desk_search_customer", "desk_customer", "name"),
)


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
            f"USING fts5(body, tokenize = '{TOKENIZER}', prefix = '3')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = new.id; "
            f"INSERT INTO {fts}(rowid, body) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = {old}; "
            f"INSERT INTO {fts}(rowid, body) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608
            f"DELETE FROM {fts} WHERE rowid = {old}; END",
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
        for statement in _ddl():
            cursor.execute(statement)
        for fts, table, column in TABLES:
            if fts not in existing:
                _fill(cursor, fts, table, column)


def _fill(cursor: Any, fts: str, table: str, column: str) -> None:
    cursor.execute(f"DELETE FROM {fts}")  # noqa: S608 - constant table names
    cursor.execute(f"INSERT INTO {fts}(rowid, body) SELECT id, {_folded(column)} FROM {table}")  # noqa: S608


def rebuild(connection: BaseDatabaseWrapper) -> None:
    """Index everything again from the data."""
    install(connection)
    with connection.cursor() as cursor:
        for fts, table, column in TABLES:
            _fill(cursor, fts, table, column)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for fts, _table, _column in TABLES:
            for suffix in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def prepare(connection: BaseDatabaseWrapper, terms: Sequence[Term]) -> str:
    """The FTS5 query: every term, quoted (so nothing in it is syntax), as a prefix or whole."""
    return " ".join(f'"{t.stem}"*' if t.prefix else f'"{t.folded}"' for t in terms)


def conversation_ids_sql(tenant_id: int, expression: str) -> tuple[str, list[Any]]:
    """A subquery: ids of the tenant's conversations with a message or subject matching all terms."""
    sql = (
        "SELECT m.conversation_id FROM desk_search_message"
        " JOIN desk_message m ON m.id = desk_search_message.rowid"
        " WHERE desk_search_message MATCH %s AND m.tenant_id = %s"
        " UNION"
        " SELECT c.id FROM desk_search_subject"
        " JOIN desk_conversation c ON c.id = desk_search_subject.rowid"
        " WHERE desk_search_subject MATCH %s AND c.tenant_id = %s"
    )
    return sql, [expression, tenant_id, expression, tenant_id]


def customer_ids_sql(tenant_id: int, expression: str) -> tuple[str, list[Any]]:
    """A subquery: ids of the tenant's customers whose name matches all terms."""
    sql = (
        "SELECT cu.id FROM desk_search_customer"
        " JOIN desk_customer cu ON cu.id = desk_search_customer.rowid"
        " WHERE desk_search_customer MATCH %s AND cu.tenant_id = %s"
    )
    return sql, [expression, tenant_id]


def ranked_documents(
    connection: BaseDatabaseWrapper, tenant_id: int, expression: str, cap: int
) -> tuple[list[tuple[int, int, float]], list[tuple[int, float]], list[tuple[int, float]]]:
    """The newest `cap` matching messages, subjects and customer names of the tenant, scored.

    Returns (conversation id, message id, score) for messages, (conversation id, score) for
    subjects of conversations not merged away, (customer id, score) for names. The score is
    -bm25() (higher is better), computed only for these rows. The tenant condition is in each
    statement, so the cap counts this tenant's documents only.
    """
    statements = (
        "SELECT m.conversation_id, m.id, -bm25(desk_search_message) FROM desk_search_message"
        " JOIN desk_message m ON m.id = desk_search_message.rowid"
        " WHERE desk_search_message MATCH %s AND m.tenant_id = %s"
        " ORDER BY desk_search_message.rowid DESC LIMIT %s",
        "SELECT c.id, -bm25(desk_search_subject) FROM desk_search_subject"
        " JOIN desk_conversation c ON c.id = desk_search_subject.rowid"
        " WHERE desk_search_subject MATCH %s AND c.tenant_id = %s AND c.merged_into_id IS NULL"
        " ORDER BY desk_search_subject.rowid DESC LIMIT %s",
        "SELECT cu.id, -bm25(desk_search_customer) FROM desk_search_customer"
        " JOIN desk_customer cu ON cu.id = desk_search_customer.rowid"
        " WHERE desk_search_customer MATCH %s AND cu.tenant_id = %s"
        " ORDER BY desk_search_customer.rowid DESC LIMIT %s",
    )
    results: list[list[Any]] = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [expression, tenant_id, cap])
            results.append([tuple(row) for row in cursor.fetchall()])
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
        cursor.execute(sql, [expression, tenant_id, *conversation_ids])
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
