"""The console's pages: dashboard, home, media under DEBUG, the loop strip, history, logs."""

import importlib
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import clear_url_caches
from django.utils import timezone

from apps.accounts.models import Role
from apps.ads.services import campaign_create
from apps.devices.models import Device

pytestmark = pytest.mark.django_db
API = "http://testserver/api/management/v2"


def test_home_links_the_console_the_api_docs_and_the_pairing_form(client):
    page = client.get("/")
    assert page.status_code == 200
    for link in (b'href="/admin/"', b'href="/api/docs/"', b'href="/pair/"'):
        assert link in page.content


def test_uploaded_media_are_served_under_debug(make_media, fleet, client):
    import signage.urls

    media = make_media(fleet)
    try:
        with override_settings(DEBUG=True):
            clear_url_caches()
            importlib.reload(signage.urls)
            response = client.get(media.thumbnail.url)
            assert response.status_code == 200
            assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # a JPEG
    finally:
        clear_url_caches()
        importlib.reload(signage.urls)
    assert client.get(media.thumbnail.url).status_code == 404  # DEBUG off: the web server's job


def test_dashboard_counts_per_fleet(console, fleet, other_fleet, make_screen, make_media):
    make_screen(fleet, "Up", online=True)
    make_screen(fleet, "Down 1")
    make_screen(fleet, "Down 2")
    make_screen(other_fleet, "Not mine", online=True)
    screen = make_screen(fleet, "Silent one")
    Device.objects.create(uuid="quiet", token_hash="x" * 64, fleet=fleet, screen=screen,
                          last_seen_at=timezone.now() - timedelta(hours=3))  # fmt: skip
    today = timezone.now().date()
    picture = make_media(fleet)
    campaign_create(fleet=fleet, author=None, name="Soon", campaign_startdate=today + timedelta(days=3),
                    broadcasts=[{"media": picture, "screens": [screen]}])  # fmt: skip
    closing = {"name": "Closing", "campaign_startdate": today, "campaign_enddate": today + timedelta(days=2)}
    campaign_create(fleet=fleet, author=None, broadcasts=[{"media": picture, "screens": [screen]}], **closing)
    page = console.get("/admin/")
    assert page.status_code == 200
    [card] = page.context["fleets"]
    assert (card["name"], card["online"], card["offline"], card["silent"]) == ("Paris Metro", 1, 3, 1)
    html = page.content.decode()
    assert "Silent one" in html and "Soon" in html and "Closing" in html and "Not mine" not in html
    assert '<canvas class="chart"' in html


def test_dashboard_queries_do_not_grow_with_the_fleet(console, fleet, make_screen, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert console.get("/admin/").status_code == 200
        return len(captured)

    make_screen(fleet, "One")
    few = count()
    for index in range(20):
        make_screen(fleet, f"More {index}", online=index % 2 == 0)
    assert count() == few


def test_sidebar_by_domain_hides_what_the_role_cannot_see(console_for, fleet):
    page = console_for(fleet, Role.TECHNICIAN).get("/admin/").content.decode()
    for section in ("Screens", "Content", "Campaigns", "Players"):
        assert section in page
    assert "/admin/accounts/membership/" not in page  # fleet admins only
    admin_page = console_for(fleet, Role.ADMIN).get("/admin/").content.decode()
    assert "/admin/accounts/membership/" in admin_page


def test_campaign_wording(console):
    page = console.get("/admin/ads/ad/").content.decode()
    assert "campaign" in page.lower() and "Select ad" not in page and "Add ad" not in page


def test_the_loop_strip_at_now_and_at_a_chosen_time(console, fleet, make_screen, make_media):
    screen = make_screen(fleet, "Hall", timezone="Europe/Paris")
    picture = make_media(fleet, display_time=7, name="poster")
    today = timezone.now().date()
    campaign_create(fleet=fleet, author=None, name="Lunch", campaign_startdate=today,
                    broadcasts=[{"media": picture, "screens": [screen],
                                 "display_periods": {str(d): [["12:00", "14:00"]] for d in range(1, 8)}}])  # fmt: skip
    campaign_create(fleet=fleet, author=None, name="Always", campaign_startdate=today,
                    broadcasts=[{"media": make_media(fleet, display_time=5), "screens": [screen]}])  # fmt: skip
    path = f"/admin/screens/screen/{screen.pk}/change/"
    noon = console.get(path, {"loop_at": f"{today + timedelta(days=1)}T12:30"}).content.decode()
    strip = noon[noon.index('id="loop-strip"') :]
    assert "Lunch" in strip and "Always" in strip and "12 s" in strip
    assert f'src="{picture.thumbnail.url}"' in strip
    assert "Next change:" in strip and "14:00" in strip
    morning = console.get(path, {"loop_at": f"{today + timedelta(days=1)}T09:00"}).content.decode()
    strip = morning[morning.index('id="loop-strip"') :]
    assert "Lunch" not in strip[: strip.index("Next change")] and "12:00" in strip


def test_history_shows_who_changed_what_and_through_which_door(console, api, user, fleet, make_screen):
    screen = make_screen(fleet, "Hall")
    assert api.patch(f"{API}/screens/{screen.pk}/", {"name": "Renamed by API"}, format="json").status_code == 200
    path = f"/admin/screens/screen/{screen.pk}/change/"
    from tests.console.forms import submit

    assert submit(console, path, "screen_form", {"name": "Renamed in console"}).status_code == 302
    from auditlog.models import LogEntry

    entries = LogEntry.objects.get_for_object(screen).order_by("timestamp")
    assert [(e.actor, e.additional_data["door"]) for e in entries if e.action == LogEntry.Action.UPDATE] == [
        (user, "api"),
        (console.user, "console"),
    ]
    page = console.get(path).content.decode()
    history = page[page.index('class="change-history"') :]
    assert "Renamed by API" in history and "Renamed in console" in history and "console" in history


def test_403_is_one_log_line(console_for, fleet, make_screen, caplog):
    browser = console_for(fleet, Role.VIEWER)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert browser.get("/admin/screens/screen/add/").status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and "Forbidden" in record.getMessage()


def test_logs_are_printed_once():
    assert logging.getLogger("django").handlers == [] and logging.getLogger("django.request").handlers == []
    assert len(logging.getLogger().handlers) >= 1


def test_history_of_a_player_paired_through_the_pairing_form(client, make_member, fleet, make_screen, player):
    from auditlog.models import LogEntry

    technician = make_member(fleet, Role.TECHNICIAN)
    client.force_login(technician)
    screen = make_screen(fleet, "Lobby")
    code = player("box-history").registration["pairing_code"]
    assert client.post("/pair/", {"pairing_code": code, "screen": screen.pk}).status_code == 200
    device = Device.objects.get(uuid="box-history")
    [entry] = LogEntry.objects.get_for_object(device).filter(action=LogEntry.Action.UPDATE)
    assert (entry.actor, entry.additional_data["door"]) == (technician, "pairing form")
    assert entry.changes_dict["screen"][1] == str(screen.pk) or "Lobby" in entry.changes_dict["screen"][1]


def test_history_of_a_change_made_by_a_task(fleet, make_media):
    from auditlog.models import LogEntry

    from apps.media.models import Media
    from signage.celery import app

    media = make_media(fleet, name="before")

    @app.task(name="tests.rename_media")
    def rename(media_id):
        item = Media.objects.get(pk=media_id)
        item.name = "after"
        item.save()

    rename.delay(media.pk)
    entry = LogEntry.objects.get_for_object(media).get(action=LogEntry.Action.UPDATE)
    assert entry.additional_data == {"door": "task", "task": "tests.rename_media"} and entry.actor is None


def test_console_dates_in_the_fleets_timezone(console, fleet, make_screen):
    from datetime import UTC, datetime

    fleet.timezone = "Asia/Tokyo"
    fleet.save()
    screen = make_screen(fleet, "Shibuya", last_seen_at=datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    page = console.get("/admin/screens/screen/").content.decode()
    assert "Jan. 6, 2026, 8:30" in page  # 23:30 UTC is 08:30 the next day in Tokyo
    assert screen.name in page
