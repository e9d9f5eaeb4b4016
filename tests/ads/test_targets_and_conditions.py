"""Broadcasts aimed at screen groups and at the whole fleet, conditions, data feeds (issue 13)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.ads.feeds import data_feed_refresh
from apps.ads.models import Ad, Broadcast, DataFeed
from apps.screens.models import ScreenGroup

from .helpers import HOST, media_url, url

pytestmark = pytest.mark.django_db

ADS, FEEDS = "/api/management/v2/ads/", "/api/management/v2/feeds/"
GROUPS = "/api/management/v2/screen_groups/"


def post(api, path, payload):
    return api.post(path, data=json.dumps(payload), content_type="application/json")


def patch(api, path, payload):
    return api.patch(path, data=json.dumps(payload), content_type="application/json")


def group_url(group) -> str:
    return f"{HOST}{GROUPS}{group.pk}/"


@pytest.fixture
def lobby(fleet, make_screen):
    group = ScreenGroup.objects.create(fleet=fleet, name="Lobby")
    group.screens.add(make_screen(fleet, "lobby-1"), make_screen(fleet, "lobby-2"))
    return group


@pytest.fixture
def feed_server(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    document = {"cities": {"Paris": {"temperature": 12.5}, "Lyon": {"temperature": 4}}}
    httpserver.expect_request("/weather.json").respond_with_handler(
        lambda request: __import__("werkzeug").Response(json.dumps(document), content_type="application/json")
    )
    return httpserver, document


def test_a_group_target_follows_membership_and_screens_is_the_resolved_union(
    api, fleet, lobby, make_screen, make_media
):
    media = make_media(fleet)
    solo = make_screen(fleet, "alone")
    response = post(
        api,
        ADS,
        {
            "name": "Lobby",
            "broadcasts": [{"media": media_url(media), "screen_groups": [group_url(lobby)], "screens": [url(solo)]}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["broadcasts"][0]["screen_groups"] == [group_url(lobby)]
    assert sorted(body["screens"]) == sorted(url(screen) for screen in [*lobby.screens.all(), solo])
    newcomer = make_screen(fleet, "lobby-3")
    lobby.screens.add(newcomer)  # no campaign edit
    assert url(newcomer) in api.get(body["url"]).json()["screens"]
    assert response.json()["broadcasts"][0]["id"] == api.get(body["url"]).json()["broadcasts"][0]["id"]


def test_the_whole_fleet(api, fleet, other_fleet, make_screen, make_media):
    screens = [make_screen(fleet, f"s{index}") for index in range(2)]
    make_screen(other_fleet, "not mine")
    response = post(
        api, ADS, {"name": "All", "broadcasts": [{"media": media_url(make_media(fleet)), "all_screens": True}]}
    )
    assert response.status_code == 201, response.content
    later = make_screen(fleet, "later")
    assert sorted(api.get(response.json()["url"]).json()["screens"]) == sorted(url(s) for s in [*screens, later])


def test_groups_and_the_fleet_are_for_cloned_campaigns_only(api, fleet, lobby, make_media):
    media = make_media(fleet)
    for kind in ("stretched",):
        response = post(
            api,
            ADS,
            {"name": kind, "multimedia_type": kind, "broadcasts": [{"media": media_url(media), "all_screens": True}]},
        )
        assert response.status_code == 400
        assert response.json()["broadcasts"][0]["message"].startswith("Screen groups and the whole fleet")
    assert not Ad.objects.exists()


def test_another_fleets_group_is_a_400(api, fleet, other_fleet, make_media):
    theirs = ScreenGroup.objects.create(fleet=other_fleet, name="Theirs")
    response = post(
        api, ADS, {"name": "x", "broadcasts": [{"media": media_url(make_media(fleet)), "screen_groups": [theirs.pk]}]}
    )
    assert response.status_code == 400
    assert response.json()["broadcasts"]["0"]["screen_groups"][0]["code"] == "does_not_exist"
    assert not Ad.objects.exists()


def test_a_broadcast_needs_a_target(api, fleet, make_media):
    ad = post(api, ADS, {"name": "host"}).json()
    response = post(api, "/api/management/v2/broadcasts/", {"ad": ad["url"], "media": media_url(make_media(fleet))})
    assert response.status_code == 400
    assert response.json() == {"screens": [{"message": "This field is required.", "code": "required"}]}


# --- share of voice at current membership ----------------------------------------------------------------


@pytest.fixture
def sov_fleet(fleet):
    from apps.accounts.models import AdvertiserType, Membership

    fleet.share_of_voice = True
    fleet.save()
    lessor = AdvertiserType.objects.get(pk=1)
    fleet.advertiser_types.add(lessor)
    Membership.objects.filter(fleet=fleet).update(advertiser_type=lessor)
    return fleet


def test_share_of_voice_counts_groups_at_current_membership(api, sov_fleet, make_screen, make_media):
    small = make_screen(sov_fleet, "small", allocated_times={"1": 10})
    big = make_screen(sov_fleet, "big", allocated_times={"1": 60})
    group = ScreenGroup.objects.create(fleet=sov_fleet, name="Big ones")
    group.screens.add(big)
    media = make_media(sov_fleet, display_time=30)
    response = post(
        api,
        ADS,
        {"name": "Sov", "author_origin": 1, "broadcasts": [{"media": media_url(media), "screen_groups": [group.pk]}]},
    )
    assert response.status_code == 201, response.content
    # Adding the small screen to the group would overflow its 10 s: refused, membership unchanged.
    response = patch(api, f"{HOST}{GROUPS}{group.pk}/", {"screens": [url(big), url(small)]})
    assert response.status_code == 400, response.content
    assert response.json()["__all__"]["code"] == "duration_error"
    assert set(response.json()["__all__"]["details"]["quota"]) == {str(small.pk)}
    assert list(group.screens.all()) == [big]
    response = patch(api, f"/api/management/v2/screens/{small.pk}/", {"groups": [group_url(group)]})
    assert response.status_code == 400
    assert list(group.screens.all()) == [big]
    # A second campaign on the group counts on the big screen too: 30 + 30 = 60 fits, a third does not.
    second = {
        "name": "Sov 2",
        "author_origin": 1,
        "broadcasts": [{"media": media_url(media), "screen_groups": [group.pk]}],
    }
    assert post(api, ADS, second).status_code == 201
    third = post(api, ADS, {**second, "name": "Sov 3"})
    assert third.status_code == 400 and third.json()["__all__"]["code"] == "quota_exceeded"
    assert Ad.objects.count() == 2


def test_share_of_voice_cannot_target_the_whole_fleet(api, sov_fleet, make_media):
    response = post(
        api,
        ADS,
        {
            "name": "Sov",
            "author_origin": 1,
            "broadcasts": [{"media": media_url(make_media(sov_fleet)), "all_screens": True}],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "broadcasts": [{"message": "A share-of-voice campaign cannot target the whole fleet.", "code": "invalid"}]
    }


# --- conditions -------------------------------------------------------------------------------------------


def test_conditions_are_stored_normalised(api, fleet, make_screen, make_media, feed_server):
    server, _ = feed_server
    feed = post(api, FEEDS, {"name": "Weather", "source_url": server.url_for("/weather.json")}).json()
    conditions = [
        {"type": "day_type", "operator": "ne", "value": "public_holiday"},
        {"type": "time_range", "operator": "between", "value": "22:00-02:00"},
        {"type": "feed", "feed": feed["url"], "path": "$.cities.{city}.temperature", "operator": "lt", "value": 10},
    ]
    response = post(
        api,
        ADS,
        {
            "name": "Cold nights",
            "broadcasts": [
                {"media": media_url(make_media(fleet)), "screens": [url(make_screen(fleet))], "conditions": conditions}
            ],
        },
    )
    assert response.status_code == 201, response.content
    stored = response.json()["broadcasts"][0]["conditions"]
    assert stored[:2] == conditions[:2]
    assert stored[2] == {**conditions[2], "feed": feed["id"]}


BAD_CONDITIONS = [
    ({"type": "weather", "operator": "gt", "value": "30"}, "unknown type 'weather'"),
    ({"type": "day_type", "operator": "gt", "value": "weekday"}, "the operator of a day_type is eq or ne"),
    ({"type": "day_type", "operator": "eq", "value": "sunday"}, "a day type is one of"),
    ({"type": "time_range", "operator": "between", "value": "25:00-26:00"}, "is not a time range"),
    ({"type": "time_range", "operator": "within", "value": "09:00-17:00"}, "the operator of a time_range"),
    ({"type": "feed", "feed": "FEED", "path": "$.cities[", "operator": "lt", "value": 1}, "does not parse"),
    ({"type": "feed", "feed": "FEED", "path": "cities.Paris", "operator": "lt", "value": 1}, "does not parse"),
    ({"type": "feed", "feed": "FEED", "path": "$.a.{street}", "operator": "lt", "value": 1}, "does not parse"),
    ({"type": "feed", "feed": "FEED", "path": "$.a", "operator": "approx", "value": 1}, "the operator of a feed"),
    ({"type": "feed", "feed": "FEED", "path": "$.a", "operator": "lt", "value": "cold"}, "lt compares numbers"),
    ({"type": "feed", "feed": "THEIRS", "path": "$.a", "operator": "lt", "value": 1}, "not one of the fleet's"),
    ({"type": "feed", "path": "$.a", "operator": "lt", "value": 1}, "'feed' is the id or the URL"),
    ({"type": "feed", "feed": 2**40, "path": "$.a", "operator": "lt", "value": 1}, "'feed' is the id or the URL"),
    ("weekday", "expected an object"),
]


@pytest.mark.parametrize(("condition", "message"), BAD_CONDITIONS)
def test_bad_conditions_are_400s_with_nothing_stored(
    api, fleet, other_fleet, make_screen, make_media, condition, message
):
    mine = DataFeed.objects.create(fleet=fleet, name="mine", source_url="https://example.com/a.json")
    theirs = DataFeed.objects.create(fleet=other_fleet, name="theirs", source_url="https://example.com/b.json")
    if isinstance(condition, dict) and "feed" in condition:
        condition = {
            **condition,
            "feed": {"FEED": mine.pk, "THEIRS": theirs.pk}.get(condition["feed"], condition["feed"]),
        }
    screen, media = make_screen(fleet), make_media(fleet)
    item = {"media": media_url(media), "screens": [url(screen)], "conditions": [condition]}
    response = post(api, ADS, {"name": "Bad", "broadcasts": [item]})
    assert response.status_code == 400, response.content
    assert message in response.json()["broadcasts"][0]["message"]
    assert not Ad.objects.exists()
    # The same through the broadcasts endpoint, and on a PATCH: nothing changes.
    ad = post(api, ADS, {"name": "Good", "broadcasts": [{"media": media_url(media), "screens": [url(screen)]}]}).json()
    response = post(api, "/api/management/v2/broadcasts/", {"ad": ad["url"], **item})
    assert response.status_code == 400 and message in response.json()["conditions"][0]["message"]
    response = patch(api, ad["broadcasts"][0]["url"], {"conditions": [condition]})
    assert response.status_code == 400
    response = patch(api, ad["url"], {"broadcasts": [item]})
    assert response.status_code == 400
    assert list(Broadcast.objects.values_list("conditions", flat=True)) == [[]]


# --- data feeds -------------------------------------------------------------------------------------------


def test_a_feed_is_fetched_on_creation_and_refreshed(api, fleet, feed_server):
    server, document = feed_server
    response = post(api, FEEDS, {"name": "Weather", "source_url": server.url_for("/weather.json"), "max_age": 900})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["data"] == document and body["fetched_at"] and body["max_age"] == 900 and body["refresh_time"] == 600
    feed = DataFeed.objects.get()
    document["cities"]["Paris"]["temperature"] = 8
    assert data_feed_refresh(feed_id=feed.pk) == "changed"
    assert data_feed_refresh(feed_id=feed.pk) == "fetched"  # idempotent
    feed.refresh_from_db()
    assert feed.data["cities"]["Paris"]["temperature"] == 8
    assert feed.next_fetch_at > timezone.now() + timedelta(seconds=590)


def test_a_failed_refresh_keeps_the_last_value(api, fleet, feed_server):
    server, document = feed_server
    feed = DataFeed.objects.get(
        pk=post(api, FEEDS, {"name": "W", "source_url": server.url_for("/weather.json")}).json()["id"]
    )
    fetched_at = feed.fetched_at
    server.clear()
    assert data_feed_refresh(feed_id=feed.pk) == "failed"
    feed.refresh_from_db()
    assert feed.data == document and feed.fetched_at == fetched_at and "HTTP 500" in feed.last_error


def test_feed_urls_go_through_the_ssrf_guard(api, fleet, httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = False
    response = post(api, FEEDS, {"name": "Inside", "source_url": httpserver.url_for("/weather.json")})
    assert response.status_code == 400
    assert "non-public address" in response.json()["source_url"][0]["message"]
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    httpserver.expect_request("/not-json").respond_with_data("<html>", content_type="text/html")
    response = post(api, FEEDS, {"name": "Html", "source_url": httpserver.url_for("/not-json")})
    assert (
        response.status_code == 400
        and response.json()["source_url"][0]["message"] == "The feed is not a JSON document."
    )
    assert not DataFeed.objects.exists()


def test_feeds_are_tenant_scoped(api, other_fleet):
    theirs = DataFeed.objects.create(fleet=other_fleet, name="theirs", source_url="https://example.com/b.json")
    assert api.get(f"{FEEDS}{theirs.pk}/").status_code == 404
    assert api.get(FEEDS).json()["count"] == 0


def test_the_admin_fetches_a_feed_through_the_service(client, django_user_model, fleet, feed_server, httpserver):
    server, document = feed_server
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    form = {"fleet": fleet.pk, "name": "Weather", "source_url": server.url_for("/weather.json")}
    form.update(refresh_time=600, max_age=3600)
    response = client.post("/admin/ads/datafeed/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    feed = DataFeed.objects.get()
    assert feed.data == document and feed.fetched_at is not None
    response = client.post("/admin/ads/datafeed/add/", {**form, "source_url": httpserver.url_for("/nothing")})
    assert response.status_code == 200 and b"The feed answered HTTP 500" in response.content
    assert DataFeed.objects.count() == 1
    assert client.get("/admin/ads/datafeed/").status_code == 200
