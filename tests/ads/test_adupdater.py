"""HTML screenshot campaigns (`adupdater`): a real local page, captured by Chromium, played by a player."""

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from werkzeug import Response

from apps.ads.adupdater import adupdater_due
from apps.ads.models import Ad
from apps.ads.tasks import adupdater_screenshots_due
from apps.media.models import Media
from apps.media.tasks import refresh_due_url_media

ADS = "/api/management/v2/ads/"
RED, BLUE = (220, 20, 20), (20, 40, 220)


@pytest.fixture
def page(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True  # the page's server is on 127.0.0.1
    state = {"colour": RED, "status": 200}

    def handle(request):
        html = f"<html><body style='margin:0;background:rgb{state['colour']}'>{request.path}</body></html>"
        return Response(html, status=state["status"], content_type="text/html")

    httpserver.expect_request("/news").respond_with_handler(handle)
    httpserver.expect_request("/weather").respond_with_handler(handle)
    state["url"] = httpserver.url_for("/news")
    return state


def html_campaign(api, screen, url, geometry=(320, 240), duration=7, refresh=120):
    payload = {
        "name": "Newsroom",
        "campaign_startdate": "2020-01-01",
        "adupdater": {
            "category": "screenshot",
            "refresh_time": refresh,
            "parameters": {"url": url, "geometry": list(geometry), "duration": duration},
        },
        "broadcasts": [{"screens": [str(screen.pk)]}],
    }
    return api.post(ADS, data=json.dumps(payload), content_type="application/json")


def colour(media):
    with media.file.open("rb") as file, Image.open(io.BytesIO(file.read())) as image:
        return image.convert("RGB").getpixel((5, 5))


@pytest.mark.django_db
def test_an_html_campaign_plays_its_screenshot_and_refreshes_it(
    api, paired, page, django_capture_on_commit_callbacks
):  # fmt: skip
    device = paired()
    with django_capture_on_commit_callbacks(execute=True):
        response = html_campaign(api, device.screen, page["url"])
    assert response.status_code == 201, response.content
    ad = Ad.objects.get(pk=response.json()["id"])
    media = ad.broadcasts.get().media
    assert (media.type, media.width, media.height, media.display_time) == ("picture", 320, 240, 7)
    assert media.refresh_time == 2 and colour(media) == RED  # 120 s: every 2 minutes

    items = device.get("/api/device/playlist").json()["playlist"]["items"]
    assert [(item["content_id"], item["duration"], item["file_hash"]) for item in items] == [
        (media.public_id, 7, media.checksum)
    ]

    page["colour"] = BLUE  # the page changes; its screenshot is due
    Media.objects.filter(pk=media.pk).update(next_refresh_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):  # players hear of a change once it is committed
        assert refresh_due_url_media() == 1
    media.refresh_from_db()
    assert colour(media) == BLUE
    assert device.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True
    items = device.get("/api/device/playlist").json()["playlist"]["items"]
    assert [(item["content_id"], item["file_hash"]) for item in items] == [(media.public_id, media.checksum)]

    page["status"] = 503  # the page breaks: the last good screenshot keeps playing
    Media.objects.filter(pk=media.pk).update(next_refresh_at=timezone.now() - timedelta(seconds=1))
    refresh_due_url_media()
    media.refresh_from_db()
    assert colour(media) == BLUE and media.last_error == "The page answered HTTP 503."
    assert adupdater_due() == []  # its screenshot still matches the campaign


@pytest.mark.django_db
def test_editing_an_html_campaign_keeps_or_renews_its_screenshot(
    api, paired, page, httpserver, django_capture_on_commit_callbacks
):  # fmt: skip
    device = paired()
    with django_capture_on_commit_callbacks(execute=True):
        created = html_campaign(api, device.screen, page["url"]).json()
    ad = Ad.objects.get(pk=created["id"])
    broadcast = ad.broadcasts.get()
    shot = broadcast.media

    # A client sends back what it read (the screenshot as the broadcast's media), or no media at all.
    echoed = api.patch(f"{ADS}{ad.pk}/", data=json.dumps(created), content_type="application/json")
    assert echoed.status_code == 200, echoed.content
    renamed = api.patch(
        f"{ADS}{ad.pk}/",
        data=json.dumps({"name": "Newsroom 2", "broadcasts": [{"screens": [str(device.screen.pk)]}]}),
        content_type="application/json",
    )
    assert renamed.status_code == 200, renamed.content
    assert ad.broadcasts.get().pk == broadcast.pk and ad.broadcasts.get().media_id == shot.pk

    # Another page: a new screenshot replaces the old one, which goes away.
    adupdater = {**created["adupdater"], "parameters": {**created["adupdater"]["parameters"]}}
    adupdater["parameters"]["url"] = httpserver.url_for("/weather")
    with django_capture_on_commit_callbacks(execute=True):
        moved = api.patch(f"{ADS}{ad.pk}/", data=json.dumps({"adupdater": adupdater}), content_type="application/json")
    assert moved.status_code == 200, moved.content
    new = ad.broadcasts.get().media
    assert new.pk != shot.pk and new.metadata["capture"]["url"] == httpserver.url_for("/weather")
    assert not Media.objects.filter(pk=shot.pk).exists()


@pytest.mark.django_db
def test_another_campaign_s_media_is_still_refused(api, paired, page, make_media, fleet):
    device = paired()
    response = html_campaign(api, device.screen, page["url"])
    ad_id = response.json()["id"]
    other = make_media(fleet)
    patched = api.patch(
        f"{ADS}{ad_id}/",
        data=json.dumps({"broadcasts": [{"media": other.public_id, "screens": [str(device.screen.pk)]}]}),
        content_type="application/json",
    )
    assert patched.status_code == 400
    assert "has no media" in patched.json()["broadcasts"][0]["message"]


@pytest.mark.django_db
def test_a_page_that_cannot_be_captured_is_recorded_and_tried_again_by_the_beat(
    api, paired, page, settings, django_capture_on_commit_callbacks
):  # fmt: skip
    device = paired()
    page["status"] = 500
    with django_capture_on_commit_callbacks(execute=True):
        response = html_campaign(api, device.screen, page["url"])
    assert response.status_code == 201
    ad = Ad.objects.get(pk=response.json()["id"])
    assert ad.broadcasts.get().media is None
    assert api.get(f"{ADS}{ad.pk}/").json()["adupdater_error"] == "The page answered HTTP 500."
    assert adupdater_due() == [str(ad.pk)]

    page["status"] = 200
    assert adupdater_screenshots_due() == 1
    ad.refresh_from_db()
    assert ad.adupdater_error == "" and ad.broadcasts.get().media is not None
    assert adupdater_due() == []
