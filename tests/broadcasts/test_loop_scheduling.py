"""Dated loops with the other references' scheduling: public holidays in two countries, a weekend, a feed
crossing a threshold, an exclusive screen with overlapping priorities (through `screens/{id}/loop/`)."""

import json
from datetime import timedelta

import pytest
import werkzeug
from django.utils import timezone

from apps.ads.feeds import data_feed_refresh
from apps.ads.models import DataFeed

pytestmark = pytest.mark.django_db

HOST = "http://testserver/api/management/v2"


@pytest.fixture
def campaign(api, fleet, make_media):
    def make(name, *, screens=(), conditions=(), priority=0, **broadcast):
        payload = {
            "name": name,
            "campaign_startdate": "2025-01-01",
            "priority": priority,
            "broadcasts": [
                {
                    "media": f"{HOST}/medias/{make_media(fleet, name=name).public_id}/",
                    "screens": [str(screen.pk) for screen in screens],
                    "conditions": list(conditions),
                    **broadcast,
                }
            ],
        }
        response = api.post(f"{HOST}/ads/", data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()

    return make


def playing(api, screen, at: str) -> list[str]:
    response = api.get(f"{HOST}/screens/{screen.pk}/loop/", {"at": at})
    assert response.status_code == 200, response.content
    return sorted(entry["ad_name"] for entry in response.json()["entries"])


HOLIDAY = {"type": "day_type", "operator": "eq", "value": "public_holiday"}
NOT_HOLIDAY = {"type": "day_type", "operator": "ne", "value": "public_holiday"}


def test_public_holidays_of_two_countries_and_a_region(api, fleet, make_screen, make_place, campaign):
    paris = make_screen(fleet, "Paris", timezone="Europe/Paris", place=make_place("Paris", country="France"))
    munich = make_screen(
        fleet, "Munich", timezone="Europe/Berlin", place=make_place("München", country="DE", region="Bayern")
    )
    berlin = make_screen(fleet, "Berlin", timezone="Europe/Berlin", place=make_place("Berlin", country="Germany"))
    campaign("holidays only", screens=[paris, munich, berlin], conditions=[HOLIDAY])
    campaign("working days", screens=[paris, munich, berlin], conditions=[NOT_HOLIDAY])
    bastille_day, epiphany = "2026-07-14T10:00:00Z", "2026-01-06T10:00:00Z"  # both Tuesdays
    assert playing(api, paris, bastille_day) == ["holidays only"]
    assert playing(api, munich, bastille_day) == ["working days"]
    # Epiphany is a holiday in Bavaria, not in Berlin nor in France.
    assert playing(api, munich, epiphany) == ["holidays only"]
    assert playing(api, berlin, epiphany) == ["working days"]
    assert playing(api, paris, epiphany) == ["working days"]
    # A screen without a known country has no public holidays.
    nowhere = make_screen(fleet, "Nowhere", timezone="Europe/Paris")
    campaign("nowhere", screens=[nowhere], conditions=[HOLIDAY])
    assert playing(api, nowhere, bastille_day) == []


def test_weekdays_and_weekends_in_the_screens_timezone(api, fleet, make_screen, campaign):
    tokyo = make_screen(fleet, "Tokyo", timezone="Asia/Tokyo")
    campaign("weekdays", screens=[tokyo], conditions=[{"type": "day_type", "operator": "eq", "value": "weekday"}])
    campaign("weekends", screens=[tokyo], conditions=[{"type": "day_type", "operator": "eq", "value": "weekend"}])
    assert playing(api, tokyo, "2026-03-20T16:00:00Z") == ["weekends"]  # Friday in UTC, Saturday 01:00 in Tokyo
    assert playing(api, tokyo, "2026-03-20T10:00:00Z") == ["weekdays"]


def test_a_time_range_across_midnight(api, fleet, make_screen, campaign):
    screen = make_screen(fleet, "Night", timezone="Europe/Paris")
    campaign(
        "night", screens=[screen], conditions=[{"type": "time_range", "operator": "between", "value": "22:00-02:00"}]
    )
    assert playing(api, screen, "2026-03-18T22:30:00Z") == ["night"]  # 23:30 in Paris
    assert playing(api, screen, "2026-03-18T00:59:00Z") == ["night"]  # 01:59
    assert playing(api, screen, "2026-03-18T01:00:00Z") == []  # 02:00, the end is excluded


def test_a_feed_crossing_a_threshold_and_going_stale(
    api, fleet, make_screen, make_place, campaign, httpserver, settings
):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    weather = {"cities": {"Paris": {"temperature": 12}, "Lyon": {"temperature": 3}}}
    httpserver.expect_request("/weather").respond_with_handler(
        lambda request: werkzeug.Response(json.dumps(weather), content_type="application/json")
    )
    feed = api.post(
        f"{HOST}/feeds/",
        {"name": "Weather", "source_url": httpserver.url_for("/weather"), "max_age": 1800},
        format="json",
    ).json()
    paris = make_screen(fleet, "Paris", timezone="Europe/Paris", place=make_place("Paris"))
    lyon = make_screen(fleet, "Lyon", timezone="Europe/Paris", place=make_place("Lyon"))
    cold = {"type": "feed", "feed": feed["id"], "path": "$.cities.{city}.temperature", "operator": "lt", "value": 10}
    campaign("hot drinks", screens=[paris, lyon], conditions=[cold])
    now = timezone.now().isoformat()
    assert (playing(api, paris, now), playing(api, lyon, now)) == ([], ["hot drinks"])
    weather["cities"]["Paris"]["temperature"] = 9.5  # Paris crosses the threshold
    assert data_feed_refresh(feed_id=feed["id"]) == "changed"
    assert playing(api, paris, timezone.now().isoformat()) == ["hot drinks"]
    # Once the value is older than max_age, the condition cannot be evaluated: the broadcast does not play.
    fetched_at = DataFeed.objects.get(pk=feed["id"]).fetched_at
    assert playing(api, paris, (fetched_at + timedelta(seconds=1799)).isoformat()) == ["hot drinks"]
    assert playing(api, paris, (fetched_at + timedelta(seconds=1800)).isoformat()) == []


def test_an_exclusive_screen_plays_only_the_highest_priority(api, fleet, make_screen, campaign):
    screen = make_screen(fleet, "Hall", timezone="Europe/Paris", schedule_mode="exclusive")
    shared = make_screen(fleet, "Shared", timezone="Europe/Paris")
    campaign("background", screens=[screen, shared], priority=0)
    campaign("lunch promo", screens=[screen, shared], priority=50, display_periods={"3": [["12:00", "14:00"]]})
    campaign("lunch promo bis", screens=[screen, shared], priority=50, display_periods={"3": [["11:00", "13:00"]]})
    assert playing(api, screen, "2026-03-18T09:00:00Z") == ["background"]  # 10:00: nothing higher plays
    assert playing(api, screen, "2026-03-18T11:30:00Z") == ["lunch promo", "lunch promo bis"]  # equals share
    assert playing(api, screen, "2026-03-18T12:30:00Z") == ["lunch promo"]  # 13:30
    assert playing(api, shared, "2026-03-18T12:30:00Z") == ["background", "lunch promo"]
    response = api.patch(f"{HOST}/screens/{shared.pk}/", {"schedule_mode": "exclusive"}, format="json")
    assert response.status_code == 200 and response.json()["schedule_mode"] == "exclusive"
    assert playing(api, shared, "2026-03-18T12:30:00Z") == ["lunch promo"]
    assert api.patch(f"{HOST}/screens/{shared.pk}/", {"schedule_mode": "solo"}, format="json").status_code == 400


def test_a_screen_added_to_a_group_plays_the_groups_broadcasts(api, fleet, make_screen, campaign):
    from apps.screens.models import ScreenGroup

    group = ScreenGroup.objects.create(fleet=fleet, name="Windows")
    screen = make_screen(fleet, "Window 3", timezone="Europe/Paris")
    campaign("window display", screen_groups=[group.pk])
    campaign("everywhere", all_screens=True)
    at = "2026-03-18T12:00:00Z"
    assert playing(api, screen, at) == ["everywhere"]
    response = api.patch(f"{HOST}/screen_groups/{group.pk}/", {"screens": [str(screen.pk)]}, format="json")
    assert response.status_code == 200, response.content
    assert playing(api, screen, at) == ["everywhere", "window display"]
    group.screens.remove(screen)
    assert playing(api, screen, at) == ["everywhere"]
