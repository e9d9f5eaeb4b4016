from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "apps.devices"
    label = "devices"
    verbose_name = "Players"

    def ready(self):
        from . import schema, signals  # noqa: F401  (registers the OpenAPI extension and the receivers)
