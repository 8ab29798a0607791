"""Frontdesk settings: one module, everything read from the environment.

See docs/configuration.md for every variable. Defaults are the embedded, one-process mode:
SQLite under ./var, the in-memory channel layer, DEBUG off.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()


def _secret(name: str) -> str | None:
    """Read NAME, or the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    if value := os.environ.get(name):
        return value
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return None


VAR_DIR = Path(env.str("FRONTDESK_VAR_DIR", default=str(Path.cwd() / "var"))).resolve()

DEBUG = env.bool("DEBUG", default=False)


def _persistent_secret_key() -> str:
    """In embedded mode keep a generated key under var/ so sessions survive restarts."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("SECRET_KEY") or _persistent_secret_key()
# Channel secrets (webhook signing keys, provider tokens) are encrypted with a key derived from this.
# Rotating it makes stored channel secrets unreadable, so it may be set apart from SECRET_KEY.
FRONTDESK_ENCRYPTION_KEY = _secret("FRONTDESK_ENCRYPTION_KEY") or SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address of this installation, used in links sent to customers and members.
FRONTDESK_BASE_URL = env.str("FRONTDESK_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "channels",
    "ninja",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "frontdesk.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "frontdesk.desk.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontdesk.desk.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "frontdesk.urls"
ASGI_APPLICATION = "frontdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "frontdesk.desk.context_processors.workspace",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'frontdesk.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on busy_timeout instead of failing with "database is locked" on lock upgrade.
    # Django's backend with one change (frontdesk/sqlite): the threads of one process queue on a
    # lock for their turn to write, woken at once, rather than in SQLite's sleeping busy handler.
    _db["ENGINE"] = "frontdesk.sqlite"
    # Connections are kept (per thread): opening one and running the pragmas costs more than a query.
    _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA busy_timeout=20000; PRAGMA cache_size=-20000; PRAGMA temp_store=MEMORY;"
            ),
        }
    )
elif _db["ENGINE"] in ("django.db.backends.postgresql",):
    # Reused connections: opening one costs a round trip and, with the Polish dictionary, ~0.3 s
    # to load it into the new backend. Not kept per thread (CONN_MAX_AGE): under ASGI every request
    # runs in a thread of its own, and a connection kept by a finished thread lingers until garbage
    # collection — the chat load test ran PostgreSQL out of connections ("too many clients") that
    # way. A pool per process instead (psycopg_pool through Django); DATABASE_POOL_SIZE=0 turns it
    # off for installations behind an external pooler such as PgBouncer.
    _pool_size = env.int("DATABASE_POOL_SIZE", default=20)
    _db["CONN_MAX_AGE"] = 0
    if _pool_size > 0:
        _db.setdefault("OPTIONS", {}).setdefault(
            "pool", {"min_size": min(2, _pool_size), "max_size": _pool_size, "timeout": 20}
        )
    _db.setdefault("TEST", {})["NAME"] = env.str("FRONTDESK_TEST_DB_NAME", default="test_frontdesk")
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "desk.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Real time ------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Keys and pub/sub channels of this installation in Redis (several may share one Redis server).
REDIS_PREFIX = env.str("FRONTDESK_REDIS_PREFIX", default="frontdesk")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": REDIS_PREFIX,
            },
        }
    }
else:
    # A page that falls this far behind loses live events (it catches up from the event stream when
    # it reconnects); the default of 100 was reached by an agent's page under a chat load test.
    # Group memberships last as long as the socket (Channels' default drops them after a day: a page
    # left open over a weekend would stop hearing its shop).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "frontdesk.realtime.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 5000, "group_expiry": 10 * 365 * 86400},
        }
    }

# --- Cache (rate limits, short-lived state) -----------------------------------------------------------
# Shared between processes through Redis when REDIS_URL is set; per process otherwise.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Background tasks -----------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "deliveries"]}}
FRONTDESK_WORKER_THREADS = env.int("FRONTDESK_WORKER_THREADS", default=1)
# A task whose worker has not sent a heartbeat for this long is considered abandoned and run again.
FRONTDESK_WORKER_STALE_SECONDS = env.int("FRONTDESK_WORKER_STALE_SECONDS", default=60)
# 12 attempts with the doubling backoff below span about 14 hours: a mail server or webhook
# receiver that is down for an hour (or a night) loses nothing.
FRONTDESK_DELIVERY_MAX_ATTEMPTS = env.int("FRONTDESK_DELIVERY_MAX_ATTEMPTS", default=12)
FRONTDESK_DELIVERY_BACKOFF_SECONDS = env.float("FRONTDESK_DELIVERY_BACKOFF_SECONDS", default=30.0)
FRONTDESK_DELIVERY_TIMEOUT_SECONDS = env.float("FRONTDESK_DELIVERY_TIMEOUT_SECONDS", default=15.0)
# Webhooks to loopback/private addresses are refused (SSRF) unless this is set (development, tests).
FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = env.bool("FRONTDESK_WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)

# --- Limits ---------------------------------------------------------------------------------------
FRONTDESK_MAX_BODY_BYTES = env.int("FRONTDESK_MAX_BODY_BYTES", default=30 * 1024 * 1024)
FRONTDESK_MAX_ATTACHMENT_BYTES = env.int("FRONTDESK_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
FRONTDESK_MAX_ATTACHMENTS = env.int("FRONTDESK_MAX_ATTACHMENTS", default=20)
FRONTDESK_MAX_MESSAGE_CHARS = env.int("FRONTDESK_MAX_MESSAGE_CHARS", default=100_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = FRONTDESK_MAX_BODY_BYTES
# Chat widget sockets open at once from one address, per process (0: no limit).
FRONTDESK_CHAT_SOCKETS_PER_IP = env.int("FRONTDESK_CHAT_SOCKETS_PER_IP", default=200)
# Rate limits (frontdesk/channels/ratelimit.py) from the environment: FRONTDESK_RATE_<NAME>="count/seconds".
for _name, _value in os.environ.items():
    if _name.startswith("FRONTDESK_RATE_") and "/" in _value:
        _count, _seconds = _value.split("/", 1)
        globals()[_name] = (int(_count), int(_seconds))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Where MX records and forwarding rules should send mail for the built-in SMTP receiver (shown to
# admins): its public host name and port, which may differ from where `--smtp` listens.
FRONTDESK_SMTP_PUBLIC_HOST = env.str("FRONTDESK_SMTP_PUBLIC_HOST", default="")
FRONTDESK_SMTP_PUBLIC_PORT = env.int("FRONTDESK_SMTP_PUBLIC_PORT", default=25)
# Self-service sign-up of new shops (hosted installations); off by default.
FRONTDESK_SIGNUP_ENABLED = env.bool("FRONTDESK_SIGNUP_ENABLED", default=False)
# Sign-up and password-reset forms sent per IP address and hour (beyond it: 429).
FRONTDESK_SIGNUP_RATE_PER_HOUR = env.int("FRONTDESK_SIGNUP_RATE_PER_HOUR", default=10)

# --- Files ----------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
# Static files are served straight from the package (WhiteNoise finders); STATIC_ROOT only matters
# to operators who run `frontdesk collectstatic` to serve them from a web server.
STATIC_ROOT = env.str("STATIC_ROOT", default=None)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Mail (invitations, sign-up confirmation, replies of the contact-form channel) -----------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    # Embedded mode without a mail server: keep outgoing mail as files under var/mail to read.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Frontdesk <frontdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Email channels' own SMTP servers (docs/email-sending.md): certificates are verified against the
# system's CAs plus this file (a private CA, a self-signed server); turning verification off is
# for test setups only.
FRONTDESK_SMTP_CA_FILE = env.str("FRONTDESK_SMTP_CA_FILE", default="")
FRONTDESK_SMTP_VERIFY_TLS = env.bool("FRONTDESK_SMTP_VERIFY_TLS", default=True)
# Receiving mail (docs/email-receiving.md). The largest message accepted by the built-in SMTP/LMTP
# receiver (advertised with EHLO SIZE), fetched over IMAP or imported from a file.
FRONTDESK_EMAIL_MAX_BYTES = env.int("FRONTDESK_EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
# IMAP fetching: the timeout of every network operation; the wait after a failure, doubling up to
# the maximum (a mailbox that refuses the sign-in is retried at the maximum); how long one process
# holds a mailbox (renewed while it fetches; another process takes over after a crash).
FRONTDESK_IMAP_TIMEOUT_SECONDS = env.float("FRONTDESK_IMAP_TIMEOUT_SECONDS", default=30.0)
FRONTDESK_IMAP_RETRY_SECONDS = env.float("FRONTDESK_IMAP_RETRY_SECONDS", default=5.0)
FRONTDESK_IMAP_RETRY_MAX_SECONDS = env.float("FRONTDESK_IMAP_RETRY_MAX_SECONDS", default=300.0)
FRONTDESK_MAILBOX_LEASE_SECONDS = env.float("FRONTDESK_MAILBOX_LEASE_SECONDS", default=90.0)
# IMAP servers' certificates are verified against the system's CAs plus this file (as for SMTP
# unless set); turning verification off is for test set-ups only.
FRONTDESK_IMAP_CA_FILE = env.str("FRONTDESK_IMAP_CA_FILE", default=FRONTDESK_SMTP_CA_FILE)
FRONTDESK_IMAP_VERIFY_TLS = env.bool("FRONTDESK_IMAP_VERIFY_TLS", default=FRONTDESK_SMTP_VERIFY_TLS)
# The built-in SMTP/LMTP receiver offers STARTTLS when given a certificate and its key (PEM files).
FRONTDESK_SMTPD_TLS_CERT_FILE = env.str("FRONTDESK_SMTPD_TLS_CERT_FILE", default="")
FRONTDESK_SMTPD_TLS_KEY_FILE = env.str("FRONTDESK_SMTPD_TLS_KEY_FILE", default="")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pl", _("Polish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Security -------------------------------------------------------------------------------------
# Behind TLS (FRONTDESK_HTTPS=true): secure cookies, redirect to https, trust the proxy's header.
FRONTDESK_HTTPS = env.bool("FRONTDESK_HTTPS", default=False)
SESSION_COOKIE_SECURE = FRONTDESK_HTTPS
CSRF_COOKIE_SECURE = FRONTDESK_HTTPS
SECURE_SSL_REDIRECT = FRONTDESK_HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
if FRONTDESK_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = 14 * 24 * 3600

# --- Logging --------------------------------------------------------------------------------------
# JSON lines with the request id bound by RequestIdMiddleware; configured once in frontdesk.logsetup.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING_CONFIG = None
from frontdesk.logsetup import configure_logging  # noqa: E402

configure_logging(LOG_LEVEL, json=env.bool("LOG_JSON", default=not DEBUG))
