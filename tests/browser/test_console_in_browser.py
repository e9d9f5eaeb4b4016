"""The console in a real browser at 1,366 x 768: Debian's Chromium driven by Playwright. The demo user logs
in through the login form, sees the dashboard, a screen's loop strip with pictures that loaded, edits a
week grid on a campaign, and the media and campaign lists fit the width.

Everything that touches the database happens before the browser starts or after it stops (Playwright's
synchronous API runs an event loop in this thread, and Django refuses database calls from within one).
"""

import os
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.conf.urls.static import static
from django.core.management import call_command
from django.test import override_settings
from django.urls import clear_url_caches
from playwright.sync_api import sync_playwright

from apps.ads.models import Ad
from apps.screens.models import Screen

from .test_pair_in_browser import ARGS, CHROMIUM

NO_OVERFLOW = """() => {
  const page = document.documentElement;
  const table = document.querySelector('#result_list');
  const boxes = [page, ...(table ? [table.parentElement, table.parentElement.parentElement] : [])];
  return boxes.map(box => [box.scrollWidth, box.clientWidth]);
}"""


@pytest.fixture
def media_served():
    """Uploaded media served as under `make run` (DEBUG adds the MEDIA_URL route)."""
    import signage.urls

    with override_settings(DEBUG=True):
        added = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
    signage.urls.urlpatterns += added
    clear_url_caches()
    yield
    del signage.urls.urlpatterns[-len(added) :]
    clear_url_caches()


@pytest.mark.django_db(transaction=True)
def test_the_demo_user_works_in_the_console(live_server, media_served, tmp_path):
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    # An earlier transactional test flushes every table, the migrations' own rows too: put the standard
    # advertiser types back as their migration does (serialized_rollback clashes with content types).
    import_module("apps.accounts.migrations.0002_standard_advertiser_types").create_types(django_apps, None)
    call_command("seed_demo")
    screen = Screen.objects.get(name="Lyon 01")
    campaign = Ad.objects.get(name="Menu playlist")
    first_broadcast = campaign.broadcasts.order_by("order", "created", "id").first()
    base = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{base}/admin/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.click("button[type=submit]")
        page.wait_for_selector("#dashboard")
        dashboard = page.inner_text("#dashboard")

        page.goto(f"{base}/admin/screens/screen/{screen.pk}/change/")
        page.wait_for_load_state("load")
        thumbnails = page.eval_on_selector_all(
            "#loop-strip img", "images => images.map(img => [img.complete, img.naturalWidth])"
        )
        strip = page.inner_text("#loop-strip")
        page.screenshot(path=str(tmp_path / "screen.png"), full_page=True)

        page.goto(f"{base}/admin/ads/ad/{campaign.pk}/change/")
        grid = "broadcasts-0-display_periods"
        assert page.locator(f"table[data-week-hours='{grid}']").count() == 1
        page.fill(f"input[name='{grid}_1_0_start']", "09:00")
        page.fill(f"input[name='{grid}_1_0_end']", "12:00")
        page.fill(f"input[name='{grid}_6_0_start']", "10:00")
        page.fill(f"input[name='{grid}_6_0_end']", "24:00")
        page.click("button[name='_save']")
        page.wait_for_url(f"{base}/admin/ads/ad/")

        widths = {}
        for name, path in [("media", "/admin/media/media/"), ("campaigns", "/admin/ads/ad/")]:
            page.goto(f"{base}{path}")
            page.wait_for_selector("#result_list")
            widths[name] = page.evaluate(NO_OVERFLOW)
            page.screenshot(path=str(tmp_path / f"{name}.png"))
        browser.close()

    assert "Demo Fleet" in dashboard and "Screens online" in dashboard
    assert thumbnails and all(complete and width > 0 for complete, width in thumbnails), thumbnails
    assert "Menu playlist" in strip and "Total:" in strip
    for name, boxes in widths.items():
        assert all(scroll <= client for scroll, client in boxes), (name, boxes)
    first_broadcast.refresh_from_db()
    assert first_broadcast.display_periods == {"1": [["09:00", "12:00"]], "6": [["10:00", "24:00"]]}
