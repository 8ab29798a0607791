from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from frontdesk.desk.actions.admin import do_add_member
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import Role, Tenant, User


class Command(BaseCommand):
    help = "Add a member to a shop (creating the user when needed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("tenant", help="The shop's address name (slug).")
        parser.add_argument("email")
        parser.add_argument("--role", default=Role.AGENT, choices=Role.values)
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="Password for a new user (asked if omitted).")

    def handle(self, *args: Any, **o: Any) -> None:
        tenant = Tenant.objects.filter(slug=o["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No shop with the address name {o['tenant']!r}.")
        user = User.objects.filter(email__iexact=o["email"]).first()
        if user is None:
            password = o["password"]
            if not password:
                import getpass

                password = getpass.getpass("Password: ")
            user = User.objects.create_user(o["email"], password, name=o["name"])
        try:
            membership = do_add_member(tenant, user, o["role"])
        except ActionError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{user.email} is now {membership.role} of {tenant.name}.")
