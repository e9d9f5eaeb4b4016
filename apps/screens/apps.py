from django.apps import AppConfig


class ScreensConfig(AppConfig):
    name = "apps.screens"
    label = "screens"

    def ready(self):
        from apps.accounts.usage import register_counter

        from . import signals  # noqa: F401
        from .models import active_screens_count

        register_counter("active_screens_count", active_screens_count)
