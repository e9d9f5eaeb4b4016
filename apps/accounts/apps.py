from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Fleets and accounts"

    def ready(self):
        import signage.api.schema  # noqa: F401  (registers the OpenAPI extensions)

        from . import principals  # noqa: F401  (forgets cached principals when users and memberships change)
