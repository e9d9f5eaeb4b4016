"""Web pages, YouTube videos and live streams in the loop and the device playlist like any media: their
display time as duration, what a player needs to show them (URL, video id, a web page's capture as a
picture to download), share of voice, proof of play, and a query count that does not grow with them."""

import hashlib
import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import AdvertiserType, Membership
from apps.ads.models import Ad
from apps.devices.models import Device
from apps.devices.services import download_signature
from apps.media.live import media_create_live
from apps.stats.models import PlayEvent
from tests.conftest import cache_clear_own

from .conftest import HOST

pytestmark = pytest.mark.django_db

HLS = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nsegment0.ts\n"


@pytest.fixture
def live(fleet, httpserver, settings):
    """One media of each live type, made by the services against a real local server."""
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.SIGNAGE_CAPTURE_GEOMETRY = (320, 200)
    httpserver.expect_request("/board").respond_with_data(
        "<html><body style='background:#1e8'>Departures</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/live/index.m3u8").respond_with_data(HLS, content_type="application/x-mpegURL")

    def make(kind, display_time=15, target=fleet):
        source = {"web": {"url": httpserver.url_for("/board")}, "youtube": {"youtube_id": "aqz-KE-bpKQ"}}
        return media_create_live(
            fleet=target,
            kind=kind,
            display_time=display_time,
            **source.get(kind, {"url": httpserver.url_for("/live/index.m3u8")}),
        )

    return make


def add_campaign(api, screen, medias, **values):
    payload = {
        "name": values.pop("name", "Live"),
        "campaign_startdate": "2020-01-01",
        "broadcasts": [{"media": f"{HOST}/medias/{m.public_id}/", "screens": [str(screen.pk)]} for m in medias],
        **values,
    }
    return api.post(f"{HOST}/ads/", data=json.dumps(payload), content_type="application/json")


def test_the_playlist_gives_each_live_type_what_a_player_needs(paired, api, fleet, live, make_media):
    client = paired()
    web, video, stream = live("web", 20), live("youtube", 45), live("livestream", 60)
    picture = make_media(fleet, display_time=7)
    assert add_campaign(api, client.screen, [web, video, stream, picture]).status_code == 201
    payload = client.get("/api/device/playlist").json()
    items = {item["content_id"]: item for item in payload["playlist"]["items"]}
    assert set(items) == {web.public_id, video.public_id, stream.public_id, picture.public_id}

    page = items[web.public_id]
    assert (page["type"], page["url"], page["duration"], page["fallback"]) == ("web", web.source_url, 20, "picture")
    assert page["file_hash"] == web.checksum and page["download_url"]
    youtube = items[video.public_id]
    assert (youtube["type"], youtube["youtube_id"], youtube["duration"]) == ("youtube", "aqz-KE-bpKQ", 45)
    assert (youtube["url"], youtube["download_url"], youtube["file_hash"], youtube["fallback"]) == (
        "https://www.youtube.com/watch?v=aqz-KE-bpKQ",
        None,
        None,
        None,
    )
    live_stream = items[stream.public_id]
    assert (live_stream["type"], live_stream["url"], live_stream["duration"]) == ("livestream", stream.source_url, 60)
    assert (live_stream["download_url"], live_stream["file_hash"], live_stream["fallback"]) == (None, None, None)
    # Pictures, videos and PDFs keep their items as they were: no key of the live types.
    assert not {"url", "fallback", "youtube_id"} & set(items[picture.public_id])

    # Only what has a file is downloaded: the web page's capture (a PNG, checked by its hash) and the picture.
    downloads = {content["content_id"]: content for content in payload["content_to_download"]}
    assert set(downloads) == {web.public_id, picture.public_id}
    capture = client.get(downloads[web.public_id]["download_url"])
    assert capture.status_code == 200 and capture["Content-Type"] == "image/png"
    assert hashlib.sha256(b"".join(capture.streaming_content)).hexdigest() == page["file_hash"]
    # A YouTube video or a stream has nothing to download, even with a well-signed URL.
    device = Device.objects.get(screen=client.screen)
    expires = int(timezone.now().timestamp()) + 600
    for media in (video, stream):
        signature = download_signature(device.pk, media.pk, expires)
        query = f"device={device.pk}&expires={expires}&signature={signature}"
        assert client.get(f"/api/device/content/{media.public_id}/download?{query}").status_code == 404

    # The loop of the screen shows them like any media, with their display times.
    loop = api.get(f"{HOST}/screens/{client.screen.pk}/loop/").json()
    durations = {entry["media_id"]: entry["duration"] for entry in loop["entries"]}
    assert durations == {web.public_id: 20, video.public_id: 45, stream.public_id: 60, picture.public_id: 7}


def test_a_web_page_edit_reaches_players_from_their_next_fetch(
    paired, api, fleet, live, django_capture_on_commit_callbacks
):
    client = paired()
    video = live("youtube", 30)
    assert add_campaign(api, client.screen, [video]).status_code == 201
    etag = client.get("/api/device/playlist").json()["etag"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{HOST}/medias/{video.public_id}/", {"display_time": 12}, format="json")
    assert response.status_code == 200
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True
    payload = client.get("/api/device/playlist").json()
    assert payload["etag"] != etag and payload["playlist"]["items"][0]["duration"] == 12


def test_live_content_is_counted_by_share_of_voice(api, fleet, make_screen, live):
    fleet.share_of_voice = True
    fleet.save()
    lessor = AdvertiserType.objects.get(pk=1)
    fleet.advertiser_types.add(lessor)
    Membership.objects.filter(fleet=fleet).update(advertiser_type=lessor)
    screen = make_screen(fleet, "Quota", allocated_times={"1": 60})
    long_stream, short_video = live("livestream", 50), live("youtube", 20)
    assert add_campaign(api, screen, [long_stream], author_origin=1).status_code == 201
    refused = add_campaign(api, screen, [short_video], author_origin=1, name="Over")
    assert refused.status_code == 400 and refused.json()["__all__"]["code"] == "quota_exceeded"
    assert refused.json()["__all__"]["details"]["quota"][str(screen.pk)]["duration"] == 70


def test_displays_of_live_content_are_proof_of_play(paired, api, live):
    client = paired()
    video, stream = live("youtube", 30), live("livestream", 30)
    ad = add_campaign(api, client.screen, [video, stream]).json()
    broadcasts = {b["media"].rstrip("/").rsplit("/", 1)[-1]: b["id"] for b in ad["broadcasts"]}
    started = (timezone.now() - timedelta(minutes=5)).isoformat()
    events = [
        {"id": str(uuid.uuid4()), "media": m.public_id, "ad": ad["id"], "broadcast": broadcasts[m.public_id],
         "started_at": started, "duration": 30}
        for m in (video, stream)
    ]  # fmt: skip
    response = client.post("/api/device/stats", {"events": events}, format="json")
    assert response.status_code == 200, response.content
    stored = {(e.media_type, e.media_id, e.duration) for e in PlayEvent.objects.all()}
    assert stored == {("youtube", video.pk, 30), ("livestream", stream.pk, 30)}


def test_another_fleets_live_content_cannot_be_put_in_a_campaign(api, fleet, other_fleet, make_screen, live):
    theirs = live("youtube", 30, target=other_fleet)
    response = add_campaign(api, make_screen(fleet), [theirs])
    assert response.status_code == 400, response.content
    assert not Ad.objects.exists()


def _playlist_queries(client) -> tuple[int, int]:
    cache_clear_own()  # a cold cache: the playlist is built
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/device/playlist")
    assert response.status_code == 200
    return len(captured), len(response.json()["playlist"]["items"])


@pytest.mark.parametrize("count", [1, 12])
def test_playlist_queries_do_not_grow_with_live_content(paired, api, live, count):
    client = paired()
    medias = [live(("youtube", "livestream")[index % 2], 10) for index in range(count)]
    assert add_campaign(api, client.screen, medias).status_code == 201
    queries, items = _playlist_queries(client)
    assert items == count
    assert queries == PINNED, queries


PINNED = 4  # the same with 1 and 12 live media: none is read on its own (the new ETag is written behind)
