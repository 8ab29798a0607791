"""The `frontdesk` command: Django's management commands under one name.

frontdesk serve        the one-process server (web + WebSocket + worker + scheduler)
frontdesk worker       a worker process for the scaled-out mode
frontdesk migrate      create or upgrade the database
frontdesk demo         load the demo shop
frontdesk createtenant / createmember
frontdesk parse-eml FILE [--json]      how a raw email is read (no database)
frontdesk ingest-eml --channel ID FILE…  import raw emails (and mbox files)
frontdesk help         every other command
"""

from __future__ import annotations

import os
import sys

# Operator-facing names with dashes for Django commands (modules can't have dashes in their names).
ALIASES = {"parse-eml": "parse_eml", "ingest-eml": "ingest_eml"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__)
        return
    args[0] = ALIASES.get(args[0], args[0])
    execute_from_command_line(["frontdesk", *args])


if __name__ == "__main__":
    main()
