from django.apps import AppConfig


class PlayerConfig(AppConfig):
    name = "apps.player"
    verbose_name = "Web player"
