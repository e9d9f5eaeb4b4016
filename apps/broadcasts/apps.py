from django.apps import AppConfig


class BroadcastsConfig(AppConfig):
    name = "apps.broadcasts"
    label = "broadcasts"
    verbose_name = "Loops"
