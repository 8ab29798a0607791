from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.desk.models import Role
from tests.factories import ChannelFactory, MembershipFactory, TenantFactory
from tests.peers import HttpPeer, running_peer

# Browser and server tests talk only to 127.0.0.1; nothing here may reach further.
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):  # type: ignore[no-untyped-def]
    """On SQLite, test in a file rather than in memory, so that server processes started by the
    end-to-end and scaled-out tests see the same database. Each xdist worker gets its own file."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] in ("django.db.backends.sqlite3", "frontdesk.sqlite"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "frontdesk-test.sqlite3")


@pytest.fixture(autouse=True)
def _fast_passwords(request, settings):  # type: ignore[no-untyped-def]
    """PBKDF2 takes ~0.5 s per factory user; tests don't need it. Browser tests keep the real
    hasher: their users sign in to a server process that has the production settings."""
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    """Rate-limit counters and OAuth access tokens live in the cache: every test starts without.
    So does the process's memo of which channels are live chats (ids are reused between tests,
    never in a real database)."""
    from django.core.cache import cache

    from frontdesk.desk.events import forget_live_channels

    cache.clear()
    forget_live_channels()
    yield
    cache.clear()
    forget_live_channels()


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Attachments and mail files of each test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Test peers (webhook receivers, SMTP servers) listen on 127.0.0.1.
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = True
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


@pytest.fixture
def tenant(db):  # type: ignore[no-untyped-def]
    return TenantFactory(name="Sklep Rowerowy", slug="rowery")


@pytest.fixture
def other_tenant(db):  # type: ignore[no-untyped-def]
    return TenantFactory(name="Other Shop", slug="other")


@pytest.fixture
def owner(tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant, role=Role.OWNER, user__email="owner@rowery.example", user__name="Olga Owner"
    )


@pytest.fixture
def agent(tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant, role=Role.AGENT, user__email="anna@rowery.example", user__name="Anna Agent"
    )


@pytest.fixture
def outsider(other_tenant):  # type: ignore[no-untyped-def]
    """A member of another shop: must never see anything of `tenant`."""
    return MembershipFactory(
        tenant=other_tenant, role=Role.OWNER, user__email="eve@other.example", user__name="Eve Outsider"
    )


@pytest.fixture
def api_channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="api", name="Shop backend")


@pytest.fixture
def shop() -> Iterator[HttpPeer]:
    """The shop's own server on 127.0.0.1: receives reply webhooks (see tests/peers.py)."""
    with running_peer() as peer:
        yield peer
