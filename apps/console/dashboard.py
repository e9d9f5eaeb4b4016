"""The console's index: per fleet, screens online and offline, players silent for too long, campaigns
starting and ending within a week, a chart, and the panels later apps add (SIGNAGE_DASHBOARD_PANELS).
A fixed number of queries, whatever the size of the fleets."""

import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.accounts import scoping
from apps.ads.models import Ad, AdStatus
from apps.devices.models import Device
from apps.screens.models import Screen

SILENT_AFTER = timedelta(hours=1)  # a paired player not heard from for this long is "silent"
WEEK = timedelta(days=7)
LISTED = 10


def dashboard(request, context: dict) -> dict:
    user = request.user
    fleets = list(scoping.fleets_of(user).order_by("name").values("pk", "name", "timezone"))
    fleet_ids = [fleet["pk"] for fleet in fleets]
    now = timezone.now()
    today = now.date()

    screens = (
        Screen.objects.of_fleets(fleet_ids)
        .filter(active=True)
        .values("fleet_id")
        .annotate(
            screens_online=Count("pk", filter=Q(online=True)), screens_offline=Count("pk", filter=Q(online=False))
        )
    )
    per_fleet = {row["fleet_id"]: row for row in screens}
    silent = (
        Device.objects.of_fleets(fleet_ids)
        .filter(screen__isnull=False)
        .filter(Q(last_seen_at__lt=now - SILENT_AFTER) | Q(last_seen_at__isnull=True))
    )
    silent_counts = dict(silent.values_list("fleet_id").annotate(count=Count("pk")).values_list("fleet_id", "count"))
    campaigns = Ad.objects.of_fleets(fleet_ids).filter(status=AdStatus.ACTIVE).select_related("fleet")
    starting = campaigns.filter(campaign_startdate__gt=today, campaign_startdate__lte=today + WEEK)
    ending = campaigns.filter(campaign_enddate__gte=today, campaign_enddate__lte=today + WEEK)

    context.update(
        {
            "fleets": [
                {
                    "name": fleet["name"],
                    "timezone": fleet["timezone"],
                    "online": per_fleet.get(fleet["pk"], {}).get("screens_online", 0),
                    "offline": per_fleet.get(fleet["pk"], {}).get("screens_offline", 0),
                    "silent": silent_counts.get(fleet["pk"], 0),
                }
                for fleet in fleets
            ],
            "silent_players": list(silent.select_related("fleet", "screen").order_by("last_seen_at", "pk")[:LISTED]),
            "silent_after": SILENT_AFTER,
            "starting": list(starting.order_by("campaign_startdate", "name")[:LISTED]),
            "ending": list(ending.order_by("campaign_enddate", "name")[:LISTED]),
            "chart": _chart(request, fleet_ids, now),
            "panels": [import_string(path)(request, fleet_ids) for path in settings.SIGNAGE_DASHBOARD_PANELS],
        }
    )
    return context


def _chart(request, fleet_ids, now) -> dict:
    if settings.SIGNAGE_DASHBOARD_CHART:
        chart = import_string(settings.SIGNAGE_DASHBOARD_CHART)(request, fleet_ids)
    else:
        # Until statistics provide plays per day: how many players were last heard from in each hour.
        since = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
        counts = dict(
            Device.objects.filter(fleet_id__in=fleet_ids, last_seen_at__gte=since)
            .annotate(hour=TruncHour("last_seen_at"))
            .values_list("hour")
            .annotate(count=Count("pk"))
            .values_list("hour", "count")
        )
        hours = [since + timedelta(hours=index) for index in range(24)]
        chart = {
            "title": "Players last heard from, per hour (last 24 hours, UTC)",
            "labels": [f"{hour:%H}:00" for hour in hours],
            "values": [counts.get(hour, 0) for hour in hours],
            "label": "Players",
        }
    chart["data"] = json.dumps(
        {"labels": chart["labels"], "datasets": [{"label": chart.get("label", ""), "data": chart["values"]}]}
    )
    return chart
