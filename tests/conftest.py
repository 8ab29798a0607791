from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from frontdesk.desk.models import Role
from tests.factories import ChannelFactory, MembershipFactory, TenantFactory

# Browser and server tests talk only to 127.0.0.1; nothing here may reach further.
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Attachments and mail files of each test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
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
