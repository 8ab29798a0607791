"""Keeping the search triggers in place after migrations, and their functions on every connection."""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

INDEX_MIGRATION = ("desk", "0002_search_index")


def restore_search_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After `migrate` (post_migrate): put back SQLite triggers a table rebuild dropped.

    SQLite migrations that alter a table rebuild it, and the triggers go with the old table; the
    index tables themselves survive (row ids are kept), so recreating the triggers is enough.
    PostgreSQL keeps triggers across ALTER TABLE: nothing to do there.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    if INDEX_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    from . import sqlite

    sqlite.install(connection)


def add_search_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """When a database connection opens (connection_created): SQLite's search triggers call a
    function of ours (`frontdesk_words`, filling the word list), which each connection must have."""
    if connection.vendor != "sqlite":
        return
    from . import sqlite

    sqlite.register_functions(connection)
