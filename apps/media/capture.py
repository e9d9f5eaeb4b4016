"""HTML pages captured as pictures: Debian's Chromium, driven by Playwright, renders a page at a given
geometry and gives a PNG (SPEC 4.4 and 4.5, reference 000's HTML media and `adupdater` campaigns).

The browser never reaches the network itself. It is started with a proxy that does not exist (loopback
included), so any request it would make on its own fails; every request of the page (the page, frames,
scripts, styles, images, fetches) is intercepted and made by the product's own fetcher
(`fetching.fetch`): http(s) only, every address checked (also after each redirect, which the fetcher
follows itself), size- and time-limited. A refused request is recorded with its reason and fails in the
page; a refused page is a CaptureError. WebSockets and service workers cannot get out either (the dead
proxy, and `service_workers="block"`), nor WebRTC (UDP only through the proxy).
"""

import os
import shutil
import time
from dataclasses import dataclass, field

from django.conf import settings

from .fetching import FetchError, fetch

BROWSER_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
    "--mute-audio",
    # Nothing leaves the browser by itself: this proxy does not exist, and loopback goes to it too.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
MAX_SIDE = 7680
SETTLE_MS = 300  # after "load", for scripts that paint late


class CaptureError(Exception):
    """The page cannot be captured; the message is fit for the client."""


@dataclass
class Capture:
    png: bytes
    width: int
    height: int
    requests: int = 0
    blocked: list[dict] = field(default_factory=list)  # [{"url", "reason"}]


def chromium_path() -> str:
    return settings.SIGNAGE_CHROMIUM or shutil.which("chromium") or "/usr/bin/chromium"


def check_geometry(width, height) -> None:
    if not all(
        isinstance(side, int) and not isinstance(side, bool) and 1 <= side <= MAX_SIDE for side in (width, height)
    ):
        raise CaptureError(f"The geometry must be two whole numbers of pixels from 1 to {MAX_SIDE}.")
    if width * height > settings.SIGNAGE_MEDIA_MAX_PIXELS:
        raise CaptureError(f"The geometry is too large: at most {settings.SIGNAGE_MEDIA_MAX_PIXELS} pixels.")


class _Network:
    """Makes the page's requests with the product's fetcher, within the capture's time and byte budget."""

    def __init__(self, deadline: float, budget: int):
        self.deadline, self.budget = deadline, budget
        self.used = 0
        self.requests = 0
        self.blocked: list[dict] = []
        self.page_refused: str | None = None

    def handle(self, route, request) -> None:
        self.requests += 1
        try:
            body, status, content_type = self._fetch(request)
            if status >= 400 and request.is_navigation_request() and request.frame.parent_frame is None:
                raise FetchError(f"The page answered HTTP {status}.")
        except FetchError as error:
            self.blocked.append({"url": request.url[:500], "reason": str(error)})
            if request.is_navigation_request() and request.frame.parent_frame is None:
                self.page_refused = str(error)
            route.abort("blockedbyclient")
            return
        route.fulfill(status=status, body=body, headers={"Content-Type": content_type} if content_type else {})

    def _fetch(self, request) -> tuple[bytes, int, str]:
        if request.method not in ("GET", "HEAD"):
            raise FetchError(f"Only GET requests are made during a capture, not {request.method}.")
        if self.used >= self.budget:
            raise FetchError(f"The capture's size limit ({self.budget} bytes) was reached.")
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.5:
            raise FetchError("The capture's time limit was reached.")
        headers = {"Accept": request.headers.get("accept", "*/*"), "User-Agent": "Signage page capture"}
        fetched = fetch(request.url, headers, timeout=remaining, limit=max(0, self.budget - self.used))
        body = b""
        if fetched.path:
            try:
                with open(fetched.path, "rb") as file:
                    body = file.read()
            finally:
                os.unlink(fetched.path)
        self.used += len(body)
        return body, fetched.status, fetched.headers.get("content-type", "")


def capture_page(url: str, *, width: int, height: int) -> Capture:
    """A PNG of the page at `url` in a `width` x `height` viewport. Raises CaptureError."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    check_geometry(width, height)
    if not url.lower().startswith(("http://", "https://")):
        raise CaptureError("Only http and https pages can be captured.")
    seconds = settings.SIGNAGE_CAPTURE_TIMEOUT
    started = time.monotonic()
    network = _Network(started + seconds, settings.SIGNAGE_CAPTURE_MAX_BYTES)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
            try:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, service_workers="block", accept_downloads=False
                )
                page = context.new_page()
                page.route("**/*", network.handle)
                left = lambda: max(1.0, (network.deadline - time.monotonic()) * 1000)  # noqa: E731
                try:
                    response = page.goto(url, wait_until="load", timeout=left())
                except PlaywrightTimeout:
                    raise CaptureError(f"The page did not load within {seconds} seconds.") from None
                except PlaywrightError as error:
                    if network.page_refused:
                        raise CaptureError(network.page_refused) from None
                    raise CaptureError(f"The page cannot be loaded ({str(error).splitlines()[0]}).") from None
                if response is not None and response.status >= 400:
                    raise CaptureError(f"The page answered HTTP {response.status}.")
                page.wait_for_timeout(min(SETTLE_MS, left()))
                png = page.screenshot(type="png", timeout=left())
            finally:
                browser.close()
    except PlaywrightTimeout:
        raise CaptureError(f"The page could not be captured within {seconds} seconds.") from None
    except PlaywrightError as error:
        raise CaptureError(f"The page cannot be captured ({str(error).splitlines()[0]}).") from None
    return Capture(png=png, width=width, height=height, requests=network.requests, blocked=network.blocked)
