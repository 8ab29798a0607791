"""API tokens in the settings: the secret is shown once, and a revoked token stops working."""

from __future__ import annotations

import re

import pytest

from frontdesk.desk.actions.admin import authenticate_api_token
from frontdesk.desk.models import ApiToken, Event

pytestmark = pytest.mark.django_db


def tokens_url(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/t/{tenant.slug}/settings/tokens/"


def test_creating_a_token_shows_its_secret_once_with_a_warning(as_admin, tenant, admin):
    response = as_admin.post(tokens_url(tenant), {"name": "Shop backend"})

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    secret = re.search(r'id="new-token"[^>]*value="(fdk_[^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "shown only this once" in page
    assert 'data-copy="new-token"' in page
    token = ApiToken.objects.get(tenant=tenant)
    assert authenticate_api_token(secret) == token
    assert token.member == admin
    assert Event.objects.filter(kind="api_token.created", actor=admin).exists()
    # Never again.
    assert secret not in as_admin.get(tokens_url(tenant)).content.decode()


def test_the_list_shows_name_prefix_member_created_last_use_and_status(as_admin, tenant):
    as_admin.post(tokens_url(tenant), {"name": "Shop backend"})
    token = ApiToken.objects.get()

    page = as_admin.get(tokens_url(tenant)).content.decode()

    assert "Shop backend" in page
    assert f"fdk_{token.lookup}…" in page
    assert "Adam Admin" in page
    assert "never" in page
    assert "Active" in page


def test_revoking_a_token_stops_it(as_admin, tenant):
    response = as_admin.post(tokens_url(tenant), {"name": "Shop backend"})
    secret = re.search(r'value="(fdk_[^"]+)"', response.content.decode()).group(1)  # type: ignore[union-attr]
    token = ApiToken.objects.get()

    response = as_admin.post(f"{tokens_url(tenant)}{token.pk}/", {"action": "revoke"}, follow=True)

    assert "is revoked" in response.content.decode()
    assert authenticate_api_token(secret) is None
    assert Event.objects.filter(kind="api_token.revoked").exists()
    again = as_admin.post(f"{tokens_url(tenant)}{token.pk}/", {"action": "revoke"})
    assert again.status_code == 422
    assert "revoked already" in again.content.decode()


def test_a_token_needs_a_name(as_admin, tenant):
    response = as_admin.post(tokens_url(tenant), {"name": "  "})

    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()
