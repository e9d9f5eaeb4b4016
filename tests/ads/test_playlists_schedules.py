"""Playlists and schedules (references 001 and 002): compiled into campaigns the loop plays like any other."""

import json

import pytest

from apps.ads.models import Ad, Broadcast, Playlist, Schedule
from apps.screens.models import ScreenGroup

pytestmark = pytest.mark.django_db

API = "http://testserver/api/management/v2"


def post(api, path, payload):
    return api.post(f"{API}/{path}", data=json.dumps(payload), content_type="application/json")


def patch(api, url, payload):
    return api.patch(url, data=json.dumps(payload), content_type="application/json")


def playing(api, screen, at):
    response = api.get(f"{API}/screens/{screen.pk}/loop/", {"at": at})
    assert response.status_code == 200, response.content
    return [(entry["ad_name"], entry["media_id"], entry["duration"]) for entry in response.json()["entries"]]


@pytest.fixture
def playlist(api, fleet, make_media):
    medias = [make_media(fleet, name=f"m{index}", display_time=10) for index in range(2)]
    response = post(
        api,
        "playlists/",
        {
            "name": "Lobby",
            "transition": "fade",
            "items": [
                {"media": medias[0].public_id, "duration": 15},
                {"media": f"{API}/medias/{medias[1].public_id}/"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["item_count"], body["total_duration"], body["transition"]) == (2, 25.0, "fade")
    assert [item["position"] for item in body["items"]] == [0, 1]
    body["medias"] = medias
    return body


def test_a_weekly_schedule_plays_its_playlist_in_order(api, fleet, make_screen, playlist):
    screen = make_screen(fleet, "Hall", timezone="Europe/Paris")
    response = post(
        api,
        "schedules/",
        {
            "name": "Weekend promotions",
            "playlist": playlist["url"],
            "target_type": "screen",
            "screen": str(screen.pk),
            "days_of_week": [6, 7],
            "start_time": "09:00",
            "end_time": "21:00",
            "priority": 10,
            "color": "#3B82F6",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["screen"] == f"{API}/screens/{screen.pk}/" and body["start_time"] == "09:00" and body["ad"]
    first, second = (media.public_id for media in playlist["medias"])
    saturday_noon, saturday_night, friday = "2026-03-21T11:00:00Z", "2026-03-21T21:00:00Z", "2026-03-20T11:00:00Z"
    assert playing(api, screen, saturday_noon) == [
        ("Weekend promotions", first, 15.0),
        ("Weekend promotions", second, 10.0),
    ]
    assert playing(api, screen, saturday_night) == []  # 22:00 in Paris
    assert playing(api, screen, friday) == []
    # The compiled campaign is not one of the fleet's campaigns to edit.
    assert api.get(f"{API}/ads/").json()["count"] == 0
    assert api.get(f"{API}/broadcasts/").json()["count"] == 0


def test_editing_the_playlist_changes_every_schedule_using_it(api, fleet, make_screen, make_media, playlist):
    screens = [make_screen(fleet, f"s{index}", timezone="UTC") for index in range(2)]
    for screen in screens:
        assert (
            post(
                api, "schedules/", {"playlist": playlist["url"], "target_type": "screen", "screen": str(screen.pk)}
            ).status_code
            == 201
        )
    kept = Broadcast.objects.filter(media=playlist["medias"][0]).values_list("pk", flat=True)
    kept = set(kept)
    extra = make_media(fleet, name="extra", display_time=5)
    items = [{"media": playlist["medias"][0].public_id, "duration": 15}, {"media": extra.public_id}]
    response = patch(api, playlist["url"], {"items": items})
    assert response.status_code == 200, response.content
    for screen in screens:
        assert [media for _, media, _ in playing(api, screen, "2026-03-18T12:00:00Z")] == [
            playlist["medias"][0].public_id,
            extra.public_id,
        ]
    assert set(Broadcast.objects.filter(media=playlist["medias"][0]).values_list("pk", flat=True)) == kept


def test_targets_groups_follow_membership_and_all_screens(api, fleet, make_screen, playlist):
    group = ScreenGroup.objects.create(fleet=fleet, name="Windows")
    screen = make_screen(fleet, "Window", timezone="UTC")
    assert (
        post(
            api, "schedules/", {"playlist": playlist["url"], "target_type": "screen_group", "screen_group": group.pk}
        ).status_code
        == 201
    )
    assert playing(api, screen, "2026-03-18T12:00:00Z") == []
    group.screens.add(screen)
    assert len(playing(api, screen, "2026-03-18T12:00:00Z")) == 2
    everywhere = make_screen(fleet, "Anywhere", timezone="UTC")
    assert (
        post(api, "schedules/", {"name": "All", "playlist": playlist["url"], "target_type": "all_screens"}).status_code
        == 201
    )
    assert [name for name, _, _ in playing(api, everywhere, "2026-03-18T12:00:00Z")] == ["All", "All"]


def test_priority_decides_on_an_exclusive_screen_between_schedules_and_campaigns(
    api, fleet, make_screen, make_media, playlist
):
    screen = make_screen(fleet, "Exclusive", timezone="UTC", schedule_mode="exclusive")
    media = make_media(fleet, name="campaign")
    ad = post(
        api,
        "ads/",
        {
            "name": "Campaign",
            "campaign_startdate": "2026-01-01",
            "priority": 20,
            "broadcasts": [{"media": media.public_id, "screens": [str(screen.pk)]}],
        },
    )
    assert ad.status_code == 201
    low = post(
        api,
        "schedules/",
        {"name": "Low", "playlist": playlist["url"], "target_type": "screen", "screen": str(screen.pk), "priority": 10},
    )
    high = post(
        api,
        "schedules/",
        {
            "name": "High",
            "playlist": playlist["url"],
            "target_type": "multiple_screens",
            "screens": [str(screen.pk)],
            "priority": 90,
            "start_time": "12:00",
            "end_time": "13:00",
        },
    )
    assert low.status_code == high.status_code == 201
    assert {name for name, _, _ in playing(api, screen, "2026-03-18T10:00:00Z")} == {"Campaign"}
    assert {name for name, _, _ in playing(api, screen, "2026-03-18T12:30:00Z")} == {"High"}
    patch(api, high.json()["url"], {"active": False})
    assert {name for name, _, _ in playing(api, screen, "2026-03-18T12:30:00Z")} == {"Campaign"}
    api.delete(ad.json()["url"])
    assert {name for name, _, _ in playing(api, screen, "2026-03-18T12:30:00Z")} == {"Low"}


BAD = [
    ({"target_type": "screen"}, "screen"),
    ({"target_type": "screen_group"}, "screen_group"),
    ({"target_type": "multiple_screens"}, "screens"),
    ({"target_type": "everywhere"}, "target_type"),
    ({"target_type": "all_screens", "priority": 101}, "priority"),
    ({"target_type": "all_screens", "days_of_week": [0]}, "days_of_week"),
    ({"target_type": "all_screens", "start_time": "09:00", "end_time": "09:00"}, "end_time"),
    ({"target_type": "all_screens", "start_date": "2026-05-01", "end_date": "2026-04-01"}, "end_date"),
    ({"target_type": "all_screens", "color": "blue"}, "color"),
    (
        {"target_type": "all_screens", "conditions": [{"type": "weather", "operator": "gt", "value": "30"}]},
        "conditions",
    ),
    ({"target_type": "screen_group", "screen_group": "THEIRS"}, "screen_group"),
]


@pytest.mark.parametrize(("payload", "field"), BAD)
def test_bad_schedules_are_400s_with_nothing_stored(api, fleet, other_fleet, playlist, payload, field):
    theirs = ScreenGroup.objects.create(fleet=other_fleet, name="Theirs")
    if payload.get("screen_group") == "THEIRS":
        payload = {**payload, "screen_group": theirs.pk}
    response = post(api, "schedules/", {"playlist": playlist["url"], **payload})
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Schedule.objects.exists() and not Ad.objects.exists()


def test_a_used_playlist_cannot_be_deleted_and_another_fleets_is_404(api, fleet, other_fleet, playlist):
    post(api, "schedules/", {"playlist": playlist["url"], "target_type": "all_screens"})
    response = api.delete(playlist["url"])
    assert response.status_code == 400
    schedule = Schedule.objects.get()
    assert api.delete(f"{API}/schedules/{schedule.pk}/").status_code == 204
    assert not Ad.objects.exists()
    assert api.delete(playlist["url"]).status_code == 204
    theirs = Playlist.objects.create(fleet=other_fleet, name="Theirs")
    assert api.get(f"{API}/playlists/{theirs.pk}/").status_code == 404


def test_the_console_lists_playlists_and_schedules_read_only(client, django_user_model, api, playlist):
    post(api, "schedules/", {"name": "Shown", "playlist": playlist["url"], "target_type": "all_screens"})
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123"))
    assert b"Lobby" in client.get("/admin/ads/playlist/").content
    assert b"Shown" in client.get("/admin/ads/schedule/").content
    assert client.get("/admin/ads/schedule/add/").status_code == 403
