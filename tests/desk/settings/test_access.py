"""Who may open which settings page: roles inside the shop, and nobody from another shop."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from frontdesk.desk.actions.admin import do_create_api_token, do_invite
from frontdesk.desk.models import Event, Role
from tests.factories import ChannelFactory, TagFactory, TeamFactory

pytestmark = pytest.mark.django_db

# (path under /t/<slug>/settings/, the least role, methods)
PAGES = [
    ("", Role.SUPERVISOR, "GET"),
    ("general/", Role.ADMIN, "GET POST"),
    ("members/", Role.ADMIN, "GET POST"),
    ("members/{member}/", Role.ADMIN, "GET POST"),
    ("invitations/{invitation}/", Role.ADMIN, "POST"),
    ("teams/", Role.SUPERVISOR, "GET POST"),
    ("teams/{team}/", Role.SUPERVISOR, "GET POST"),
    ("tags/", Role.SUPERVISOR, "GET POST"),
    ("tags/{tag}/", Role.SUPERVISOR, "GET POST"),
    ("channels/", Role.ADMIN, "GET"),
    ("channels/new/api/", Role.ADMIN, "GET POST"),
    ("channels/{channel}/", Role.ADMIN, "GET POST"),
    ("tokens/", Role.ADMIN, "GET POST"),
    ("tokens/{token}/", Role.ADMIN, "POST"),
]
# What the POSTs carry: enough to change something if the gate let them through.
POST_DATA = {"action": "revoke", "name": "Hacked", "email": "x@example.org", "role": "agent"}


@pytest.fixture
def objects(tenant, owner, agent):  # type: ignore[no-untyped-def]
    invitation, _link = do_invite(owner, "new@rowery.example", Role.AGENT)
    token, _secret = do_create_api_token(owner, "Shop backend")
    return {
        "member": agent.pk,
        "invitation": invitation.pk,
        "team": TeamFactory(tenant=tenant).pk,
        "tag": TagFactory(tenant=tenant).pk,
        "channel": ChannelFactory(tenant=tenant, kind="api").pk,
        "token": token.pk,
    }


def urls(slug: str, objects: dict[str, int]) -> list[tuple[str, str, list[str]]]:
    return [
        (f"/t/{slug}/settings/{path.format(**objects)}", role, methods.split())
        for path, role, methods in PAGES
    ]


def test_every_settings_page_opens_for_an_admin(as_admin, tenant, objects):
    for url, _role, methods in urls(tenant.slug, objects):
        if "GET" in methods:
            response = as_admin.get(url)
            assert response.status_code == 200, url


def test_an_agent_gets_a_403_page_on_every_settings_url_and_changes_nothing(as_agent, tenant, objects):
    events = Event.objects.count()
    for url, _role, methods in urls(tenant.slug, objects):
        for method in methods:
            response = as_agent.generic(
                method, url, urlencode(POST_DATA), "application/x-www-form-urlencoded"
            )
            assert response.status_code == 403, (method, url)
            assert "Not allowed" in response.content.decode()

    assert Event.objects.count() == events


def test_a_supervisor_edits_teams_and_tags_but_not_admin_pages(as_supervisor, tenant, objects):
    for url, role, methods in urls(tenant.slug, objects):
        if role == Role.SUPERVISOR:
            if "GET" in methods:
                assert as_supervisor.get(url).status_code == 200, url
        else:
            for method in methods:
                response = as_supervisor.generic(
                    method, url, urlencode(POST_DATA), "application/x-www-form-urlencoded"
                )
                assert response.status_code == 403, (method, url)


def test_the_settings_menu_shows_only_what_the_role_may_open(as_supervisor, as_admin, tenant):
    supervisor_page = as_supervisor.get(f"/t/{tenant.slug}/settings/").content.decode()
    admin_page = as_admin.get(f"/t/{tenant.slug}/settings/").content.decode()

    assert f"/t/{tenant.slug}/settings/teams/" in supervisor_page
    assert f"/t/{tenant.slug}/settings/members/" not in supervisor_page
    assert f"/t/{tenant.slug}/settings/tokens/" not in supervisor_page
    assert f"/t/{tenant.slug}/settings/members/" in admin_page
    assert f"/t/{tenant.slug}/settings/tokens/" in admin_page


def test_a_member_of_another_shop_gets_404_on_every_url_get_and_post(as_outsider, tenant, objects):
    events = Event.objects.count()
    for url, _role, _methods in urls(tenant.slug, objects):
        assert as_outsider.get(url).status_code == 404, url
        assert as_outsider.post(url, POST_DATA).status_code == 404, url

    assert Event.objects.count() == events


def test_another_shops_objects_are_404_even_in_ones_own_shop(as_outsider, outsider, tenant, objects):
    """The outsider owns their shop: the ids of our objects under their slug must not resolve."""
    events = Event.objects.count()
    for url, _role, _methods in urls(outsider.tenant.slug, objects):
        if not any(f"/{pk}/" in url for pk in objects.values()):
            continue
        assert as_outsider.get(url).status_code in (404, 405), url
        assert as_outsider.post(url, POST_DATA).status_code == 404, url

    assert Event.objects.count() == events


def test_signed_out_visitors_are_sent_to_sign_in(client, tenant):
    response = client.get(f"/t/{tenant.slug}/settings/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_other_methods_are_refused(as_admin, tenant):
    assert as_admin.put(f"/t/{tenant.slug}/settings/general/").status_code == 405


def test_a_post_without_the_csrf_token_is_refused(admin, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    page = client.get(f"/t/{tenant.slug}/settings/general/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page

    response = client.post(f"/t/{tenant.slug}/settings/general/", {"name": "Hacked"})

    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.name == "Sklep Rowerowy"
