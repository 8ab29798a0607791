from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from frontdesk.desk.actions.admin import do_create_tenant
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import User


class Command(BaseCommand):
    help = "Create a shop (tenant) with its owner."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", default="")
        parser.add_argument(
            "--password", help="The owner's password when the user is new (asked if omitted)."
        )
        parser.add_argument("--time-zone", default="Europe/Warsaw")
        parser.add_argument("--languages", default="pl,en", help="Comma-separated, the first is the default.")
        parser.add_argument("--country", default="PL")

    def handle(self, *args: Any, **o: Any) -> None:
        user = User.objects.filter(email__iexact=o["owner_email"]).first()
        if user is None:
            password = o["password"]
            if not password:
                import getpass

                password = getpass.getpass("Password for the owner: ")
            user = User.objects.create_user(o["owner_email"], password, name=o["owner_name"])
        try:
            tenant, _ = do_create_tenant(
                o["name"],
                user,
                time_zone=o["time_zone"],
                languages=[c for c in o["languages"].split(",") if c],
                country=o["country"],
            )
        except ActionError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from None
        self.stdout.write(f"Created {tenant.name} at /t/{tenant.slug}/ with owner {user.email}.")
