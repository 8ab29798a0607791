"""The web UI's URLs. Each area has its own module; every tenant page lives under /t/<slug>/."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import home, status

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("favicon.ico", home.favicon),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", home.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The customer's status page: a signed link, no login (desk/actions/status.py).
    path("s/<str:token>/", status.status_page, name="status-page"),
    # Sign-up, invitations, password reset (no tenant in the URL).
    path("", include("frontdesk.desk.views.urls_account")),
    # The agent workspace: inbox, conversations, customers.
    path("t/<slug:slug>/", include("frontdesk.desk.views.urls_workspace")),
    # Search.
    path("t/<slug:slug>/", include("frontdesk.desk.views.urls_search")),
    # Settings of the shop: members, teams, channels, tags, API tokens.
    path("t/<slug:slug>/settings/", include("frontdesk.desk.views.urls_settings")),
]
