"""Players' downloads on the lean path (lean.download): once the full view has served a media (and remembered
its file), the same checks from Redis in one round trip and no SQL, the same response; anything else, and
anything that may have changed, goes to the full view."""

import os
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices import services
from apps.devices.lean import LeanDeviceWSGI
from apps.devices.models import Device
from apps.media.models import Media

from .conftest import HOST, RedisRoundTrips
from .test_lean_wsgi import Passed, call

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)"),
]

COMPARED = ("Content-Type", "Content-Length", "Content-Disposition", "ETag", "Accept-Ranges")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def urls(warm):
    """The player's signed download URLs (content id -> URL path and query)."""
    contents = warm.get("/api/device/playlist").json()["content_to_download"]
    return {content["content_id"]: content["download_url"].removeprefix("http://testserver") for content in contents}


def counted(client, url, monkeypatch, **extra):
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
        body = body_of(response)
    return response, body, len(queries), trips.count


def test_after_the_first_download_the_same_media_is_served_with_no_sql_and_one_round_trip(warm, urls, monkeypatch):
    content_id, url = next(iter(urls.items()))
    media = Media.objects.get(pk=int(content_id.rsplit("-", 1)[1]))
    full, full_body, full_queries, _ = counted(warm, url, monkeypatch)
    assert full.status_code == 200 and full_queries > 0
    lean, lean_body, queries, trips = counted(warm, url, monkeypatch)
    assert (lean.status_code, queries, trips) == (200, 0, 1)
    with media.file.open("rb") as handle:
        assert lean_body == full_body == handle.read()
    assert {name: lean.get(name) for name in COMPARED} == {name: full.get(name) for name in COMPARED}
    assert lean["ETag"] == f'"{media.checksum}"'


def test_another_player_downloads_the_remembered_media_leanly_only_with_its_own_signature(
    warm, urls, paired, fleet, make_screen, monkeypatch
):
    content_id, url = next(iter(urls.items()))
    assert warm.get(url).status_code == 200  # remembered
    other = paired(screen=warm.screen, uuid="player-second")
    other.post("/api/device/heartbeat", {}, format="json")  # its record (and its screen) in Redis
    theirs = {
        c["content_id"]: c["download_url"] for c in other.get("/api/device/playlist").json()["content_to_download"]
    }
    response, _, queries, trips = counted(other, theirs[content_id], monkeypatch)
    assert (response.status_code, queries, trips) == (200, 0, 1)
    # The first player's URL with the second player's id: the signature does not match; the full view refuses.
    forged = url.replace(
        f"device={Device.objects.get(uuid='player-abc123').pk}", f"device={Device.objects.get(uuid='player-second').pk}"
    )
    response, _, queries, _ = counted(other, forged, monkeypatch)
    assert response.status_code == 403 and response.json()["code"] == "invalid_signature"


def test_below_django_the_file_goes_to_the_servers_file_wrapper(warm, urls):
    content_id, url = next(iter(urls.items()))
    assert warm.get(url).status_code == 200
    django_app, wrapped = Passed(), []

    class FileWrapper:
        def __init__(self, handle, block_size):
            wrapped.append(block_size)
            self.handle = handle

        def __iter__(self):
            return iter(lambda: self.handle.read(8192), b"")

    path, _, query = url.partition("?")
    with CaptureQueriesContext(connection) as queries:
        answer = call(
            LeanDeviceWSGI(django_app), "GET", path, token="", QUERY_STRING=query, **{"wsgi.file_wrapper": FileWrapper}
        )
    media = Media.objects.get(pk=int(content_id.rsplit("-", 1)[1]))
    with media.file.open("rb") as handle:
        assert (answer["status"], answer["body"], len(queries), django_app.calls) == ("200 OK", handle.read(), 0, [])
    assert wrapped and answer["headers"]["Content-Length"] == str(media.size)


def test_what_the_lean_path_does_not_serve_goes_to_the_full_view(warm, urls, make_media, fleet, monkeypatch):
    content_id, url = next(iter(urls.items()))
    assert warm.get(url).status_code == 200
    device = Device.objects.get()
    # A range: the full view's 206.
    response, _, queries, _ = counted(warm, url, monkeypatch, HTTP_RANGE="bytes=0-9")
    assert (response.status_code, response["Content-Range"].startswith("bytes 0-9/")) == (206, True) and queries > 0
    # Expired, tampered with, or a media the screen does not need (though signed for this player): refused.
    expired = services.download_url(
        device.pk, {"content_id": content_id, "media_id": int(content_id.rsplit("-", 1)[1])}, int(time.time()) - 5
    )
    assert warm.get(expired).json()["code"] == "expired"
    assert warm.get(url.replace("signature=", "signature=x")).status_code == 403
    stranger = make_media(fleet, name="not on this screen")
    unneeded = services.download_url(
        device.pk, {"content_id": stranger.public_id, "media_id": stranger.pk}, int(time.time()) + 60
    )
    assert warm.get(unneeded).status_code == 404
    # A device id in non-ASCII digits is no number: the full view's 404, never a 500.
    assert warm.get(url.replace(f"device={device.pk}", "device=\u00b2")).status_code == 404


def test_a_media_taken_off_the_screen_is_no_longer_served(
    warm, urls, api, make_media, fleet, django_capture_on_commit_callbacks
):
    _content_id, url = next(iter(urls.items()))
    assert warm.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the task rebuilds the screen's state
        for ad in api.get(f"{HOST}/ads/").json()["results"]:
            assert api.delete(ad["url"]).status_code == 204
    assert warm.get(url).status_code == 404


def test_a_replaced_file_and_a_moved_player_go_the_full_way(
    warm, urls, make_screen, fleet, monkeypatch, django_capture_on_commit_callbacks
):
    content_id, url = next(iter(urls.items()))
    assert warm.get(url).status_code == 200
    media = Media.objects.get(pk=int(content_id.rsplit("-", 1)[1]))
    with django_capture_on_commit_callbacks(execute=True):
        media.save()  # its file may have changed: its facts are forgotten
    response, _, queries, _ = counted(warm, url, monkeypatch)
    assert response.status_code == 200 and queries > 0
    response, _, queries, _ = counted(warm, url, monkeypatch)
    assert queries == 0  # remembered again
    device = Device.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        device.screen = make_screen(fleet, "Elsewhere")
        device.save()  # its record and its screen key are forgotten
    assert warm.get(url).status_code == 404  # the full view: its new screen does not need the media


def test_behind_nginx_a_checked_download_is_handed_to_the_web_server(warm, urls, settings, monkeypatch):
    settings.SIGNAGE_DOWNLOAD_ACCEL_REDIRECT = "/protected-media/"
    content_id, url = next(iter(urls.items()))
    media = Media.objects.get(pk=int(content_id.rsplit("-", 1)[1]))
    for extra in ({}, {}, {"HTTP_RANGE": "bytes=0-9"}):  # the full view, the lean path, a range (nginx's)
        response = warm.get(url, **extra)
        assert (response.status_code, body_of(response)) == (200, b"")
        assert response["X-Accel-Redirect"] == f"/protected-media/{media.file.name}"
        assert response["Content-Type"] == media.mime_type and response["ETag"] == f'"{media.checksum}"'
    assert warm.get(url.replace("signature=", "signature=x")).status_code == 403  # checked first
