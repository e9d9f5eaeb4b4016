"""The web player end to end, in Debian's Chromium driven by Playwright, against a live server that is
stopped and started again: it shows a pairing code, gets paired through /pair/, plays a campaign created
through the API from its cache, keeps playing (even across a reload) while the server is down, and its
proof of play reaches POST /api/device/stats exactly once per display when the server is back.

The test reads the database only before the browser starts and after it stops: Playwright's synchronous
API runs an event loop in this thread, and Django refuses database calls from within one.
"""

import hashlib
import io
import os
import socket
import time

import httpx
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from apps.accounts.models import Role
from apps.stats.models import PlayEvent
from tests.browser.test_pair_in_browser import ARGS, CHROMIUM
from tests.media import files

from .server import RestartableServer

COLOUR = (20, 160, 90)
STATS = "/api/device/stats"
HEARTBEAT = "/api/device/heartbeat"


def free_port() -> int:
    wanted = int(os.environ.get("SIGNAGE_BROWSER_TEST_PORT", "0"))
    if wanted:
        return wanted
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server():
    live = RestartableServer(free_port(), record=(STATS, HEARTBEAT))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def campaign_of(fleet):
    """A media of `fleet` made of `content`, in a campaign on `screen` (written before the browser starts)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.ads.services import campaign_create
    from apps.media.services import media_create_from_upload

    def make(screen, content, display_time=10):
        media = media_create_from_upload(
            fleet=fleet, upload=SimpleUploadedFile("content.bin", content), display_time=display_time
        )
        campaign_create(
            fleet=fleet,
            author=None,
            name="Menu",
            campaign_startdate="2020-01-01",
            broadcasts=[{"media": media, "screens": [screen]}],
        )
        return media

    return make


def wait_for(predicate, timeout=30.0, step=0.25, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def pixel(page, x, y):
    with Image.open(io.BytesIO(page.screenshot())) as shot:
        return shot.convert("RGB").getpixel((x, y))


def close_to(colour, expected, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


PENDING_IDS = "async () => (await window.signagePlayer.stats.store.list(10000)).map((event) => event.id)"
SHOWN = "() => { const e = document.querySelector('#stage img'); return e && e.complete && e.naturalWidth > 0 ? "
SHOWN += "{src: e.getAttribute('src'), content: e.dataset.contentId} : null; }"


@pytest.mark.django_db(transaction=True)
def test_the_web_player_pairs_plays_offline_and_reports_each_display_once(
    server, fleet, make_member, make_screen, tmp_path
):
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    fleet.heartbeat_interval = 5  # below the admin's minimum, to keep the test short
    fleet.save(update_fields=["heartbeat_interval"])
    make_member(fleet, Role.ADMIN, username="ops", password="ops-pass-42")
    screen = make_screen(fleet, "Hall A", timezone="Europe/Paris")
    http = httpx.Client(base_url=server.url, timeout=30)
    token = http.post("/api/get_jwt_token/", json={"username": "ops", "password": "ops-pass-42"}).json()["token"]
    api = {"Authorization": f"JWT {token}"}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        player = browser.new_page(viewport={"width": 640, "height": 360})
        player.goto(f"{server.url}/player/")
        player.wait_for_function("document.querySelector('#pairing-code').textContent.length === 6", timeout=20000)
        code = player.inner_text("#pairing-code")
        player.wait_for_function("document.querySelector('#pairing-qr').naturalWidth > 0")
        shown_url = player.inner_text("#pair-url")

        # A technician scans the QR code: the form opens with the code filled in.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(f"{server.url}/pair/?code={code}")
        phone.fill("#id_username", "ops")
        phone.fill("#id_password", "ops-pass-42")
        phone.click("button[type=submit]")
        phone.wait_for_selector("#id_pairing_code")
        prefilled = phone.input_value("#id_pairing_code")
        phone.select_option("#id_screen", label="Hall A (Paris Metro)")
        phone.click("#pair")
        phone.wait_for_selector("#paired")
        player.wait_for_selector("#pairing", state="hidden", timeout=20000)

        # A campaign created through the API appears on the player.
        upload = http.post(
            "/api/management/v2/medias/",
            headers=api,
            files={"file": ("green.png", files.picture("PNG", size=(320, 180), color=COLOUR))},
            data={"display_time": "2", "name": "green"},
        )
        assert upload.status_code == 201, upload.text
        media = upload.json()
        created = http.post(
            "/api/management/v2/ads/",
            headers=api,
            json={
                "name": "Green week",
                "campaign_startdate": "2020-01-01",
                "broadcasts": [{"media": media["url"], "screens": [str(screen.pk)]}],
            },
        )
        assert created.status_code == 201, created.text
        shown = player.wait_for_function(SHOWN, timeout=40000).json_value()
        served = player.evaluate(
            """async (src) => { const body = await (await fetch(src)).arrayBuffer();
                 const digest = await crypto.subtle.digest('SHA-256', body);
                 return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''); }""",
            shown["src"],
        )
        online_colour = pixel(player, 320, 180)
        player.wait_for_function("window.signagePlayer.played.length > 0", timeout=20000)
        wait_for(lambda: not player.evaluate(PENDING_IDS), what="a first display acknowledged")

        # The server goes away: the player keeps playing from its cache, across a reload too.
        server.stop()
        stopped_at = time.time() * 1000
        player.wait_for_function(
            f"window.signagePlayer.current && window.signagePlayer.current.startedAt > {stopped_at}"
        )
        player.wait_for_function("window.signagePlayer.online === false", timeout=20000)
        player.reload()
        player.wait_for_function(SHOWN, timeout=20000)
        offline_colour = pixel(player, 320, 180)
        time.sleep(4)  # two more displays of 2 s, offline
        player.wait_for_function("window.signagePlayer.stats !== undefined")
        offline_ids = player.evaluate(PENDING_IDS)
        offline_src = player.evaluate(SHOWN)["src"]

        # It comes back: the displays kept meanwhile reach the server, each once.
        posts_before = len(server.bodies)
        server.start()
        wait_for(lambda: not player.evaluate(PENDING_IDS), timeout=40, what="the queue to empty")
        # Online again: proof of play goes with the heartbeats (every 5 s), not a batch a display (every 2 s).
        marker = len(server.bodies)
        time.sleep(10.5)
        window = [path.rstrip("/") for path, _ in server.bodies[marker:]]
        player.screenshot(path=str(tmp_path / "player.png"))
        browser.close()

    assert shown_url.endswith(f"/pair/?code={code}") and prefilled == code
    assert shown["content"] == media["id"] and shown["src"] == f"/player/content/{media['id']}"
    assert served == media["checksum"] == hashlib.sha256(files.picture("PNG", (320, 180), COLOUR)).hexdigest()
    assert close_to(online_colour, COLOUR) and close_to(offline_colour, COLOUR), (online_colour, offline_colour)
    assert offline_src == shown["src"]
    assert len(offline_ids) >= 3, offline_ids  # at least two displays while the server was down
    posts = [(path.rstrip("/"), body) for path, body in server.bodies]
    batches = [body for path, body in posts if path == STATS]
    sent = [event["id"] for path, body in posts[posts_before:] if path == STATS for event in body["events"]]
    assert all(sent.count(event_id) == 1 for event_id in offline_ids), sent
    every = [event["id"] for body in batches for event in body["events"]]
    assert len(every) == len(set(every)), "an acknowledged display was sent again"
    assert 0 < window.count(STATS) <= window.count(HEARTBEAT), window
    stored = PlayEvent.objects.filter(event_id__in=offline_ids)
    assert stored.count() == len(offline_ids)
    assert {str(event.media_id) for event in stored} == {media["id"].split("-")[1]}
    assert all(event.screen_id == screen.pk for event in stored)


def pair_through_the_api(player, server, http, token, screen) -> None:
    """Open the web player in `player` (a page) and pair it with `screen` through the management API."""
    player.goto(f"{server.url}/player/")
    player.wait_for_function("document.querySelector('#pairing-code').textContent.length === 6", timeout=20000)
    paired = http.post(
        "/api/management/v2/devices/pair/",
        headers={"Authorization": f"JWT {token}"},
        json={"pairing_code": player.inner_text("#pairing-code"), "screen": str(screen.pk)},
    )
    assert paired.status_code == 200, paired.text


PAGE_SHOWN = """(page) => { const e = document.querySelector('#stage img');
  return e && e.dataset.page === String(page) && e.complete && e.naturalWidth > 0 ? e.getAttribute('src') : null; }"""


@pytest.mark.django_db(transaction=True)
def test_the_web_player_shows_a_pdf_as_its_pages(server, fleet, make_member, make_screen, campaign_of):
    fleet.heartbeat_interval = 5
    fleet.save(update_fields=["heartbeat_interval"])
    make_member(fleet, Role.ADMIN, username="ops", password="ops-pass-42")
    screen = make_screen(fleet, "Hall B")
    pdf = campaign_of(screen, files.coloured_pdf([(220, 20, 20), (20, 40, 220)], size=(320, 180)), display_time=6)
    http = httpx.Client(base_url=server.url, timeout=30)
    token = http.post("/api/get_jwt_token/", json={"username": "ops", "password": "ops-pass-42"}).json()["token"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        player = browser.new_page(viewport={"width": 640, "height": 360})
        pair_through_the_api(player, server, http, token, screen)
        first = player.wait_for_function(PAGE_SHOWN, arg=1, timeout=40000).json_value()
        first_colour = pixel(player, 320, 180)
        second = player.wait_for_function(PAGE_SHOWN, arg=2, timeout=10000).json_value()
        second_colour = pixel(player, 320, 180)
        browser.close()

    assert first == f"/player/content/{pdf.public_id}/page/1" and second.endswith("/page/2")
    assert close_to(first_colour, (220, 20, 20)) and close_to(second_colour, (20, 40, 220))
