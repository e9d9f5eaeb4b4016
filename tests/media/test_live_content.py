"""Reference 002's content types through `POST medias/`: web pages (captured by Debian's Chromium against a
real local HTTP server), YouTube videos by id, HLS live streams (their playlist fetched from a real local
server). Every bad input is a 400 on its field, with nothing stored."""

import io

import pytest
from PIL import Image

from apps.accounts.services import default_external_storage
from apps.media.models import Media
from apps.media.services import media_refresh, media_refresh_due

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/medias/"
GREEN = (30, 170, 60)
HLS = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n"


@pytest.fixture(autouse=True)
def _small_captures(settings):
    settings.SIGNAGE_CAPTURE_GEOMETRY = (320, 200)
    settings.SIGNAGE_CAPTURE_TIMEOUT = 20


@pytest.fixture
def local_allowed(settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True


@pytest.fixture
def public_only(settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = False


def post(api, payload):
    return api.post(BASE, payload, format="json")


def test_a_web_page_is_kept_with_a_capture_for_players_that_cannot_show_it(api, httpserver, local_allowed):
    httpserver.expect_request("/menu").respond_with_data(
        f"<html><body style='margin:0;background:rgb{GREEN}'>Today</body></html>", content_type="text/html"
    )
    url = httpserver.url_for("/menu")
    response = post(api, {"type": "web", "url": url, "display_time": 20, "refresh_time": 15, "name": "Menu"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("web-") and body["type"] == "web"
    assert (body["url_origin"], body["display_time"], body["refresh_time"]) == (url, 20, 15)
    assert (body["mime_type"], body["width"], body["height"], body["youtube_id"]) == ("image/png", 320, 200, None)
    media = Media.objects.get(pk=body["id"].split("-")[1])
    with Image.open(io.BytesIO(media.file.read())) as capture:
        assert capture.convert("RGB").getpixel((160, 100)) == GREEN
    assert media.play_duration == 20 and media.refreshable
    # The capture is refreshed like an HTML media's; the media stays a web page.
    assert media_refresh_due() == [] and media_refresh(media_id=media.pk) in ("unchanged", "updated")
    media.refresh_from_db()
    assert media.type == "web" and media.last_error == ""
    assert api.get(f"{BASE}{body['id']}/").json()["url_origin"] == url
    assert api.get(f"{BASE}?type=web").json()["count"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aqz-KE-bpKQ", "aqz-KE-bpKQ"),
        ("https://www.youtube.com/watch?v=aqz-KE-bpKQ&t=30", "aqz-KE-bpKQ"),
        ("https://youtu.be/aqz-KE-bpKQ?si=x", "aqz-KE-bpKQ"),
        ("https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ", "aqz-KE-bpKQ"),
        ("https://m.youtube.com/shorts/aqz-KE-bpKQ", "aqz-KE-bpKQ"),
    ],
)
def test_a_youtube_video_by_id_or_url(api, value, expected):
    field = "url" if value.startswith("http") else "youtube_id"
    response = post(api, {"type": "youtube", field: value, "display_time": 45})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("youtube-") and body["youtube_id"] == expected
    assert (body["display_time"], body["size"], body["file"], body["refresh_time"]) == (45, 0, None, None)
    assert body["url_origin"] == f"https://www.youtube.com/watch?v={expected}"


def test_a_live_stream_is_checked_to_be_an_hls_playlist(api, httpserver, local_allowed):
    httpserver.expect_request("/live/index.m3u8").respond_with_data(HLS, content_type="application/vnd.apple.mpegurl")
    url = httpserver.url_for("/live/index.m3u8")
    response = post(api, {"type": "livestream", "url": url, "display_time": 60, "validity_time": 120})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("livestream-") and body["url_origin"] == url
    assert (body["mime_type"], body["file"], body["display_time"], body["metadata"]["hls"]["variants"]) == (
        "application/vnd.apple.mpegurl",
        None,
        60,
        1,
    )
    assert body["valid_until"] is not None  # 120 minutes from now, as for any media with a validity


def test_a_stream_or_a_youtube_video_is_not_refreshed_and_has_no_file_to_share(api, fleet, httpserver, local_allowed):
    httpserver.expect_request("/s.m3u8").respond_with_data(HLS)
    stream = post(api, {"type": "livestream", "url": httpserver.url_for("/s.m3u8"), "display_time": 30}).json()
    video = post(api, {"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "display_time": 30}).json()
    fleet.external_storage = default_external_storage(fleet)
    fleet.save(update_fields=["external_storage"])
    for body in (stream, video):
        patched = api.patch(f"{BASE}{body['id']}/", {"refresh_time": 5}, format="json")
        assert patched.status_code == 400 and "refresh_time" in patched.json(), patched.content
        shared = api.post(f"{BASE}{body['id']}/to_external_storage/", {}, format="json")
        assert shared.status_code == 400, shared.content
        assert api.patch(f"{BASE}{body['id']}/", {"display_time": 12}, format="json").json()["display_time"] == 12
        media = Media.objects.get(pk=body["id"].split("-")[1])
        assert not media.refreshable and media_refresh(media_id=media.pk) == "busy"  # nothing is fetched
    requests_before = len(httpserver.log)
    assert media_refresh_due() == [] and len(httpserver.log) == requests_before


BAD = [
    # (payload, field of the error)
    ({"type": "web", "url": "https://example.com/"}, "display_time"),
    ({"type": "youtube", "youtube_id": "aqz-KE-bpKQ"}, "display_time"),
    ({"type": "livestream", "url": "https://example.com/a.m3u8", "display_time": 0}, "display_time"),
    ({"type": "youtube", "youtube_id": "aqz-KE-bpK", "display_time": 5}, "youtube_id"),
    ({"type": "youtube", "youtube_id": "aqz-KE-bpKQQ", "display_time": 5}, "youtube_id"),
    ({"type": "youtube", "youtube_id": "aqz KE/bpKQ", "display_time": 5}, "youtube_id"),
    ({"type": "youtube", "youtube_id": "<script>1</", "display_time": 5}, "youtube_id"),
    ({"type": "youtube", "url": "https://evil.example/watch?v=aqz-KE-bpKQ", "display_time": 5}, "url"),
    ({"type": "youtube", "url": "javascript:alert(1)//youtu.be/aqz-KE-bpKQ", "display_time": 5}, "url"),
    ({"type": "youtube", "url": "http://[::1", "display_time": 5}, "url"),
    ({"type": "youtube", "display_time": 5}, "__all__"),
    ({"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "url": "https://youtu.be/x", "display_time": 5}, "__all__"),
    ({"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "display_time": 5, "refresh_time": 10}, "refresh_time"),
    ({"type": "livestream", "url": "https://example.com/a.m3u8", "display_time": 5, "refresh_time": 1}, "refresh_time"),
    ({"youtube_id": "aqz-KE-bpKQ", "display_time": 5}, "youtube_id"),
    ({"type": "web", "display_time": 5}, "__all__"),
    ({"type": "hologram", "url": "https://example.com/", "display_time": 5}, "type"),
    ({"type": "web", "url": "ftp://example.com/page", "display_time": 5}, "url"),
    ({"type": "livestream", "url_origin": "file:///etc/passwd", "display_time": 5}, "url_origin"),
    ({"type": "web", "url": "https://user:pw@example.com/", "display_time": 5}, "url"),
    ({"type": "livestream", "url": "https://..example/a.m3u8", "display_time": 5}, "url"),
]


@pytest.mark.parametrize(("payload", "field"), BAD)
def test_bad_content_is_a_400_on_its_field_and_nothing_is_stored(api, payload, field, public_only):
    response = post(api, payload)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]", "[::ffff:10.0.0.1]", "localhost"]
)
@pytest.mark.parametrize("kind", ["web", "livestream"])
def test_private_and_local_addresses_are_refused_before_anything_is_fetched(api, host, kind, public_only):
    response = post(api, {"type": kind, "url": f"http://{host}:9/live/index.m3u8", "display_time": 10})
    assert response.status_code == 400, response.content
    assert "non-public address" in response.json()["url"][0]["message"]
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"response_data": "<html>not a stream</html>", "content_type": "text/html"}, "HLS playlist"),
        ({"response_data": "missing", "status": 404}, "HTTP 404"),
    ],
)
def test_a_stream_url_that_is_not_an_hls_playlist_is_a_400(api, httpserver, local_allowed, answer, message):
    httpserver.expect_request("/live.m3u8").respond_with_data(**answer)
    response = post(api, {"type": "livestream", "url": httpserver.url_for("/live.m3u8"), "display_time": 10})
    assert response.status_code == 400, response.content
    assert message in response.json()["url"][0]["message"]
    assert not Media.objects.exists()


def test_a_web_page_that_cannot_be_captured_is_a_400(api, httpserver, local_allowed):
    httpserver.expect_request("/gone").respond_with_data("gone", status=410, content_type="text/html")
    response = post(api, {"type": "web", "url": httpserver.url_for("/gone"), "display_time": 10})
    assert response.status_code == 400, response.content
    assert "410" in response.json()["url"][0]["message"]
    assert not Media.objects.exists()


def test_live_content_is_tenant_scoped(api, client_for, make_member, fleet, other_fleet):
    video = post(api, {"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "display_time": 30}).json()
    stranger = client_for(make_member(other_fleet))
    assert stranger.get(f"{BASE}{video['id']}/").status_code == 404
    assert stranger.patch(f"{BASE}{video['id']}/", {"display_time": 1}, format="json").status_code == 404
    assert stranger.get(f"{BASE}?type=youtube").json()["count"] == 0
    # Another fleet's id in the payload: a 400, nothing stored for it.
    response = post(
        stranger,
        {"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "display_time": 30, "fleet": fleet.pk},
    )
    assert response.status_code == 400 and "fleet" in response.json()
    assert Media.objects.filter(fleet=other_fleet).count() == 0
    viewer = client_for(make_member(fleet, role="viewer"))
    assert post(viewer, {"type": "youtube", "youtube_id": "aqz-KE-bpKQ", "display_time": 30}).status_code == 403
