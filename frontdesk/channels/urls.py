"""Public channel addresses, at the site root: webhooks and the contact form pages."""

from __future__ import annotations

from django.urls import path

from . import views
from .chat import views as chat_views
from .chat.try_page import try_page
from .form import views as form_views
from .sms import views as sms_views

urlpatterns = [
    # With and without the trailing slash: a POST cannot follow the APPEND_SLASH redirect.
    path("hooks/<str:public_id>/", views.inbound_hook, name="channel_hook"),
    path("hooks/<str:public_id>", views.inbound_hook),
    path("f/<str:public_id>/", form_views.form_page, name="contact_form"),
    # Twilio's SMS webhook (answers TwiML; docs/channels.md, "SMS (Twilio)").
    path("sms/<str:public_id>/", sms_views.hook, name="sms_hook"),
    # The chat widget (docs/chat.md).
    path("chat/<str:public_id>/widget.js", chat_views.widget_js, name="chat_widget_js"),
    path("chat/<str:public_id>/try", try_page, name="chat_try"),
    path("chat/<str:public_id>/session", chat_views.session, name="chat_session"),
    path("chat/<str:public_id>/messages", chat_views.messages, name="chat_messages"),
    path("chat/<str:public_id>/files", chat_views.files, name="chat_files"),
    path("chat/<str:public_id>/typing", chat_views.typing, name="chat_typing"),
    path("chat/<str:public_id>/read", chat_views.read, name="chat_read"),
    path("chat/<str:public_id>/contact", chat_views.contact, name="chat_contact"),
    path("chat/<str:public_id>/page", chat_views.page, name="chat_page"),
    path("chat/<str:public_id>/f/<str:signed>", chat_views.file, name="chat_file"),
]
