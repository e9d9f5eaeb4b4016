import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.broadcasts.loop import Candidate, ScreenState, build_loop

SCREEN = "4b9f2f0e-0000-4000-8000-000000000001"
AT = datetime(2026, 3, 18, 12, tzinfo=UTC)  # a Wednesday, 13:00 in Paris


def candidate(name, **values):
    defaults = dict(
        broadcast_id=name,
        ad_id=values.pop("ad", name),
        ad_name=name,
        media_id=1,
        media_type="picture",
        duration=10.0,
        file_hash="h",
        size=1,
        status="active",
        campaign_type="standard",
        multimedia_type="cloned",
        main_loop=True,
        start=date(2026, 3, 1),
        end=None,
        priority=0,
        ad_created=datetime(2026, 1, 1, tzinfo=UTC),
        order=0,
        display_periods={},
        loop_indexes={},
    )
    return Candidate(**{**defaults, **values})


def names(loop):
    return [entry.broadcast_id for entry in loop]


SCREEN_STATE = ScreenState(SCREEN, True, "Europe/Paris", {})


def test_indexes_then_the_rest_in_priority_and_age_order():
    pool = [
        candidate("old", ad_created=datetime(2026, 1, 1, tzinfo=UTC)),
        candidate("new", ad_created=datetime(2026, 2, 1, tzinfo=UTC)),
        candidate("vip", priority=5, ad_created=datetime(2026, 3, 1, tzinfo=UTC)),
        candidate("pinned", loop_indexes={SCREEN: [1, 5]}),
        candidate("first", loop_indexes={SCREEN: [0], "other": [9]}),
    ]
    assert names(build_loop(SCREEN_STATE, AT, pool)) == ["first", "pinned", "pinned", "vip", "old", "new"]


def test_playlist_media_stay_together_in_broadcast_order():
    pool = [
        candidate("p2", ad="playlist", multimedia_type="playlist", order=2),
        candidate("solo", ad_created=datetime(2026, 1, 2, tzinfo=UTC)),
        candidate("p1", ad="playlist", multimedia_type="playlist", order=1),
    ]
    assert names(build_loop(SCREEN_STATE, AT, pool)) == ["p1", "p2", "solo"]


def test_events_take_over_and_everything_else_waits():
    pool = [
        candidate("normal"),
        candidate("event", campaign_type="event"),
        candidate("future event", campaign_type="event", start=date(2026, 4, 1)),
    ]
    assert names(build_loop(SCREEN_STATE, AT, pool)) == ["event"]


def test_periods_hours_validity_sliding_and_status():
    pool = [
        candidate("afternoon", display_periods={"3": [["12:00", "18:00"]]}),
        candidate("morning", display_periods={"3": [["08:00", "12:00"]]}),
        candidate("expired", valid_until=AT - timedelta(seconds=1)),
        candidate("valid", valid_until=AT + timedelta(seconds=1)),
        candidate("suspended", status="suspended"),
        candidate("on demand", main_loop=False),
        candidate("ended", end=date(2026, 3, 17)),
        # day 17 of a sliding campaign over two screens: odd days are the second screen's
        candidate("my day", sliding_order=("x", SCREEN)),
        candidate("not my day", sliding_order=(SCREEN, "x")),
    ]
    assert sorted(names(build_loop(SCREEN_STATE, AT, pool))) == ["afternoon", "my day", "valid"]
    closed = ScreenState(SCREEN, True, "Europe/Paris", {"3": [["08:00", "12:00"]]})
    assert build_loop(closed, AT, pool) == []
    assert build_loop(ScreenState(SCREEN, False, "Europe/Paris", {}), AT, pool) == []


@pytest.mark.django_db
def test_loop_endpoint(api, fleet, make_screen, make_media):
    screen = make_screen(fleet, "Hall", timezone="Europe/Paris")
    spots = [make_media(fleet, name=f"spot{i}", display_time=5 + i) for i in range(3)]
    host = "http://testserver/api/management/v2"
    for index, spot in enumerate(spots):
        payload = {
            "name": f"ad{index}",
            "campaign_startdate": "2026-03-01",
            "priority": index,
            "broadcasts": [
                {
                    "media": f"{host}/medias/{spot.public_id}/",
                    "screens": [str(screen.pk)],
                    "display_periods": {"3": [["08:00", "12:00"]]} if index == 0 else {},
                }
            ],
        }
        assert (
            api.post("/api/management/v2/ads/", data=json.dumps(payload), content_type="application/json").status_code
            == 201
        )
    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/api/management/v2/screens/{screen.pk}/loop/", {"at": "2026-03-18T12:00:00Z"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [entry["ad_name"] for entry in body["entries"]] == ["ad2", "ad1"]
    assert body["total_duration"] == 13.0
    assert body["entries"][0]["media"] == f"{host}/medias/{spots[2].public_id}/"
    assert len(captured) <= 5  # user, screen, its fleet and groups, broadcasts, links
    morning = api.get(f"/api/management/v2/screens/{screen.pk}/loop/", {"at": "2026-03-18T08:00:00Z"}).json()
    assert [entry["ad_name"] for entry in morning["entries"]] == ["ad2", "ad1", "ad0"]
    assert api.get(f"/api/management/v2/screens/{screen.pk}/loop/", {"at": "noon"}).status_code == 400
    assert api.get(f"/api/management/v2/screens/{uuid.uuid4()}/loop/").status_code == 404


@pytest.mark.django_db
def test_another_fleets_loop_is_404(api, other_fleet, make_screen):
    assert api.get(f"/api/management/v2/screens/{make_screen(other_fleet).pk}/loop/").status_code == 404
