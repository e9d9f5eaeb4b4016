"""The /pair/ form in a real browser: Debian's Chromium driven by Playwright (`.ci/run` installs both).

Everything that touches the database happens before the browser starts or after it stops: Playwright's
synchronous API runs an event loop in this thread, and Django refuses database calls from within one.
"""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.devices.models import Device

CHROMIUM = os.environ.get("SIGNAGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.django_db(transaction=True)
def test_a_technician_pairs_a_player_on_a_phone_sized_browser(live_server, fleet, make_member, make_screen, tmp_path):
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    make_member(fleet, Role.TECHNICIAN, username="tech", password="field-work-42")
    make_screen(fleet, "Gare de Lyon 01")
    make_screen(fleet, "Part-Dieu 03")
    registration = APIClient().post("/api/device/register", {"uuid": "box-in-the-field"}, format="json").json()
    code = registration["pairing_code"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(f"{live_server.url}/pair/")
        assert "/accounts/login/" in page.url  # the form needs a login first
        page.fill("#id_username", "tech")
        page.fill("#id_password", "field-work-42")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/pair/")
        page.fill("#q", "part-dieu")
        page.click("form[role=search] button")
        page.wait_for_url("**/pair/?q=part-dieu")
        options = page.locator("#id_screen option").all_inner_texts()
        page.fill("#id_pairing_code", "WRONG1")
        page.select_option("#id_screen", label="Part-Dieu 03 (Paris Metro)")
        page.click("#pair")
        wrong_code_error = page.locator(".errorlist").inner_text()
        page.fill("#id_pairing_code", code.lower())
        page.select_option("#id_screen", label="Part-Dieu 03 (Paris Metro)")
        page.fill("#id_barcode", "BC-4242")
        page.click("#pair")
        page.wait_for_selector("#paired")
        confirmation = page.inner_text("main")
        page.screenshot(path=str(tmp_path / "paired.png"))
        browser.close()

    assert [option for option in options if option.strip("-").strip()] == ["Part-Dieu 03 (Paris Metro)"]
    assert "Unknown or expired pairing code." in wrong_code_error
    assert "Part-Dieu 03" in confirmation
    device = Device.objects.get(uuid="box-in-the-field")
    assert (device.screen.name, device.barcode) == ("Part-Dieu 03", "BC-4242")
