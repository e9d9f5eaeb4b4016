"""The web player with reference 002's live content, in Debian's Chromium: a web page shown live in a
sandboxed frame (a real local page), a YouTube video through the privacy-enhanced embed (youtube-nocookie.com
is answered by the test's own route: nothing leaves the machine), and an HLS live stream (a real H.264
segment made by PyAV, served by a local server) played through the vendored hls.js (the player's choice
wherever Media Source exists); each display reaches the proof-of-play ledger.

The database is read only before the browser starts and after it stops (see test_web_player.py).
"""

import http.server
import io
import os
import threading

import av
import httpx
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from apps.accounts.models import Role
from apps.ads.services import campaign_create
from apps.media.live import media_create_live
from apps.stats.models import PlayEvent
from tests.browser.test_pair_in_browser import ARGS, CHROMIUM

from .server import RestartableServer
from .test_web_player import close_to, free_port, pair_through_the_api, pixel, wait_for

GREEN, BLUE, RED = (30, 170, 60), (20, 40, 220), (200, 30, 30)
VIDEO_ID = "aqz-KE-bpKQ"
PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
PLAYLIST += "#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"


def h264_segment(colour, seconds=4, size=(320, 180), fps=10) -> bytes:
    """An MPEG-TS segment of H.264 video of one colour, as HLS streams carry them."""
    out = io.BytesIO()
    with av.open(out, "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for _ in range(seconds * fps):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.fixture
def content_server():
    """A page and an HLS stream on 127.0.0.1 (another origin than the player's: CORS as CDNs answer)."""
    files = {
        "/board": ("text/html", f"<html><body style='margin:0;background:rgb{GREEN}'></body></html>".encode()),
        "/live/index.m3u8": ("application/vnd.apple.mpegurl", PLAYLIST.encode()),
        "/live/seg0.ts": ("video/mp2t", h264_segment(RED)),
    }
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            content_type, body = files.get(self.path, ("text/plain", b"missing"))
            self.send_response(200 if self.path in files else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server():
    live = RestartableServer(free_port())
    live.start()
    yield live
    live.stop()


SHOWN = """(contentId) => { const e = document.querySelector(`#stage [data-content-id="${contentId}"]`);
  return e ? {tag: e.tagName, src: e.getAttribute('src'), sandbox: e.getAttribute('sandbox'),
              hls: e.dataset.hls || null, time: e.currentTime || 0} : null; }"""


@pytest.mark.django_db(transaction=True)
def test_the_web_player_shows_a_page_a_youtube_video_and_a_live_stream(
    server, content_server, fleet, make_member, make_screen, settings
):
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True  # the "internet" of this test is 127.0.0.1
    settings.SIGNAGE_CAPTURE_GEOMETRY = (320, 180)
    fleet.heartbeat_interval = 5
    fleet.save(update_fields=["heartbeat_interval"])
    make_member(fleet, Role.ADMIN, username="ops", password="ops-pass-42")
    screen = make_screen(fleet, "Hall L")
    web = media_create_live(fleet=fleet, kind="web", url=f"{content_server.url}/board", display_time=4)
    video = media_create_live(fleet=fleet, kind="youtube", youtube_id=VIDEO_ID, display_time=4)
    stream = media_create_live(
        fleet=fleet, kind="livestream", url=f"{content_server.url}/live/index.m3u8", display_time=5
    )
    campaign_create(
        fleet=fleet,
        author=None,
        name="Live",
        campaign_startdate="2020-01-01",
        multimedia_type="playlist",
        broadcasts=[{"media": media, "screens": [screen]} for media in (web, video, stream)],
    )
    http = httpx.Client(base_url=server.url, timeout=30)
    token = http.post("/api/get_jwt_token/", json={"username": "ops", "password": "ops-pass-42"}).json()["token"]
    embeds = []

    def youtube(route):
        embeds.append(route.request.url)
        body = f"<html><body style='margin:0;background:rgb{BLUE}'></body></html>"
        route.fulfill(status=200, content_type="text/html", body=body)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 640, "height": 360})
        context.route("https://www.youtube-nocookie.com/**", youtube)
        player = context.new_page()
        pair_through_the_api(player, server, http, token, screen)

        page = player.wait_for_function(SHOWN, arg=web.public_id, timeout=40000).json_value()
        player.wait_for_timeout(800)  # the frame paints
        page_colour = pixel(player, 320, 180)
        embed = player.wait_for_function(SHOWN, arg=video.public_id, timeout=20000).json_value()
        player.wait_for_timeout(800)
        embed_colour = pixel(player, 320, 180)
        live = player.wait_for_function(SHOWN, arg=stream.public_id, timeout=20000).json_value()
        player.wait_for_function(
            f"(() => {{ const v = document.querySelector('#stage video[data-content-id=\"{stream.public_id}\"]');"
            " return v && v.readyState >= 2 && v.currentTime > 0.3; })()",
            timeout=20000,
        )
        stream_colour = pixel(player, 320, 180)
        log = player.evaluate("window.signagePlayer.log")
        wait_for(
            lambda: (
                len(player.evaluate("window.signagePlayer.played")) >= 3
                and not player.evaluate("async () => (await window.signagePlayer.stats.store.list(100)).length")
            ),
            timeout=40,
            what="three displays acknowledged",
        )
        browser.close()

    assert (page["tag"], page["src"], page["sandbox"]) == ("IFRAME", web.source_url, "allow-scripts allow-same-origin")
    assert close_to(page_colour, GREEN), page_colour
    assert embed["tag"] == "IFRAME" and embed["src"].startswith(f"https://www.youtube-nocookie.com/embed/{VIDEO_ID}?")
    assert embeds and all("youtube-nocookie.com/embed/" in url for url in embeds)
    assert close_to(embed_colour, BLUE), embed_colour
    assert live["tag"] == "VIDEO" and live["hls"] == "hls.js", (live, log)  # Media Source: hls.js
    assert "/live/seg0.ts" in content_server.seen  # the player fetched the stream itself
    assert close_to(stream_colour, RED, tolerance=24), (stream_colour, log)
    played = set(PlayEvent.objects.values_list("media_type", flat=True))
    assert {"web", "youtube", "livestream"} <= played
