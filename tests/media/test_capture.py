"""HTML pages captured as pictures, by Debian's Chromium, against real local HTTP servers.

The "public internet" of these tests is 127.0.0.1 (the page's server): `public_page_server` lets the
address check treat that one address as public and applies the real rule to every other address, so a
second server on 127.0.0.2 stands for a forbidden (loopback, private) destination and must see nothing.
"""

import http.server
import io
import threading

import pytest
from django.utils import timezone
from PIL import Image
from werkzeug import Response

from apps.media import fetching
from apps.media.capture import CaptureError, capture_page
from apps.media.models import Media
from apps.media.services import media_refresh

from . import files

BASE = "/api/management/v2/medias/"
RED, BLUE = (220, 20, 20), (20, 40, 220)


def page(background, body=""):
    return f"<html><body style='margin:0;background:rgb{background}'>{body}</body></html>"


@pytest.fixture(autouse=True)
def _small_captures(settings):
    settings.SIGNAGE_CAPTURE_GEOMETRY = (320, 200)
    settings.SIGNAGE_CAPTURE_TIMEOUT = 20


@pytest.fixture
def public_page_server(settings, monkeypatch):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = False
    real_rule = fetching._address_allowed
    monkeypatch.setattr(fetching, "_address_allowed", lambda address: address == "127.0.0.1" or real_rule(address))


@pytest.fixture
def forbidden_server():
    """A server on 127.0.0.2 (loopback: forbidden) that records every request it gets."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            body = files.picture("PNG", (50, 50), (0, 255, 0))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    server.url = f"http://127.0.0.2:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def colour_at(image_bytes, xy):
    with Image.open(io.BytesIO(image_bytes)) as image:
        return image.convert("RGB").getpixel(xy)


@pytest.mark.django_db
def test_an_html_url_becomes_a_picture_of_the_requested_size(api, httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    httpserver.expect_request("/logo.png").respond_with_data(
        files.picture("PNG", (100, 100), BLUE), content_type="image/png"
    )
    httpserver.expect_request("/").respond_with_data(
        page(RED, "<img src='/logo.png' style='display:block'>"), content_type="text/html; charset=utf-8"
    )
    response = api.post(BASE, {"url_origin": httpserver.url_for("/"), "display_time": 10}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["mime_type"], body["width"], body["height"]) == ("picture", "image/png", 320, 200)
    media = Media.objects.get(pk=body["id"].split("-")[1])
    stored = media.file.read()
    assert colour_at(stored, (300, 150)) == RED  # the page
    assert colour_at(stored, (50, 50)) == BLUE  # its image, fetched through the product's fetcher
    capture = body["metadata"]["capture"]
    assert capture["geometry"] == [320, 200] and capture["blocked"] == [] and capture["requests"] >= 2


@pytest.mark.django_db
def test_a_page_cannot_make_the_server_reach_a_forbidden_address(api, httpserver, public_page_server, forbidden_server):
    secret = f"{forbidden_server.url}/secret.png"
    httpserver.expect_request("/hop").respond_with_response(
        Response(status=302, headers={"Location": f"{forbidden_server.url}/after-redirect.png"})
    )
    httpserver.expect_request("/").respond_with_data(
        page(
            RED,
            f"<img src='{secret}'><iframe src='{forbidden_server.url}/admin'></iframe>"
            "<img src='/hop'><iframe src='http://169.254.169.254/latest/meta-data/'></iframe>"
            f"<script>fetch('{forbidden_server.url}/api'); new WebSocket('ws://127.0.0.2:1/');</script>",
        ),
        content_type="text/html",
    )
    response = api.post(BASE, {"url_origin": httpserver.url_for("/"), "display_time": 10}, format="multipart")
    assert response.status_code == 201, response.content
    assert forbidden_server.seen == []  # nothing got through
    blocked = {entry["url"]: entry["reason"] for entry in response.json()["metadata"]["capture"]["blocked"]}
    assert set(blocked) == {
        secret,
        f"{forbidden_server.url}/admin",
        httpserver.url_for("/hop"),
        "http://169.254.169.254/latest/meta-data/",
        f"{forbidden_server.url}/api",
    }
    assert "non-public address (127.0.0.2)" in blocked[secret]
    assert "non-public address (127.0.0.2)" in blocked[httpserver.url_for("/hop")]  # the redirect's target
    assert "non-public address (169.254.169.254)" in blocked["http://169.254.169.254/latest/meta-data/"]


@pytest.mark.django_db
def test_a_forbidden_page_is_a_400_and_stores_nothing(api, public_page_server, forbidden_server):
    response = api.post(BASE, {"url_origin": f"{forbidden_server.url}/", "display_time": 10}, format="multipart")
    assert response.status_code == 400
    assert "non-public address" in response.json()["url_origin"][0]["message"]
    assert forbidden_server.seen == [] and not Media.objects.exists()


def test_the_byte_budget_stops_a_heavy_page(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.SIGNAGE_CAPTURE_MAX_BYTES = 20_000
    heavy = files.picture("PNG", (400, 400), BLUE) + b"\0" * 30_000  # a PNG with junk after its end
    httpserver.expect_request("/heavy.png").respond_with_data(heavy, content_type="image/png")
    httpserver.expect_request("/").respond_with_data(page(RED, "<img src='/heavy.png'>"), content_type="text/html")
    capture = capture_page(httpserver.url_for("/"), width=200, height=100)
    assert [entry["url"] for entry in capture.blocked] == [httpserver.url_for("/heavy.png")]
    assert "larger than" in capture.blocked[0]["reason"]
    assert colour_at(capture.png, (150, 50)) == RED


def test_a_page_that_never_loads_is_stopped_at_the_time_limit(settings):
    import time

    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.SIGNAGE_CAPTURE_TIMEOUT = 3

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/":
                body = page(RED, "<img src='/slow.png'>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                time.sleep(15)  # an image that never comes

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started = time.monotonic()
    try:
        try:
            capture = capture_page(f"http://127.0.0.1:{server.server_address[1]}/", width=200, height=100)
        except CaptureError as error:
            assert "seconds" in str(error)
        else:
            assert any("too long" in entry["reason"] or "limit" in entry["reason"] for entry in capture.blocked)
        assert time.monotonic() - started < 12  # far from the 15 s the image would take
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("geometry", [(0, 100), (100, 10_000), (True, 5)])
def test_a_bad_geometry_is_refused_before_any_browser_starts(geometry):
    with pytest.raises(CaptureError, match="geometry"):
        capture_page("http://example.invalid/", width=geometry[0], height=geometry[1])


@pytest.mark.django_db
def test_a_captured_page_is_captured_again_and_a_failure_keeps_the_previous_picture(api, httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    state = {"colour": RED, "status": 200}
    httpserver.expect_request("/").respond_with_handler(
        lambda request: Response(page(state["colour"]), status=state["status"], content_type="text/html")
    )
    response = api.post(
        BASE, {"url": httpserver.url_for("/"), "refresh_time": 5, "display_time": 10}, format="multipart"
    )
    assert response.status_code == 201, response.content
    media = Media.objects.get(pk=response.json()["id"].split("-")[1])
    first = media.checksum

    state["colour"] = BLUE
    assert media_refresh(media_id=media.pk) == "updated"
    media.refresh_from_db()
    assert media.checksum != first and colour_at(media.file.read(), (10, 10)) == BLUE
    assert media.metadata["capture"]["geometry"] == [320, 200]

    state["status"] = 500
    before = (media.checksum, media.file.name)
    assert media_refresh(media_id=media.pk) == "failed"
    media.refresh_from_db()
    assert (media.checksum, media.file.name) == before  # the previous picture stays
    assert media.last_error == "The page answered HTTP 500." and media.last_error_at <= timezone.now()
    assert media.consecutive_failures == 1
