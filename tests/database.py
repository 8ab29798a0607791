"""The test database as a URL, for the processes a test starts (`frontdesk serve`, `worker`) to share."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def database_url() -> str:
    """pytest-django's test database of this process (its SQLite file, or its PostgreSQL database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s.get("USER") or "postgres", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"
