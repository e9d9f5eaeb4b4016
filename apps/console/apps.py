from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "apps.console"
    verbose_name = "Console"

    def ready(self) -> None:
        from . import audit

        audit.register_models()
