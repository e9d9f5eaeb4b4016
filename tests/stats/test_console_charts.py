"""Proof of play in the console: plays per day and per hour on screen and campaign pages, with CSV
downloads; today's plays for the dashboard."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.stats.console import plays_today_chart

from .conftest import Player, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def played(fleet, make_screen, make_media, make_campaign):
    screen = make_screen(fleet, "Hall", timezone="UTC")
    media = make_media(fleet)
    ad, _ = make_campaign(fleet, media, [screen], name="Spring")
    player = Player(screen)
    today = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    batch = [event(media, today - timedelta(days=d, minutes=m), ad=ad) for d in (0, 1, 3) for m in range(d + 1)]
    assert player.post(batch).json()["stored"] == 1 + 2 + 4
    return screen, ad, today


def bars(html: str, kind: str) -> dict[str, int]:
    return {
        label: int(value) for label, value in re.findall(rf'class="plays-{kind}".*?<title>([^:]+): (\d+)', html, re.S)
    }


@pytest.mark.parametrize("page", ["screen", "campaign"])
def test_screen_and_campaign_pages_chart_plays_per_day_and_hour(admin_client, played, page):
    screen, ad, today = played
    url = f"/admin/screens/screen/{screen.pk}/change/" if page == "screen" else f"/admin/ads/ad/{ad.pk}/change/"
    html = admin_client.get(url).content.decode()
    per_day = bars(html, "day")
    assert len(per_day) == 14 and sum(per_day.values()) == 7
    assert per_day[today.strftime("%m-%d")] == 1 and per_day[(today - timedelta(days=3)).strftime("%m-%d")] == 4
    assert sum(bars(html, "hour").values()) == 7 and len(bars(html, "hour")) == 24
    # A chosen range: only the last two days.
    since = (today - timedelta(days=1)).date().isoformat()
    narrowed = admin_client.get(url, {"plays_since": since, "plays_until": today.date().isoformat()}).content.decode()
    assert sum(bars(narrowed, "day").values()) == 3 and len(bars(narrowed, "day")) == 2
    # The CSV links download the same figures (the console's session is enough for the statistics API).
    link = re.search(r'href="([^"]+group_by=date[^",]*)"', narrowed)[1].replace("&amp;", "&")
    rows = list(csv.DictReader(io.StringIO(b"".join(admin_client.get(link).streaming_content).decode())))
    assert sum(int(row["count"]) for row in rows) == 3


def test_a_page_without_plays_shows_an_empty_chart(admin_client, fleet, make_screen):
    screen = make_screen(fleet, "Quiet")
    html = admin_client.get(f"/admin/screens/screen/{screen.pk}/change/").content.decode()
    assert "Plays (0)" in html and sum(bars(html, "day").values()) == 0


def test_todays_plays_for_the_dashboard(rf, played, fleet, other_fleet):
    _, _, today = played
    chart = plays_today_chart(rf.get("/admin/"), [fleet.pk])
    assert len(chart["values"]) == 24 and chart["values"][today.hour] == (
        1 if today.date() == timezone.now().date() else 0
    )
    assert plays_today_chart(rf.get("/admin/"), [other_fleet.pk])["values"] == [0] * 24


def test_the_dashboard_charts_todays_plays(admin_client, played):
    _, _, today = played
    page = admin_client.get("/admin/")
    chart = page.context["chart"]
    assert chart["title"].startswith("Plays today") and len(chart["values"]) == 24
    assert sum(chart["values"]) == (1 if today.date() == timezone.now().date() else 0)
