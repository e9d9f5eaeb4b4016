from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "apps.ads"
    label = "ads"
    verbose_name = "Campaigns"

    def ready(self):
        from apps.accounts import permissions

        from . import signals  # noqa: F401

        content = permissions.CONTENT  # a fleet's data feeds are its content people's, like its campaigns
        for resource in ("ads.playlist", "ads.schedule"):  # schedules are campaigns written another way
            permissions.register(
                resource,
                {
                    permissions.VIEW: permissions.EVERYONE,
                    permissions.ADD: content,
                    permissions.CHANGE: content,
                    permissions.DELETE: content,
                },
            )
        permissions.register(
            "ads.datafeed",
            {
                permissions.VIEW: permissions.EVERYONE,
                permissions.ADD: content,
                permissions.CHANGE: content,
                permissions.DELETE: content,
            },
        )
