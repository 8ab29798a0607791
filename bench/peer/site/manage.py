#!/usr/bin/env python
"""Django's command line for the peer project; run it with bench/.peer-venv/bin/python.

PEER_DB=/tmp/peer.sqlite3 bench/.peer-venv/bin/python bench/peer/site/manage.py migrate
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
