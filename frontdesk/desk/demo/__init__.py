"""The demo shop loaded by `make run` (`frontdesk demo --if-empty`): Rowerownia, a Polish online
bike and outdoor shop with its team, customers and a few hundred conversations in Polish and
English. See generator.py for how it is made and people.py / stories.py for what it contains.
"""

from __future__ import annotations

from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ..models import Conversation, Message, Tenant, User
from .generator import DemoResult, build_demo
from .people import DEMO_PASSWORD, SHOP_SLUG, STAFF_DOMAIN

__all__ = ["DEMO_PASSWORD", "DemoResult", "build_demo", "demo_exists", "remove_demo"]


def demo_exists() -> bool:
    return Tenant.objects.filter(slug=SHOP_SLUG).exists()


def remove_demo() -> None:
    """Delete the demo shop with everything in it, and its staff accounts."""
    with transaction.atomic():
        for tenant in Tenant.objects.filter(slug=SHOP_SLUG):
            # Messages and conversations hold protected references to channels and customers:
            # they go first, then the shop with everything else in it.
            Message.objects.filter(tenant=tenant).delete()
            Conversation.objects.filter(tenant=tenant).delete()
            tenant.delete()
        User.objects.filter(email__endswith=f"@{STAFF_DOMAIN}").delete()
        # The send tasks of the demo's replies, marked done without running (see generator).
        DBTaskResult.objects.filter(task_path__endswith=".send_delivery", return_value="demo").delete()
