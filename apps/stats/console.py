"""Proof of play in the console: plays per day and per hour of a screen or a campaign over a chosen range
(with CSV downloads from the statistics API), and today's plays for the dashboard. Read through the same
selectors as the API, keyed by the user's fleets."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .selectors import StatsQuery, aggregates, fleet_ids_of

DEFAULT_DAYS = 14


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def plays_chart(*, user, params, zone: str, screen=None, campaign=None) -> dict:
    """Bars of plays per day and per hour of day, in `zone`, for the range `plays_since`..`plays_until`
    (dates, both included; the last two weeks by default, at most the API's widest range)."""
    tz = zoneinfo.ZoneInfo(zone or "UTC")
    today = timezone.now().astimezone(tz).date()
    until_day = _day(params.get("plays_until"), today)
    since_day = _day(params.get("plays_since"), until_day - timedelta(days=DEFAULT_DAYS - 1))
    widest = settings.SIGNAGE_STATS_MAX_RANGE_DAYS
    if since_day > until_day or (until_day - since_day).days >= widest:
        since_day = until_day - timedelta(days=DEFAULT_DAYS - 1)
    since = datetime.combine(since_day, time.min, tz)
    until = datetime.combine(until_day + timedelta(days=1), time.min, tz)
    query = StatsQuery(
        fleet_ids=fleet_ids_of(user),
        since=since,
        until=until,
        screens=[screen.pk] if screen is not None else [],
        campaigns=[campaign.pk] if campaign is not None else [],
        tz=zone or "UTC",
    )
    per_day = {row["date"]: row["count"] for row in aggregates(query, ["date"], limit=widest + 1, offset=0)}
    per_hour = {row["hour"]: row["count"] for row in aggregates(query, ["hour"], limit=24, offset=0)}
    days = [(since_day + timedelta(days=i)).isoformat() for i in range((until_day - since_day).days + 1)]
    api = {"started_at__gte": since.isoformat(), "started_at__lt": until.isoformat(), "tz": zone or "UTC",
           "format": "csv"}  # fmt: skip
    if screen is not None:
        api["screen"] = str(screen.pk)
    if campaign is not None:
        api["campaign"] = str(campaign.pk)
    base = reverse("stats-aggregates")
    return {
        "since": since_day.isoformat(),
        "until": until_day.isoformat(),
        "timezone": zone or "UTC",
        "total": sum(per_day.values()),
        "per_day": _bars([(day[5:], per_day.get(day, 0)) for day in days]),
        "per_hour": _bars([(f"{hour:02}", per_hour.get(hour, 0)) for hour in range(24)]),
        "csv_per_day": f"{base}?{urlencode({**api, 'group_by': 'date'})}",
        "csv_per_hour": f"{base}?{urlencode({**api, 'group_by': 'date,hour'})}",
    }


def _bars(points: list[tuple[str, int]]) -> dict:
    """An SVG bar chart's geometry (no JavaScript needed): one bar per point, scaled to the highest."""
    top = max((value for _, value in points), default=0) or 1
    width = 100 / max(1, len(points))
    return {
        "top": top,
        "bars": [
            {"label": label, "value": value, "x": round(i * width, 3), "width": round(width * 0.8, 3),
             "height": round(90 * value / top, 3), "y": round(90 - 90 * value / top, 3)}
            for i, (label, value) in enumerate(points)
        ],
    }  # fmt: skip


def plays_today_chart(request, fleet_ids: list[int]) -> dict:
    """The dashboard's chart (SIGNAGE_DASHBOARD_CHART): plays per hour today, in UTC."""
    now = timezone.now()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    query = StatsQuery(fleet_ids=list(fleet_ids), since=since, until=since + timedelta(days=1), tz="UTC")
    counts = {row["hour"]: row["count"] for row in aggregates(query, ["hour"], limit=24, offset=0)}
    return {
        "title": f"Plays today ({sum(counts.values())}), per hour (UTC)",
        "labels": [f"{hour:02}:00" for hour in range(24)],
        "values": [counts.get(hour, 0) for hour in range(24)],
        "label": "Plays",
    }
