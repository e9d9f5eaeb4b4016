"""Reference 000 "Screens", "Search, filter, paginate and select specific fields for screens" and
"Manage Screen Characteristics": every example request, as the reference writes it (host aside)."""

import json
from datetime import UTC, datetime

import pytest

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from tests.screens.factories import ScreenGroupFactory, ScreenTypeFactory

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/screens/"


@pytest.fixture
def screens(fleet, make_screen, make_place):
    paris, lyon = make_place("Paris"), make_place("Lyon", street_number="2", postalcode="69002")
    return {
        "my": make_screen(fleet, "My screen", place=paris),
        "my2": make_screen(fleet, "Hall - my screen 2", place=lyon),
        "led": make_screen(fleet, "LED wall", display_is_a_led_panel=True, place=paris),
        "epaper": make_screen(fleet, "Shelf label", display_is_an_epaper=True),
        "off": make_screen(fleet, "Paris storage", active=False, deactivation_reason="stock", place=paris),
    }


def names(response):
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["results"])


def test_list_and_retrieve(api, screens):
    assert len(names(api.get(BASE))) == 5
    screen = screens["my"]
    response = api.get(f"{BASE}{screen.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(screen.pk)
    assert body["url"] == f"http://testserver{BASE}{screen.pk}/"
    assert body["city"] == "Paris" and body["full_address"] == "1 Rue de Rivoli, 75001 Paris"
    assert body["place"].endswith(f"/api/management/v2/places/{screen.place_id}/")
    assert body["fleet"].endswith(f"/api/management/v2/fleets/{screen.fleet_id}/")


def test_search_is_partial_and_case_insensitive(api, screens):
    assert names(api.get(f"{BASE}?search=My%20screen")) == ["Hall - my screen 2", "My screen"]
    slug = screens["led"].slug
    assert names(api.get(f"{BASE}?search={slug[3:10].upper()}")) == ["LED wall"]
    assert names(api.get(f"{BASE}?search={str(screens['epaper'].pk)[:13]}")) == ["Shelf label"]


def test_reference_filter_examples(api, screens):
    assert names(api.get(f"{BASE}?name=My%20screen")) == ["My screen"]
    assert "Paris storage" not in names(api.get(f"{BASE}?active=true"))
    assert names(api.get(f"{BASE}?display_is_a_led_panel=true")) == ["LED wall"]
    assert names(api.get(f"{BASE}?display_is_an_epaper=true")) == ["Shelf label"]
    assert names(api.get(f"{BASE}?city=Paris")) == ["LED wall", "My screen", "Paris storage"]
    assert names(api.get(f"{BASE}?city=Paris&active=true")) == ["LED wall", "My screen"]
    assert names(api.get(f"{BASE}?deactivation_reason=stock")) == ["Paris storage"]
    assert names(api.get(f"{BASE}?postalcode=69002")) == ["Hall - my screen 2"]
    assert names(api.get(f"{BASE}?full_address=1%20Rue%20de%20Rivoli%2C%2075001%20Paris")) == [
        "LED wall",
        "My screen",
        "Paris storage",
    ]
    assert names(api.get(f"{BASE}?slug={screens['led'].slug}")) == ["LED wall"]
    assert names(api.get(f"{BASE}?id={screens['led'].pk}")) == ["LED wall"]


def test_online_modified_date_filters(api, screens):
    Screen.objects.filter(pk=screens["my"].pk).update(online_modified_date=datetime(2026, 1, 22, 8, tzinfo=UTC))
    Screen.objects.filter(pk=screens["led"].pk).update(online_modified_date=datetime(2026, 1, 22, 13, tzinfo=UTC))
    Screen.objects.filter(pk=screens["my2"].pk).update(online_modified_date=datetime(2026, 1, 23, 9, tzinfo=UTC))
    assert names(api.get(f"{BASE}?online_modified_date__gt=2026-01-22T12%3A59%3A39Z")) == [
        "Hall - my screen 2",
        "LED wall",
    ]
    window = "online_modified_date__gte=2026-01-22T00%3A00%3A00Z&online_modified_date__lte=2026-01-22T23%3A59%3A59Z"
    assert names(api.get(f"{BASE}?{window}")) == ["LED wall", "My screen"]
    assert names(api.get(f"{BASE}?online_modified_date__lt=2026-01-22T12%3A00%3A00Z")) == ["My screen"]


def test_paginate_and_select_fields(api, fleet, make_screen):
    for index in range(25):
        make_screen(fleet, f"Screen {index:02}", active=index % 2 == 0)
    assert len(api.get(f"{BASE}?limit=10").json()["results"]) == 10
    page = api.get(f"{BASE}?limit=5&offset=10").json()
    assert [item["name"] for item in page["results"]] == [f"Screen {index:02}" for index in range(10, 15)]
    assert page["count"] == 25
    body = api.get(f"{BASE}?fields=name,slug").json()
    assert all(set(item) == {"name", "slug"} for item in body["results"])
    body = api.get(f"{BASE}?active=true&fields=name,slug&limit=10").json()
    assert body["count"] == 13
    assert len(body["results"]) == 10
    assert all(set(item) == {"name", "slug"} for item in body["results"])


def patch(api, screen, payload):
    # As the reference sends it: data=json.dumps(payload) with a JSON content type.
    return api.patch(f"{BASE}{screen.pk}/", data=json.dumps(payload), content_type="application/json")


def test_edit_name(api, screens):
    response = patch(api, screens["my"], {"name": "New screen name"})
    assert response.status_code == 200
    assert response.json()["name"] == "New screen name"
    screens["my"].refresh_from_db()
    assert screens["my"].name == "New screen name"


def test_edit_opening_hours_then_reset(api, screens):
    hours = {
        "1": [["09:00", "18:00"]],
        "2": [["09:00", "18:00"]],
        "3": [["09:00", "18:00"]],
        "4": [["09:00", "12:00"], ["14:00", "18:00"]],
        "5": [["09:00", "12:00"], ["14:00", "18:00"]],
        "6": [],
        "7": [],
    }
    response = patch(api, screens["my"], {"opening_hours": hours})
    assert response.status_code == 200
    assert response.json()["opening_hours"] == hours
    assert patch(api, screens["my"], {"download_hours": {"1": [["01:00", "05:00"]]}}).status_code == 200
    assert patch(api, screens["my"], {"opening_hours": {}}).json()["opening_hours"] == {}
    screens["my"].refresh_from_db()
    assert screens["my"].opening_hours == {} and screens["my"].download_hours == {"1": [["01:00", "05:00"]]}


def test_deactivate_with_reason_then_reactivate(api, screens):
    response = patch(api, screens["my"], {"active": False, "deactivation_reason": "maintenance"})
    assert response.status_code == 200
    assert (response.json()["active"], response.json()["deactivation_reason"]) == (False, "maintenance")
    response = patch(api, screens["my"], {"active": True, "deactivation_reason": None})
    assert (response.json()["active"], response.json()["deactivation_reason"]) == (True, None)


@pytest.mark.parametrize(
    "reason",
    ["deploy", "has_been_replaced", "lost", "maintenance", "replacement", "site_is_closed", "stock", "to_replace"],
)
def test_every_deactivation_reason(api, screens, reason):
    assert patch(api, screens["my"], {"active": False, "deactivation_reason": reason}).status_code == 200


def test_led_epaper_place_and_custom_slug(api, screens, make_place):
    screen = screens["epaper"]
    assert patch(api, screen, {"display_is_a_led_panel": True}).json()["display_is_a_led_panel"] is True
    assert patch(api, screen, {"display_is_an_epaper": True}).json()["display_is_an_epaper"] is True
    place = make_place("Marseille", postalcode="13001")
    place_url = f"http://testserver/api/management/v2/places/{place.pk}/"
    response = patch(api, screen, {"place": place_url})
    assert response.status_code == 200
    assert (response.json()["place"], response.json()["city"]) == (place_url, "Marseille")
    assert patch(api, screen, {"place": place.pk}).status_code == 200  # a bare id works too
    response = patch(api, screen, {"place": None})
    assert (response.json()["place"], response.json()["city"]) == (None, None)

    assert patch(api, screen, {"custom_slug": "My custom slug"}).json()["custom_slug"] == "My custom slug"
    response = patch(api, screens["led"], {"custom_slug": "My custom slug"})
    assert response.status_code == 400
    assert response.json() == {
        "custom_slug": [{"message": "This custom slug is already used by another screen.", "code": "invalid"}]
    }


def test_custom_slug_is_unique_across_the_platform(api, screens, other_fleet, make_screen):
    make_screen(other_fleet, "Elsewhere", custom_slug="taken-elsewhere")
    response = patch(api, screens["my"], {"custom_slug": "taken-elsewhere"})
    assert response.status_code == 400
    assert response.json()["custom_slug"][0]["message"] == "This custom slug is already used by another screen."


@pytest.fixture
def share_of_voice(fleet):
    fleet.share_of_voice = True
    fleet.save()
    fleet.advertiser_types.add(1, 2)
    return fleet


def test_allocated_times_numeric_and_text_keys(api, screens, share_of_voice):
    response = patch(api, screens["my"], {"allocated_times": {"1": 30, "2": 20}})
    assert response.status_code == 200
    assert response.json()["allocated_times"] == {"1": 30, "2": 20}
    response = patch(api, screens["my"], {"allocated_times": {"lessor": 30, "advertiser": 20}})
    assert response.json()["allocated_times"] == {"1": 30, "2": 20}
    response = patch(api, screens["my"], {"allocated_times": {"LESSOR": 10, "Advertiser": 5}})
    assert response.json()["allocated_times"] == {"1": 10, "2": 5}


def test_allocated_times_reference_errors(api, screens, share_of_voice, other_fleet):
    response = patch(api, screens["my"], {"allocated_times": {"agency": 10}})
    assert response.status_code == 400
    assert response.json() == {
        "allocated_times": [
            {
                "message": "Invalid author type 'agency'. Valid choices are: Lessor, Advertiser or 1, 2",
                "code": "invalid",
            }
        ]
    }
    share_of_voice.share_of_voice = False
    share_of_voice.save()
    response = patch(api, screens["my"], {"allocated_times": {"1": 30}})
    assert response.status_code == 400
    assert response.json() == {"allocated_times": [{"message": "You don't have any share of voice", "code": "invalid"}]}
    screens["my"].refresh_from_db()
    assert screens["my"].allocated_times == {}


def test_groups_and_types_lists(api, fleet, other_fleet, screens):
    group = ScreenGroupFactory(fleet=fleet, name="Lobby", description="Entrance screens")
    group.screens.add(screens["my"], screens["led"])
    ScreenGroupFactory(fleet=other_fleet, name="Hidden")
    ScreenTypeFactory(fleet=fleet, name="Totem", width=1080, height=1920, orientation="portrait")
    ScreenTypeFactory(fleet=other_fleet, name="Hidden", width=1, height=1)

    groups = api.get("/api/management/v2/screen_groups/").json()["results"]
    assert [(g["name"], g["description"], len(g["screens"])) for g in groups] == [("Lobby", "Entrance screens", 2)]
    assert f"/screens/{screens['my'].pk}/" in " ".join(groups[0]["screens"])
    types = api.get("/api/management/v2/screen_types/").json()["results"]
    assert [(t["name"], t["width"], t["height"], t["orientation"]) for t in types] == [
        ("Totem", 1080, 1920, "portrait")
    ]
    assert names(api.get(f"{BASE}?group={group.pk}")) == ["LED wall", "My screen"]


def test_fleet_counter_follows_screens(api, fleet, screens):
    assert Fleet.objects.count() >= 1
    body = api.get(f"/api/management/v2/fleets/{fleet.pk}/").json()
    assert body["active_screens_count"] == 4
