"""Reference 000 "Campaigns" and "Broadcasts": every example payload, as the reference writes it."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.ads.models import Ad, Broadcast
from apps.ads.services import fleet_today

from .helpers import HOST, media_url, url

pytestmark = pytest.mark.django_db

ADS, BROADCASTS = "/api/management/v2/ads/", "/api/management/v2/broadcasts/"


@pytest.fixture
def screens(fleet, make_screen):
    return [make_screen(fleet, f"screen{i}") for i in range(1, 5)]


@pytest.fixture
def medias(fleet, make_media):
    return [make_media(fleet, name="media1"), make_media(fleet, name="media2")]


def post(api, path, payload):
    return api.post(path, data=json.dumps(payload), content_type="application/json")


def patch(api, path, payload):
    return api.patch(path, data=json.dumps(payload), content_type="application/json")


def broadcast_map(ad_id):
    """{media name: sorted screen names} of a campaign's broadcasts."""
    broadcasts = Broadcast.objects.filter(ad_id=ad_id).select_related("media").prefetch_related("screens")
    return {b.media.name: sorted(s.name for s in b.screens.all()) for b in broadcasts}


def test_single_content_campaign(api, screens, medias):
    payload = {
        "name": "Single content campaign",
        "campaign_startdate": "2017-08-01",
        "broadcasts": [{"media": media_url(medias[0]), "screens": [url(screens[0]), url(screens[1])]}],
    }
    response = post(api, ADS, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == f"{HOST}{ADS}{body['id']}/"
    assert (body["multimedia_type"], body["status"], body["campaign_type"]) == ("cloned", "active", "standard")
    assert (body["main_loop"], body["on_demand"], body["campaign_enddate"]) == (True, False, None)
    assert sorted(body["screens"]) == sorted([url(screens[0]), url(screens[1])])
    broadcast = body["broadcasts"][0]
    assert broadcast["media"] == media_url(medias[0])
    assert broadcast["screens"] == [url(screens[0]), url(screens[1])]
    assert (broadcast["order"], broadcast["display_periods"]) == (0, {})


def test_multimedia_campaign(api, screens, medias):
    payload = {
        "name": "Campaign with 2 media",
        "campaign_startdate": "2017-08-01",
        "multimedia_type": "cloned",
        "broadcasts": [
            {"media": media_url(medias[0]), "screens": [url(screens[0]), url(screens[1])]},
            {"media": media_url(medias[1]), "screens": [url(screens[0]), url(screens[1])]},
        ],
    }
    response = post(api, ADS, payload)
    assert response.status_code == 201, response.content
    assert broadcast_map(response.json()["id"]) == {"media1": ["screen1", "screen2"], "media2": ["screen1", "screen2"]}


def test_update_moves_screen2_to_media2_and_adds_screen4(api, screens, medias):
    """The reference's "Update a campaign", as written: a cloned campaign whose broadcasts have different
    screens (each media of a cloned campaign is a campaign of its own); the PATCH moves screen2 to media2
    and gives screen4 both."""
    s1, s2, s3, s4 = screens
    created = post(
        api,
        ADS,
        {
            "name": "Example name",
            "multimedia_type": "cloned",
            "broadcasts": [
                {"screens": [url(s1), url(s2)], "media": media_url(medias[0])},
                {"screens": [url(s3)], "media": media_url(medias[1])},
            ],
        },
    )
    assert created.status_code == 201, created.content
    payload = {
        "broadcasts": [
            {"screens": [url(s1), url(s4)], "media": media_url(medias[0])},
            {"screens": [url(s2), url(s3), url(s4)], "media": media_url(medias[1])},
        ]
    }
    response = patch(api, created.json()["url"], payload)
    assert response.status_code == 200, response.content
    assert response.json()["multimedia_type"] == "cloned"
    assert broadcast_map(created.json()["id"]) == {
        "media1": ["screen1", "screen4"],
        "media2": ["screen2", "screen3", "screen4"],
    }
    assert sorted(response.json()["screens"]) == sorted(url(s) for s in screens)


def test_playlist_needs_the_same_screens_everywhere_cloned_does_not(api, screens, medias):
    s1, s2, s3, _ = screens
    for kind, expected in (("playlist", 400), ("cloned", 201)):
        response = post(
            api,
            ADS,
            {
                "name": kind,
                "campaign_startdate": "2017-08-01",
                "multimedia_type": kind,
                "broadcasts": [
                    {"screens": [url(s1), url(s2)], "media": media_url(medias[0])},
                    {"screens": [url(s3)], "media": media_url(medias[1])},
                ],
            },
        )
        assert response.status_code == expected, response.content
        if kind == "playlist":
            assert response.json() == {
                "broadcasts": [
                    {"message": "All broadcasts of a playlist campaign must have the same screens.", "code": "invalid"}
                ]
            }
            assert not Ad.objects.exists()
    assert broadcast_map(Ad.objects.get().pk) == {"media1": ["screen1", "screen2"], "media2": ["screen3"]}
    Ad.objects.all().delete()
    response = post(
        api,
        ADS,
        {
            "name": "s",
            "campaign_startdate": "2017-08-01",
            "multimedia_type": "stretched",
            "broadcasts": [
                {"screens": [url(s1)], "media": media_url(medias[0])},
                {"screens": [url(s1)], "media": media_url(medias[1])},
            ],
        },
    )
    assert response.status_code == 400
    assert not Ad.objects.exists()


def test_unchanged_broadcasts_keep_their_id(api, screens, medias):
    s1, s2, *_ = screens
    ad = post(
        api,
        ADS,
        {
            "name": "Keep",
            "campaign_startdate": "2017-08-01",
            "multimedia_type": "playlist",
            "broadcasts": [
                {"screens": [url(s1), url(s2)], "media": media_url(medias[0])},
                {"screens": [url(s1), url(s2)], "media": media_url(medias[1])},
            ],
        },
    ).json()
    ids = {b["media"]: b["id"] for b in ad["broadcasts"]}
    response = patch(
        api,
        ad["url"],
        {
            "broadcasts": [
                {
                    "screens": [url(s2), url(s1)],
                    "media": media_url(medias[1]),
                    "display_periods": {"1": [["08:00", "12:00"]]},
                },
                {"screens": [url(s2), url(s1)], "media": media_url(medias[0])},
            ]
        },
    )
    assert response.status_code == 200, response.content
    after = {b["media"]: b for b in response.json()["broadcasts"]}
    assert {media: b["id"] for media, b in after.items()} == ids
    assert after[media_url(medias[1])]["order"] == 0 and after[media_url(medias[1])]["display_periods"] == {
        "1": [["08:00", "12:00"]]
    }
    assert after[media_url(medias[0])]["screens"] == [url(s2), url(s1)]


def test_solo_and_event_campaigns(api, screens, medias):
    for kind in ("solo", "event"):
        payload = {
            "name": "Campagne média unique",
            "campaign_startdate": "2017-08-01",
            "campaign_type": kind,
            "broadcasts": [{"media": media_url(medias[0]), "screens": [url(screens[0])]}],
        }
        response = post(api, ADS, payload)
        assert response.status_code == 201
        assert response.json()["campaign_type"] == kind
    payload["campaign_type"] = "solo"
    payload["broadcasts"].append({"media": media_url(medias[1]), "screens": [url(screens[0])]})
    assert post(api, ADS, payload).status_code == 400


def test_campaign_without_broadcasts_then_patch_them(api, screens, medias):
    ad = post(api, ADS, {"name": "Later", "campaign_startdate": "2017-08-01"}).json()
    assert ad["broadcasts"] == [] and ad["screens"] == []
    response = patch(api, ad["url"], {"broadcasts": [{"media": media_url(medias[0]), "screens": [url(screens[2])]}]})
    assert response.json()["screens"] == [url(screens[2])]


def test_html_campaign(api, screens, fleet):
    """Verbatim: the example gives no campaign_startdate; the campaign starts today (the fleet's day)."""
    payload = {
        "name": "Mon site",
        "broadcasts": [{"screens": [url(screens[0]), url(screens[1])]}],
        "adupdater": {
            "category": "screenshot",
            "refresh_time": 3600,
            "parameters": {"url": "https://example.com", "geometry": [1024, 768], "duration": 20},
        },
    }
    response = post(api, ADS, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["adupdater"] == payload["adupdater"] and body["broadcasts"][0]["media"] is None
    assert body["campaign_startdate"] == str(fleet_today(fleet)) and body["campaign_enddate"] is None


def test_advanced_parameters(api, screens, medias):
    ad = post(api, ADS, {"name": "On demand", "campaign_startdate": "2017-08-01"}).json()
    response = patch(api, ad["url"], {"main_loop": False, "on_demand": True})
    assert (response.json()["main_loop"], response.json()["on_demand"]) == (False, True)


def test_screens_loop_indexes(api, screens, medias):
    """Verbatim, down to the reference's own host, its URLs without a trailing slash, its `media/` path
    and its missing campaign_startdate."""
    xxx, yyy = screens[0], screens[1]
    base = "https://manager.cenareo.com/api/management/v2"
    payload = {
        "name": "My campaign",
        "broadcasts": [
            {
                "screens_loop_indexes": {
                    f"{base}/screens/{xxx.pk}": [1, 5, 10],
                    f"{base}/screens/{yyy.pk}": [0, 4, 8],
                },
                "screens": [f"{base}/screens/{xxx.pk}", f"{base}/screens/{yyy.pk}"],
                "media": f"{base}/media/{medias[0].public_id}",
            }
        ],
    }
    response = post(api, ADS, payload)
    assert response.status_code == 201, response.content
    assert response.json()["broadcasts"][0]["screens_loop_indexes"] == {str(xxx.pk): [1, 5, 10], str(yyy.pk): [0, 4, 8]}


def test_delete_campaign_removes_its_broadcasts(api, screens, medias):
    ad = post(
        api,
        ADS,
        {
            "name": "Gone",
            "campaign_startdate": "2017-08-01",
            "broadcasts": [{"media": media_url(medias[0]), "screens": [url(screens[0])]}],
        },
    ).json()
    response = api.delete(ad["url"], content_type="application/json")
    assert response.status_code == 204
    assert not Ad.objects.exists() and not Broadcast.objects.exists()


def test_current_filter_example(api, fleet):
    today = timezone.now().date()
    for name, start, end in [
        ("Campaign A", today - timedelta(days=3), today + timedelta(days=9)),
        ("Campaign B", today - timedelta(days=7), None),
        ("Ended", today - timedelta(days=20), today - timedelta(days=1)),
        ("Future", today + timedelta(days=1), None),
        ("Ends today", today - timedelta(days=1), today),
    ]:
        Ad.objects.create(fleet=fleet, name=name, campaign_startdate=start, campaign_enddate=end)
    body = api.get(f"{ADS}?current=true&fields=id,name,campaign_startdate,campaign_enddate").json()
    assert body["count"] == 3
    assert sorted(item["name"] for item in body["results"]) == ["Campaign A", "Campaign B", "Ends today"]
    for item in body["results"]:  # as the reference's example response: `url` first, then the fields asked
        assert list(item) == ["url", "id", "name", "campaign_startdate", "campaign_enddate"]
        assert item["url"] == f"{HOST}{ADS}{item['id']}/"
    # "Use current=false (or omit the parameter) to list all campaigns without this restriction."
    assert api.get(f"{ADS}?current=false").json()["count"] == 5
    assert api.get(ADS).json()["count"] == 5


def test_search_is_exact(api, screens, medias, fleet):
    from apps.screens.models import ScreenGroup

    group = ScreenGroup.objects.create(fleet=fleet, name="Lobby")
    group.screens.add(screens[1])
    ad = post(
        api,
        ADS,
        {
            "name": "Winter",
            "campaign_startdate": "2017-08-01",
            "broadcasts": [{"media": media_url(medias[0]), "screens": [url(screens[1])]}],
        },
    ).json()
    post(api, ADS, {"name": "Winter sale", "campaign_startdate": "2017-08-01"})

    def found(term):
        return sorted(item["name"] for item in api.get(ADS, {"search": term}).json()["results"])

    assert found("Winter") == ["Winter"]
    assert found("Wint") == []
    assert found(ad["id"]) == ["Winter"]
    assert found("screen2") == ["Winter"]
    assert found(screens[1].slug) == ["Winter"]
    assert found("Lobby") == ["Winter"]


# --- broadcasts ---------------------------------------------------------------------------------------


def test_broadcast_crud_and_search(api, screens, medias):
    ad = post(api, ADS, {"name": "Host", "campaign_startdate": "2017-08-01", "multimedia_type": "stretched"}).json()
    response = post(
        api, BROADCASTS, {"ad": ad["url"], "media": media_url(medias[0]), "screens": [url(screens[0]), url(screens[1])]}
    )
    assert response.status_code == 201, response.content
    broadcast = response.json()
    reference = {"url", "id", "ad", "screens", "order", "display_periods", "media", "screens_loop_indexes"}
    assert set(broadcast) == reference | {"screen_groups", "all_screens", "conditions"}  # the reference's, and targets
    assert (broadcast["screen_groups"], broadcast["all_screens"], broadcast["conditions"]) == ([], False, [])
    assert (broadcast["ad"], broadcast["order"], broadcast["display_periods"]) == (ad["url"], 0, {})
    assert api.get(broadcast["url"]).json()["id"] == broadcast["id"]
    response = patch(api, broadcast["url"], {"screens": [url(screens[2]), url(screens[3])]})
    assert response.status_code == 200
    assert response.json()["screens"] == [url(screens[2]), url(screens[3])]
    assert [b["id"] for b in api.get(BROADCASTS, {"search": broadcast["id"]}).json()["results"]] == [broadcast["id"]]
    assert [b["id"] for b in api.get(BROADCASTS, {"search": ad["id"]}).json()["results"]] == [broadcast["id"]]
    assert api.get(BROADCASTS, {"search": broadcast["id"][:8]}).json()["count"] == 0
    assert api.delete(broadcast["url"], content_type="application/json").status_code == 204
    assert not Broadcast.objects.exists()


def test_dates_are_dates(api):
    response = post(
        api, ADS, {"name": "Dates", "campaign_startdate": str(date(2026, 1, 1)), "campaign_enddate": "2026-01-31"}
    )
    assert response.json()["campaign_enddate"] == "2026-01-31"
