"""WSGI entry point of the peer project (for serving it by hand; the benchmark runs it in-process)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
application = get_wsgi_application()
