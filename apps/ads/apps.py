from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "apps.ads"
    label = "ads"
    verbose_name = "Campaigns"

    def ready(self):
        from . import signals  # noqa: F401
