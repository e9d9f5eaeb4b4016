"""The device playlist with group and whole-fleet targets, conditions and feeds: membership changes reach
players from their next fetch, and the playlist's query count does not grow with campaigns."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.ads.models import DataFeed
from apps.screens.models import ScreenGroup
from tests.conftest import cache_clear_own

from .conftest import HOST

pytestmark = pytest.mark.django_db


def test_a_screen_added_to_a_group_gets_its_broadcasts_from_the_next_fetch(
    paired, api, fleet, make_media, django_capture_on_commit_callbacks
):
    client = paired()
    group = ScreenGroup.objects.create(fleet=fleet, name="Lobbies")
    media = make_media(fleet, name="welcome")
    payload = {
        "name": "Welcome",
        "campaign_startdate": "2020-01-01",
        "broadcasts": [
            {"media": f"{HOST}/medias/{media.public_id}/", "screen_groups": [f"{HOST}/screen_groups/{group.pk}/"]}
        ],
    }
    assert api.post(f"{HOST}/ads/", data=json.dumps(payload), content_type="application/json").status_code == 201
    client.post("/api/device/heartbeat", {}, format="json")
    assert client.get("/api/device/playlist").json()["playlist"]["items"] == []
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
    with django_capture_on_commit_callbacks(execute=True):  # the change is announced once committed
        response = api.patch(f"{HOST}/screens/{client.screen.pk}/", {"groups": [group.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True
    items = client.get("/api/device/playlist").json()["playlist"]["items"]
    assert [item["content_id"] for item in items] == [media.public_id]


captured_sql = []


def _playlist_queries(client) -> tuple[int, int]:
    cache_clear_own()  # a cold cache: the playlist is built (this test's keys: cache.clear() is a FLUSHDB)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/device/playlist")
    assert response.status_code == 200
    captured_sql[:] = [q["sql"] for q in captured.captured_queries]
    return len(captured), len(response.json()["playlist"]["items"])


@pytest.mark.parametrize("count", [1, 30])
def test_playlist_queries_with_groups_and_conditions_are_pinned(paired, api, fleet, make_media, make_screen, count):
    client = paired()
    group = ScreenGroup.objects.create(fleet=fleet, name="Group")
    group.screens.add(client.screen, make_screen(fleet, "Other"))
    feed = DataFeed.objects.create(
        fleet=fleet, name="f", source_url="https://example.com/f.json", data={"t": 1}, fetched_at=timezone.now()
    )
    media = make_media(fleet)
    for index in range(count):
        target = (
            {"screen_groups": [group.pk]}
            if index % 3 == 0
            else {"all_screens": True}
            if index % 3 == 1
            else {"screens": [str(client.screen.pk)]}
        )
        conditions = [
            {"type": "day_type", "operator": "ne", "value": "public_holiday"},
            {"type": "time_range", "operator": "between", "value": "00:00-24:00"},
            {"type": "feed", "feed": feed.pk, "path": "$.t", "operator": "lt", "value": 10},
        ]
        payload = {
            "name": f"c{index}",
            "campaign_startdate": "2020-01-01",
            "broadcasts": [{"media": f"{HOST}/medias/{media.public_id}/", "conditions": conditions, **target}],
        }
        assert api.post(f"{HOST}/ads/", payload, format="json").status_code == 201
    queries, items = _playlist_queries(client)
    assert items == count  # every campaign plays: the conditions hold
    # authentication (device and screen), the screens' fleet and groups, the broadcasts, the direct links,
    # the group links, the feeds (the device's new ETag is written behind): the same at 1 and at 30 campaigns.
    assert queries == 6, captured_sql
