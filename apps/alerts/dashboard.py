"""The console dashboard's "Open alerts" panel (listed in settings.SIGNAGE_DASHBOARD_PANELS)."""

from django.db.models import Count

from .models import Alert

LISTED = 8


def open_alerts_panel(request, fleet_ids) -> dict:
    """Open (unresolved, unarchived) alerts of the user's fleets: how many, then the latest changed ones with
    their number of devices. Two queries."""
    alerts = Alert.objects.of_fleets(fleet_ids).filter(resolved_at__isnull=True, archived_at__isnull=True)
    latest = (
        alerts.select_related("fleet")
        .annotate(device_count=Count("alert_devices"))
        .order_by("-latest_change_at", "-pk")[:LISTED]
    )
    rows = [("Open alerts", alerts.count())]
    rows += [(f"{alert.name} ({alert.fleet.name})", f"{alert.device_count} device(s)") for alert in latest]
    return {"title": "Open alerts", "rows": rows}
