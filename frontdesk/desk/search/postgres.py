"""PostgreSQL backend: tsvector side tables kept in step by triggers, GIN indexes.

  desk_search_message(message_id, tenant_id, conversation_id, config, tsv)   message text
  desk_search_subject(conversation_id, tenant_id, config, tsv)               conversation subject
  desk_search_customer(customer_id, tenant_id, tsv)                          customer name

Each document is indexed twice over: with the text search configuration of its language, and with
a folding configuration (`frontdesk_fold`: unaccent + simple, or plain `simple` where the unaccent
extension is not available) so that words typed without diacritics, and words in another language
than detected, are still found. The language is the message's, else the conversation's, else the
shop's first language:
  pl → `frontdesk_pl` (a hunspell dictionary from Debian's hunspell-pl, see
       scripts/install-polish-fts.sh) when the database server has the dictionary files, else simple
  en → english (snowball stemming, built in)
  anything else → simple
With `frontdesk_pl`, inflected forms match each other ("paczka" finds "paczki", "zwrot" finds
"zwrotu"); without it, prefixes of folded words do (the same as on SQLite).

The side tables have no foreign keys (Django's test flush truncates its own tables only); instead
triggers remove rows on DELETE and empty the side table on TRUNCATE.

Best match (`ranked_documents`) scores with ts_rank_cd only the newest `cap` matching documents of
each side table, found in two bounded steps (see `_newest_matches`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.safestring import SafeString

from .query import MARK_END, MARK_START, Term, highlight, marked_to_html

log = structlog.get_logger(__name__)

POLISH_CONFIG = "frontdesk_pl"
POLISH_DICTIONARY = "polish_hunspell"
FOLD_CONFIG = "frontdesk_fold"
# Token types of the default parser that carry words (not URLs, numbers, e-mail addresses…).
WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"
HEADLINE_OPTIONS = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=30, MinWords=12, ShortWord=2, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
# ts_headline re-parses the document; very long messages are cut for the snippet only.
HEADLINE_MAX_CHARS = 20000

# Built from the constants above only.
FUNCTIONS = rf"""
CREATE OR REPLACE FUNCTION frontdesk_search_named_config(name text) RETURNS regconfig
LANGUAGE sql STABLE AS $$
  SELECT oid::regconfig FROM pg_ts_config WHERE cfgname = name ORDER BY oid LIMIT 1
$$;

CREATE OR REPLACE FUNCTION frontdesk_search_config(lang text) RETURNS regconfig
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN lower(coalesce(lang, '')) LIKE 'pl%' THEN
      coalesce(frontdesk_search_named_config('{POLISH_CONFIG}'), 'simple'::regconfig)
    WHEN lower(coalesce(lang, '')) LIKE 'en%' THEN 'english'::regconfig
    ELSE 'simple'::regconfig
  END
$$;

CREATE OR REPLACE FUNCTION frontdesk_search_fold_config() RETURNS regconfig
LANGUAGE sql STABLE AS $$
  SELECT coalesce(frontdesk_search_named_config('{FOLD_CONFIG}'), 'simple'::regconfig)
$$;

-- Text is plain text, not HTML: angle brackets are blanked so the parser does not take
-- "<b>…</b>" or "<script>…</script>" for markup and skip the words in it.
CREATE OR REPLACE FUNCTION frontdesk_search_vector(cfg regconfig, body text) RETURNS tsvector
LANGUAGE plpgsql STABLE AS $$
DECLARE
  fold regconfig := frontdesk_search_fold_config();
  plain text := translate(coalesce(body, ''), '<>', '  ');
BEGIN
  IF cfg = fold THEN
    RETURN to_tsvector(cfg, plain);
  END IF;
  RETURN to_tsvector(cfg, plain) || to_tsvector(fold, plain);
END $$;

-- One tsquery from prepared terms: every term must match, each in any of the configurations a
-- document may have been indexed with. words[i] / stems[i] are quoted tsquery operands such as
-- 'paczki':* and 'paczk':* built by frontdesk.desk.search.postgres (never raw user text).
CREATE OR REPLACE FUNCTION frontdesk_search_query(words text[], stems text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE AS $$
DECLARE
  result tsquery := ''::tsquery;
  term tsquery;
  pl regconfig := frontdesk_search_named_config('{POLISH_CONFIG}');
  fold regconfig := frontdesk_search_fold_config();
BEGIN
  FOR i IN 1 .. coalesce(array_length(words, 1), 0) LOOP
    term := to_tsquery('simple', words[i]) || to_tsquery(fold, stems[i])
      || to_tsquery('english', words[i]);
    IF pl IS NOT NULL THEN
      term := term || to_tsquery(pl, words[i]);
    END IF;
    result := result && term;
  END LOOP;
  RETURN result;
END $$;

CREATE OR REPLACE FUNCTION frontdesk_search_language(tenant bigint, conversation bigint, lang text)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(lang, ''),
    (SELECT nullif(c.language, '') FROM desk_conversation c WHERE c.id = conversation),
    (SELECT t.languages ->> 0 FROM desk_tenant t WHERE t.id = tenant),
    ''
  )
$$;

CREATE OR REPLACE FUNCTION frontdesk_search_index_message() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cfg regconfig;
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM desk_search_message WHERE message_id = OLD.id;
    RETURN NULL;
  END IF;
  cfg := frontdesk_search_config(frontdesk_search_language(NEW.tenant_id, NEW.conversation_id, NEW.language));
  INSERT INTO desk_search_message (message_id, tenant_id, conversation_id, config, tsv)
  VALUES (NEW.id, NEW.tenant_id, NEW.conversation_id, cfg, frontdesk_search_vector(cfg, NEW.text))
  ON CONFLICT (message_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,
    conversation_id = EXCLUDED.conversation_id, config = EXCLUDED.config, tsv = EXCLUDED.tsv;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION frontdesk_search_index_conversation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cfg regconfig;
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM desk_search_subject WHERE conversation_id = OLD.id;
    RETURN NULL;
  END IF;
  cfg := frontdesk_search_config(frontdesk_search_language(NEW.tenant_id, NEW.id, NEW.language));
  INSERT INTO desk_search_subject (conversation_id, tenant_id, config, tsv)
  VALUES (NEW.id, NEW.tenant_id, cfg, frontdesk_search_vector(cfg, NEW.subject))
  ON CONFLICT (conversation_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,
    config = EXCLUDED.config, tsv = EXCLUDED.tsv;
  IF TG_OP = 'UPDATE' AND NEW.language IS DISTINCT FROM OLD.language THEN
    -- Messages without a language of their own take the conversation's.
    UPDATE desk_search_message s SET config = cfg, tsv = frontdesk_search_vector(cfg, m.text)
    FROM desk_message m
    WHERE m.id = s.message_id AND m.conversation_id = NEW.id AND m.language = '';
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION frontdesk_search_index_customer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM desk_search_customer WHERE customer_id = OLD.id;
    RETURN NULL;
  END IF;
  INSERT INTO desk_search_customer (customer_id, tenant_id, tsv)
  VALUES (NEW.id, NEW.tenant_id, frontdesk_search_vector('simple', NEW.name))
  ON CONFLICT (customer_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, tsv = EXCLUDED.tsv;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION frontdesk_search_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('TRUNCATE %I', TG_ARGV[0]);
  RETURN NULL;
END $$;
"""  # noqa: S608

TABLES = """
CREATE TABLE IF NOT EXISTS desk_search_message (
  message_id bigint PRIMARY KEY,
  tenant_id bigint NOT NULL,
  conversation_id bigint NOT NULL,
  config regconfig NOT NULL,
  tsv tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_search_message_tsv ON desk_search_message USING gin (tsv);
CREATE INDEX IF NOT EXISTS desk_search_message_conversation ON desk_search_message (conversation_id);
CREATE TABLE IF NOT EXISTS desk_search_subject (
  conversation_id bigint PRIMARY KEY,
  tenant_id bigint NOT NULL,
  config regconfig NOT NULL,
  tsv tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_search_subject_tsv ON desk_search_subject USING gin (tsv);
CREATE TABLE IF NOT EXISTS desk_search_customer (
  customer_id bigint PRIMARY KEY,
  tenant_id bigint NOT NULL,
  tsv tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_search_customer_tsv ON desk_search_customer USING gin (tsv);
"""

# (table, trigger function, columns whose change re-indexes, side table)
TRIGGERS = (
    (
        "desk_message",
        "frontdesk_search_index_message",
        "text, language, conversation_id, tenant_id",
        "desk_search_message",
    ),
    (
        "desk_conversation",
        "frontdesk_search_index_conversation",
        "subject, language, tenant_id",
        "desk_search_subject",
    ),
    ("desk_customer", "frontdesk_search_index_customer", "name, tenant_id", "desk_search_customer"),
)


def _trigger_ddl() -> str:
    statements = []
    for table, function, columns, side in TRIGGERS:
        statements += [
            f"DROP TRIGGER IF EXISTS {side}_write ON {table};",
            f"CREATE TRIGGER {side}_write AFTER INSERT OR UPDATE OF {columns} OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {function}();",
            f"DROP TRIGGER IF EXISTS {side}_truncate ON {table};",
            f"CREATE TRIGGER {side}_truncate AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_search_truncate('{side}');",
        ]
    return "\n".join(statements)


def _try(connection: BaseDatabaseWrapper, sql: str) -> bool:
    """Run `sql` in a savepoint; False (and nothing changed) when the server refuses it."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError as exc:
        log.info("search.postgres_optional_feature_unavailable", sql=sql.split("(")[0][:80], error=str(exc))
        return False
    return True


def _exists(connection: BaseDatabaseWrapper, catalog: str, column: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {catalog} WHERE {column} = %s", [name])  # noqa: S608 - constants
        return cursor.fetchone() is not None


def ensure_fold_config(connection: BaseDatabaseWrapper) -> bool:
    """Create `frontdesk_fold` (unaccent, then simple) when the unaccent extension can be had."""
    if _exists(connection, "pg_ts_config", "cfgname", FOLD_CONFIG):
        return True
    if not _exists(connection, "pg_extension", "extname", "unaccent") and not _try(
        connection, "CREATE EXTENSION IF NOT EXISTS unaccent"
    ):
        return False
    return _try(
        connection,
        f"CREATE TEXT SEARCH CONFIGURATION {FOLD_CONFIG} (COPY = simple);"
        f" ALTER TEXT SEARCH CONFIGURATION {FOLD_CONFIG} ALTER MAPPING FOR {WORD_TOKENS}"
        " WITH unaccent, simple;",
    )


def ensure_polish_config(connection: BaseDatabaseWrapper, *, dictionary_file: str = "pl_pl") -> bool:
    """Create the Polish hunspell dictionary and `frontdesk_pl` when the server has the files.

    The files are `<sharedir>/tsearch_data/pl_pl.affix`, `pl_pl.dict` and (optional)
    `polish.stop`, installed by scripts/install-polish-fts.sh. Returns whether `frontdesk_pl` exists.
    """
    if _exists(connection, "pg_ts_config", "cfgname", POLISH_CONFIG):
        return True
    if not _exists(connection, "pg_ts_dict", "dictname", POLISH_DICTIONARY):
        base = (
            f"CREATE TEXT SEARCH DICTIONARY {POLISH_DICTIONARY} "
            f"(TEMPLATE = ispell, DictFile = {dictionary_file}, AffFile = {dictionary_file}"
        )
        if not (_try(connection, base + ", StopWords = polish)") or _try(connection, base + ")")):
            return False
    return _try(
        connection,
        f"CREATE TEXT SEARCH CONFIGURATION {POLISH_CONFIG} (COPY = simple);"
        f" ALTER TEXT SEARCH CONFIGURATION {POLISH_CONFIG} ALTER MAPPING FOR {WORD_TOKENS}"
        f" WITH {POLISH_DICTIONARY}, simple;",
    )


def polish_available(connection: BaseDatabaseWrapper) -> bool:
    return _exists(connection, "pg_ts_config", "cfgname", POLISH_CONFIG)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the configurations (where possible), functions, side tables and triggers. Idempotent.

    Fills the side tables from the existing rows when they are new.
    """
    ensure_fold_config(connection)
    ensure_polish_config(connection)
    fresh = not _exists(connection, "pg_class", "relname", "desk_search_message")
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
        cursor.execute(TABLES)
        cursor.execute(_trigger_ddl())
    if fresh:
        rebuild(connection)


def rebuild(connection: BaseDatabaseWrapper) -> None:
    """Index everything again (after installing the Polish dictionary, for instance)."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE desk_search_message, desk_search_subject, desk_search_customer")
        cursor.execute(
            "INSERT INTO desk_search_message (message_id, tenant_id, conversation_id, config, tsv)"
            " SELECT id, tenant_id, conversation_id, cfg, frontdesk_search_vector(cfg, text) FROM ("
            "  SELECT m.id, m.tenant_id, m.conversation_id, m.text, frontdesk_search_config(coalesce("
            "   nullif(m.language, ''), nullif(c.language, ''), t.languages ->> 0, '')) AS cfg"
            "  FROM desk_message m JOIN desk_conversation c ON c.id = m.conversation_id"
            "  JOIN desk_tenant t ON t.id = m.tenant_id) AS docs"
        )
        cursor.execute(
            "INSERT INTO desk_search_subject (conversation_id, tenant_id, config, tsv)"
            " SELECT id, tenant_id, cfg, frontdesk_search_vector(cfg, subject) FROM ("
            "  SELECT c.id, c.tenant_id, c.subject, frontdesk_search_config(coalesce("
            "   nullif(c.language, ''), t.languages ->> 0, '')) AS cfg"
            "  FROM desk_conversation c JOIN desk_tenant t ON t.id = c.tenant_id) AS docs"
        )
        cursor.execute(
            "INSERT INTO desk_search_customer (customer_id, tenant_id, tsv)"
            " SELECT id, tenant_id, frontdesk_search_vector('simple', name) FROM desk_customer"
        )


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for table, _function, _columns, side in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {side}_write ON {table}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {side}_truncate ON {table}")
        cursor.execute("DROP TABLE IF EXISTS desk_search_message, desk_search_subject, desk_search_customer")
        for function in (
            "frontdesk_search_index_message()",
            "frontdesk_search_index_conversation()",
            "frontdesk_search_index_customer()",
            "frontdesk_search_truncate()",
            "frontdesk_search_query(text[], text[])",
            "frontdesk_search_language(bigint, bigint, text)",
            "frontdesk_search_vector(regconfig, text)",
            "frontdesk_search_fold_config()",
            "frontdesk_search_config(text)",
            "frontdesk_search_named_config(text)",
        ):
            cursor.execute(f"DROP FUNCTION IF EXISTS {function}")
        # The configurations and the dictionary stay: they cost nothing and are the operator's.


def _operand(text: str, prefix: bool) -> str:
    # Terms hold letters and digits only (query.terms_of), so quoting them is enough.
    return f"'{text}':*" if prefix else f"'{text}'"


def prepare(connection: BaseDatabaseWrapper, terms: Sequence[Term]) -> str:
    """The tsquery for the terms, as text, computed once so queries compare against a constant."""
    words = [_operand(t.word, t.prefix) for t in terms]
    stems = [_operand(t.stem, t.prefix) for t in terms]
    with connection.cursor() as cursor:
        cursor.execute("SELECT frontdesk_search_query(%s, %s)::text", [words, stems])
        return cursor.fetchone()[0] or ""


def customer_ids_sql(tenant_id: int, query: str) -> tuple[str, list[Any]]:
    sql = "SELECT s.customer_id FROM desk_search_customer s WHERE s.tenant_id = %s AND s.tsv @@ %s::tsquery"
    return sql, [tenant_id, query]


# ts_rank_cd normalisation 1: divided by 1 + log(document length), so a short message that is
# mostly about the words beats a long one mentioning them once.
RANK_NORMALIZATION = 1
# Best match looks at the newest matches first by reading this many of the newest rows of a side
# table (by id) and testing each; only what is older is looked up through the GIN index. About
# 1 µs a message row; subjects and names are short, and there are fewer of them.
RECENT_ROWS = {"desk_search_message": 50_000, "desk_search_subject": 10_000, "desk_search_customer": 10_000}

# (side table, its id column, the conversation id, a join and a condition for rows that count).
# Constants only: they are put into SQL.
_RANKED = (
    ("desk_search_message", "message_id", "s.conversation_id", "", ""),
    (
        "desk_search_subject",
        "conversation_id",
        "s.conversation_id",
        " JOIN desk_conversation c ON c.id = s.conversation_id",
        " AND c.tenant_id = s.tenant_id AND c.merged_into_id IS NULL",
    ),
    ("desk_search_customer", "customer_id", "NULL", "", ""),
)


def _newest_matches(
    cursor: Any,
    ranked: tuple[str, str, str, str, str],
    tenant_id: int,
    query: str,
    cap: int,
    before: int | None = None,
) -> list[tuple[Any, ...]]:
    """The newest `cap` rows of the tenant in a side table matching `query` (with an id below
    `before`): (id, conversation id or None, ts_rank_cd). Two statements, each bounded, instead
    of one the planner gets wrong.

    With `ORDER BY id DESC LIMIT cap`, PostgreSQL walks the primary key backwards and tests every
    row, because it estimates any prefix query to match a few percent of rows: fast for a common
    word, a scan of the whole table for a rare one (~1 s at 500k messages). So:
      1. the newest RECENT_ROWS[table] ids are walked and tested (`ts_match_vq` is `@@` as a function,
         which no index serves, so this plan is the only one): enough for a common word;
      2. if fewer than `cap` matched, the older rows come from the GIN index (`ORDER BY id + 0`
         keeps the planner from walking the primary key): the word is rare among recent rows
         (less than cap in RECENT_ROWS), so usually there are few older ones to read. Not so for
         a word common long ago and absent lately: then every older match is read.
    """
    table, key, conversation, join, condition = ranked
    select = (
        f"SELECT s.{key}, {conversation}, ts_rank_cd(s.tsv, %s::tsquery, {RANK_NORMALIZATION})::float8"  # noqa: S608 - constants from _RANKED
        f" FROM {table} s{join} WHERE s.tenant_id = %s{condition}"
    )
    if before is None:
        cursor.execute(f"SELECT max({key}) FROM {table}")  # noqa: S608 - constants
    else:
        cursor.execute(f"SELECT max({key}) FROM {table} WHERE {key} < %s", [before])  # noqa: S608 - constants
    newest = cursor.fetchone()[0]
    if newest is None:
        return []
    boundary = newest - RECENT_ROWS[table]
    cursor.execute(
        f"{select} AND s.{key} > %s AND s.{key} <= %s AND ts_match_vq(s.tsv, %s::tsquery)"
        f" ORDER BY s.{key} DESC LIMIT %s",
        [query, tenant_id, boundary, newest, query, cap],
    )
    rows = list(cursor.fetchall())
    if len(rows) < cap and boundary > 0:
        cursor.execute(
            f"{select} AND s.{key} <= %s AND s.tsv @@ %s::tsquery ORDER BY s.{key} + 0 DESC LIMIT %s",
            [query, tenant_id, boundary, query, cap - len(rows)],
        )
        rows += cursor.fetchall()
    return rows


def message_hits(
    connection: BaseDatabaseWrapper, tenant_id: int, query: str, before: int | None, n: int
) -> list[tuple[int, int]]:
    """(message id, conversation id) of the tenant's `n` newest messages matching `query` with an
    id below `before`, newest first (`_newest_matches`)."""
    with connection.cursor() as cursor:
        rows = _newest_matches(cursor, _RANKED[0], tenant_id, query, n, before)
    return [(message_id, conversation_id) for message_id, conversation_id, _rank in rows]


def subject_hits(
    connection: BaseDatabaseWrapper, tenant_id: int, query: str, before: int | None, n: int
) -> list[int]:
    """Ids of the tenant's `n` newest conversations (not merged away) whose subject matches, with
    an id below `before`, newest first."""
    with connection.cursor() as cursor:
        rows = _newest_matches(cursor, _RANKED[1], tenant_id, query, n, before)
    return [conversation_id for conversation_id, _same, _rank in rows]


def customer_hits(connection: BaseDatabaseWrapper, tenant_id: int, query: str, cap: int) -> list[int]:
    """Ids of the tenant's `cap` newest customers whose name matches."""
    with connection.cursor() as cursor:
        rows = _newest_matches(cursor, _RANKED[2], tenant_id, query, cap)
    return [customer_id for customer_id, _none, _rank in rows]


def newer_matches(
    connection: BaseDatabaseWrapper, tenant_id: int, query: str, after: Sequence[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The (conversation id, message id) pairs whose conversation has a message matching `query`
    with an id above the pair's (through the side table's conversation index)."""
    if not after:
        return set()
    sql = (
        "SELECT DISTINCT w.conversation_id, w.after FROM desk_search_message s"
        " JOIN unnest(%s::bigint[], %s::bigint[]) AS w(conversation_id, after)"
        " ON s.conversation_id = w.conversation_id AND s.message_id > w.after"
        " WHERE s.tenant_id = %s AND s.tsv @@ %s::tsquery"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[c for c, _m in after], [m for _c, m in after], tenant_id, query])
        return {(row[0], row[1]) for row in cursor.fetchall()}


def ranked_documents(
    connection: BaseDatabaseWrapper, tenant_id: int, query: str, cap: int, terms: Sequence[Term]
) -> tuple[list[tuple[int, int, float]], list[tuple[int, float]], list[tuple[int, float]]]:
    """The newest `cap` matching messages, subjects and customer names of the tenant, scored.

    Returns (conversation id, message id, score) for messages, (conversation id, score) for
    subjects of conversations not merged away, (customer id, score) for names; the score is
    ts_rank_cd over the document's tsvector (both configurations it was indexed with). The tenant
    condition is in each statement before its LIMIT; the rank is computed only for the rows kept.
    """
    found: list[list[tuple[Any, ...]]] = []
    with connection.cursor() as cursor:
        for ranked in _RANKED:
            found.append(_newest_matches(cursor, ranked, tenant_id, query, cap))
    messages = [(conversation_id, message_id, score) for message_id, conversation_id, score in found[0]]
    subjects = [(conversation_id, score) for conversation_id, _none, score in found[1]]
    names = [(customer_id, score) for customer_id, _none, score in found[2]]
    return messages, subjects, names


def snippets(
    connection: BaseDatabaseWrapper,
    tenant_id: int,
    query: str,
    terms: Sequence[Term],
    conversation_ids: Sequence[int],
    chosen: Mapping[int, int] | None = None,
) -> dict[int, tuple[int, SafeString]]:
    """conversation id → (message id, highlighted excerpt) of its newest matching message.

    `chosen` (conversation id → message id, a matching message of the tenant's) names the message
    to show instead for some of them: the best-matching one, for best match.
    """
    if not conversation_ids:
        return {}
    wanted = set(conversation_ids)
    chosen = {c: m for c, m in (chosen or {}).items() if c in wanted}
    rest = [c for c in conversation_ids if c not in chosen]
    sql = (
        "SELECT n.conversation_id, n.message_id, m.text, ts_headline("
        "  CASE WHEN EXISTS (SELECT 1 FROM pg_ts_config WHERE oid = n.config) THEN n.config"
        "  ELSE 'simple'::regconfig END, left(m.text, %s), %s::tsquery, %s)"
        " FROM ((SELECT DISTINCT ON (s.conversation_id) s.conversation_id, s.message_id, s.config"
        "  FROM desk_search_message s JOIN desk_message m2 ON m2.id = s.message_id"
        "  WHERE s.tenant_id = %s AND s.conversation_id = ANY(%s) AND s.tsv @@ %s::tsquery"
        "  ORDER BY s.conversation_id, m2.created_at DESC, m2.id DESC)"
        "  UNION ALL"
        "  (SELECT s.conversation_id, s.message_id, s.config FROM desk_search_message s"
        "  WHERE s.tenant_id = %s AND s.message_id = ANY(%s))) AS n"
        " JOIN desk_message m ON m.id = n.message_id"
    )
    params: list[Any] = [
        HEADLINE_MAX_CHARS,
        query,
        HEADLINE_OPTIONS,
        tenant_id,
        rest,
        query,
        tenant_id,
        list(chosen.values()),
    ]
    result: dict[int, tuple[int, SafeString]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for conversation_id, message_id, text, headline in cursor.fetchall():
            if MARK_START in (headline or ""):
                result[conversation_id] = (message_id, marked_to_html(headline))
            else:
                # Matched through the folded index (typed without diacritics): mark it ourselves.
                result[conversation_id] = (message_id, highlight(text, terms))
    return result
