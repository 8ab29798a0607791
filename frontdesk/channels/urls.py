"""Public channel addresses, at the site root: webhooks and the contact form pages."""

from __future__ import annotations

from django.urls import path

from . import views
from .form import views as form_views

urlpatterns = [
    # With and without the trailing slash: a POST cannot follow the APPEND_SLASH redirect.
    path("hooks/<str:public_id>/", views.inbound_hook, name="channel_hook"),
    path("hooks/<str:public_id>", views.inbound_hook),
    path("f/<str:public_id>/", form_views.form_page, name="contact_form"),
]
