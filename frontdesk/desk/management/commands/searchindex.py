from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from frontdesk.desk.search import backend_for


class Command(BaseCommand):
    help = (
        "Show the state of the search index; with --rebuild, set it up again (creating the Polish "
        "dictionary on PostgreSQL when the server has its files) and index everything anew."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Re-create and refill the index.")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = backend_for(connection)
        if options["rebuild"]:
            with transaction.atomic():
                backend.install(connection)
                backend.rebuild(connection)
            self.stdout.write("The search index was rebuilt.")
        if connection.vendor == "postgresql":
            from frontdesk.desk.search import postgres

            polish = postgres.polish_available(connection)
            self.stdout.write(
                "PostgreSQL full-text search; Polish dictionary: "
                + (
                    "yes (frontdesk_pl)"
                    if polish
                    else "no — run scripts/install-polish-fts.sh on the "
                    "database server, then `frontdesk searchindex --rebuild`"
                )
            )
        else:
            self.stdout.write("SQLite FTS5 full-text search (prefix matching, no dictionary).")
