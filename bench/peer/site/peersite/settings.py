"""Django settings of the minimal project that runs django-helpdesk 2.6.1 for the benchmark.

Only what django-helpdesk's install docs ask for, plus its REST API, on SQLite with the same
pragmas as Frontdesk's own settings (WAL, synchronous=NORMAL, IMMEDIATE transactions), so the two
are compared on the same footing. The database file comes from the environment variable PEER_DB
(peer_bench.py points it at a fresh file in its work folder); attachments go to PEER_MEDIA.
Mail is never sent: the in-memory backend keeps what helpdesk would send (the acknowledgements),
so rendering and building them is still timed, but nothing leaves the machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A fixed key: this project only ever runs inside the benchmark, on 127.0.0.1 or in-process.
SECRET_KEY = "peer-bench-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk builds the links in its e-mails from the Site
    "django.contrib.humanize",  # helpdesk's templates format ages with it
    "rest_framework",  # helpdesk's REST API
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PEER_DB", str(Path(tempfile.gettempdir()) / "peer-helpdesk.sqlite3")),
        # Kept open, as Frontdesk's are: opening a connection and running the pragmas costs more
        # than a query.
        "CONN_MAX_AGE": 60,
        "OPTIONS": {
            # The same as frontdesk/settings.py, so both sides run on the same SQLite set-up.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA busy_timeout=20000; PRAGMA cache_size=-20000; PRAGMA temp_store=MEMORY;"
            ),
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

SITE_ID = 1
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("PEER_MEDIA", str(Path(tempfile.gettempdir()) / "peer-helpdesk-media"))

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

# Nothing is sent; the messages helpdesk builds stay in django.core.mail.outbox.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "support@shop.bench.example"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- django-helpdesk ------------------------------------------------------------------------------
# Teams need the optional pinax-teams package ("teams" extra); a shop's help desk works without.
HELPDESK_TEAMS_MODE_ENABLED = False
# The REST API (/api/tickets/ ...). Older releases called this HELPDESK_ACTIVATE_API_ENDPOINT;
# 2.6.1 reads HELPDESK_API_ENABLED (default True), set here so it is explicit.
HELPDESK_API_ENABLED = True
HELPDESK_ACTIVATE_API_ENDPOINT = True
HELPDESK_DEFAULT_SETTINGS = {
    "use_email_as_submitter": True,
    "email_on_ticket_assign": True,
    "email_on_ticket_change": True,
    "login_view_ticketlist": True,
    "tickets_per_page": 25,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # helpdesk logs every message it processes at INFO; only problems are of interest here.
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
