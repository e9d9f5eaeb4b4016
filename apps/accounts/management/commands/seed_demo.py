from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Fill the database with a demo fleet (idempotent) and print the demo login."

    def handle(self, *args, **options):
        # Each app seeds its own part in a `demo.py`, in INSTALLED_APPS order (the dependency order), so
        # accounts never imports the apps above it. Each one reads and extends `context`.
        context: dict = {"stdout": self.stdout}
        with transaction.atomic():
            for config in apps.get_app_configs():
                if not config.name.startswith("apps."):
                    continue
                try:
                    module = import_module(f"{config.name}.demo")
                except ModuleNotFoundError as error:
                    if error.name != f"{config.name}.demo":
                        raise
                    continue
                module.seed(context)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  Admin:  http://127.0.0.1:8000/admin/   login {context['username']} / {context['password']}"
        )
        self.stdout.write("  API:    http://127.0.0.1:8000/api/docs/")
