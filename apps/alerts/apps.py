from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from apps.accounts import permissions

        from . import signals  # noqa: F401  (built-in rules for new fleets)

        # Rules are the fleet admins'; people who look after players act on alerts.
        players = permissions.PLAYERS
        permissions.register(
            "alerts.alertrule",
            {
                permissions.VIEW: permissions.EVERYONE,
                permissions.ADD: permissions.ADMINS,
                permissions.CHANGE: permissions.ADMINS,
                permissions.DELETE: permissions.ADMINS,
                "archive": permissions.ADMINS,
                "unarchive": permissions.ADMINS,
                "pause": permissions.ADMINS,
                "unpause": permissions.ADMINS,
            },
        )
        permissions.register(
            "alerts.alert",
            {
                permissions.VIEW: permissions.EVERYONE,
                permissions.CHANGE: players,
                "archive": players,
                "unarchive": players,
                "snooze": players,
                "unsnooze": players,
                "assign": players,
                "unassign": players,
            },
        )
        permissions.register("alerts.alertdevice", {permissions.VIEW: permissions.EVERYONE})
        permissions.register("alerts.alertnotification", {permissions.VIEW: permissions.ADMINS})
