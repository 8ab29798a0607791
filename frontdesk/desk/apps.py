from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "frontdesk.desk"
    label = "desk"
    verbose_name = _("Frontdesk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .search.signals import add_search_functions, restore_search_triggers

        post_migrate.connect(restore_search_triggers, sender=self, dispatch_uid="desk.search.triggers")
        connection_created.connect(add_search_functions, dispatch_uid="desk.search.functions")
