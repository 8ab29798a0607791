from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "frontdesk.desk"
    label = "desk"
    verbose_name = _("Frontdesk")
    default_auto_field = "django.db.models.BigAutoField"
