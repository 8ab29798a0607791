from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from frontdesk.desk.demo import DEMO_PASSWORD, build_demo, demo_exists, remove_demo
from frontdesk.desk.models import Tenant


class Command(BaseCommand):
    help = (
        "Load the demo shop (Rowerownia: a team, customers and conversations in Polish and English) "
        "and print its logins."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has a shop."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo shop first, then load it again."
        )
        parser.add_argument(
            "--conversations", type=int, default=300, help="How many conversations (default 300)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed, the same shop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Tenant.objects.exists():
            self.stdout.write("The database already has shops; the demo is not loaded.")
            return
        if not 1 <= options["conversations"] <= 20000:
            raise CommandError("--conversations must be between 1 and 20000.")
        if options["reset"]:
            remove_demo()
        elif demo_exists():
            raise CommandError("The demo shop exists already; use --reset to load it again.")
        started = time.monotonic()
        # Every action logs what it does; thousands of lines would bury the logins printed below.
        quiet = logging.getLogger("frontdesk")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            result = build_demo(conversations=options["conversations"], seed=options["seed"])
        finally:
            quiet.setLevel(level)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Loaded the demo shop {result.tenant.name} (/t/{result.tenant.slug}/): "
            f"{result.conversations} conversations, {result.customers} customers, in {elapsed:.1f} s."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, role, name in result.logins:
            self.stdout.write(f"  {email:<28} {role:<11} {name}")
