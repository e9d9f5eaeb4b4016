from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "apps.devices"
    label = "devices"
    verbose_name = "Players"

    def ready(self):
        from apps.accounts import permissions

        from . import schema, signals  # noqa: F401  (registers the OpenAPI extension and the receivers)

        # Bulk operations are driven by those who drive players; everyone in the fleet follows them.
        drivers = permissions.PLAYERS
        permissions.register(
            "devices.bulkoperation",
            {
                permissions.VIEW: permissions.EVERYONE,
                permissions.ADD: drivers,
                "pause": drivers,
                "resume": drivers,
                "stop": drivers,
                "archive": drivers,
                "devices": permissions.EVERYONE,
            },
        )
        permissions.register("devices.bulkoperationdevice", {permissions.VIEW: permissions.EVERYONE})
