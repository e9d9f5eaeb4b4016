"""Screenshots: uploaded by paired players (multipart, or the web player's data URL in a command's result),
checked by Pillow, stored with a thumbnail, the fleet's last N kept, listed per player, taken periodically."""

import base64
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.devices.models import CommandType, Device, DeviceCommand, Screenshot
from apps.devices.screenshots.services import screenshot_store, screenshots_request_due
from tests.media import files

pytestmark = pytest.mark.django_db(transaction=False)

HOST = "http://testserver/api/management/v2"


def jpeg(size=(640, 360), color=(10, 120, 200)) -> bytes:
    return files.picture("JPEG", size=size, color=color)


def data_url(data: bytes, kind="jpeg") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def upload(client, data: bytes, name="shot.jpg", **extra):
    body = {"image": SimpleUploadedFile(name, data), **extra}
    return client.post("/api/device/screenshots", body, format="multipart")


def stored(settings) -> list[str]:
    root = settings.MEDIA_ROOT / "screenshots"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def ask(api, device) -> dict:
    response = api.post(f"{HOST}/devices/{device.pk}/command/", {"type": "screenshot"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_screenshot_command_answered_with_a_data_url_is_stored_with_a_thumbnail(api, paired, settings):
    client = paired()
    device = Device.objects.get()
    command = ask(api, device)
    assert client.post("/api/device/heartbeat", {}, format="json").json()["pending_commands"][0]["type"] == "screenshot"

    picture = jpeg((1280, 720))
    response = client.post(
        f"/api/device/commands/{command['id']}/result",
        {"status": "succeeded", "result": {"image": data_url(picture), "width": 1280, "height": 720}},
        format="json",
    )

    assert response.status_code == 200, response.content
    shot = Screenshot.objects.get()
    assert (shot.device_id, shot.fleet_id, shot.screen_id, shot.command_id) == (
        device.pk, device.fleet_id, device.screen_id, DeviceCommand.objects.get().pk
    )  # fmt: skip
    assert (shot.width, shot.height, shot.size, shot.mime_type) == (1280, 720, len(picture), "image/jpeg")
    with default_storage.open(shot.image.name) as handle:
        assert handle.read() == picture
    with default_storage.open(shot.thumbnail.name) as handle, Image.open(handle) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.size == (320, 180)
    # The command's result refers to the screenshot instead of carrying the picture.
    listed = api.get(f"{HOST}/devices/{device.pk}/commands/").json()["results"][0]
    assert listed["succeeded_at"] and listed["result"] == {"screenshot": shot.pk, "width": 1280, "height": 720}
    # Reported again (a retry): nothing new is stored, the first answer stands.
    again = client.post(
        f"/api/device/commands/{command['id']}/result",
        {"status": "succeeded", "result": {"image": data_url(jpeg())}},
        format="json",
    )
    assert again.status_code == 200 and Screenshot.objects.count() == 1


def test_a_multipart_upload_answers_its_command_and_is_listed_newest_first(api, paired):
    client = paired()
    device = Device.objects.get()
    empty = api.get(f"{HOST}/devices/{device.pk}/screenshots/")
    assert empty.status_code == 200 and empty.json() == {"count": 0, "next": None, "previous": None, "results": []}

    unasked = upload(client, files.picture("PNG", size=(300, 200)), "unasked.png")
    assert unasked.status_code == 201, unasked.content
    command = ask(api, device)
    answer = upload(client, jpeg((800, 600)), command=command["id"])
    assert answer.status_code == 201, answer.content
    Screenshot.objects.filter(pk=unasked.json()["id"]).update(taken_at=timezone.now() - timedelta(minutes=5))

    body = api.get(f"{HOST}/devices/{device.pk}/screenshots/").json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert (newest["id"], newest["command"], newest["width"], newest["mime_type"]) == (
        answer.json()["id"], command["id"], 800, "image/jpeg"
    )  # fmt: skip
    assert (oldest["command"], oldest["mime_type"], oldest["width"], oldest["height"]) == (None, "image/png", 300, 200)
    assert newest["image"].startswith("http://testserver/media/screenshots/") and newest["image"].endswith(".jpg")
    assert newest["thumbnail"].endswith("-thumb.jpg")
    assert newest["screen"] == f"{HOST}/screens/{device.screen_id}/"
    assert DeviceCommand.objects.get(pk=command["id"]).succeeded_at is not None
    paged = api.get(f"{HOST}/devices/{device.pk}/screenshots/?limit=1&offset=1").json()
    assert [item["id"] for item in paged["results"]] == [oldest["id"]] and paged["previous"]


def bomb_png(side=6000) -> bytes:
    """A real PNG of side x side pixels that compresses to a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, code",
    [
        (b"%PDF-1.4 not a picture at all", "invalid_image"),
        (files.picture("GIF"), "invalid_image"),  # a picture, but not a format players send
        (jpeg()[:200], "invalid_image"),  # truncated
        (files.png_header(50_000, 50_000), "too_many_pixels"),  # past Pillow's own guard
        (bomb_png(), "too_many_pixels"),  # a real image, past SCREENSHOT_MAX_PIXELS
    ],
    ids=["not-an-image", "gif", "truncated", "bomb-header", "bomb"],
)
def test_bad_uploads_are_400_and_store_nothing(paired, settings, data, code):
    client = paired()
    response = upload(client, data)
    assert response.status_code == 400, response.content
    assert response.json()["image"][0]["code"] == code
    assert not Screenshot.objects.exists() and stored(settings) == []


def test_too_large_uploads_are_400_both_ways(api, paired, settings):
    client = paired()
    device = Device.objects.get()
    picture = jpeg((640, 480))
    settings.SIGNAGE_SCREENSHOT_MAX_BYTES = len(picture) - 1
    assert upload(client, picture).json()["image"][0]["code"] == "too_large"
    command = ask(api, device)
    response = client.post(
        f"/api/device/commands/{command['id']}/result",
        {"status": "succeeded", "result": {"image": data_url(picture)}},
        format="json",
    )
    assert response.status_code == 400 and response.json()["result"][0]["code"] == "too_large"
    assert DeviceCommand.objects.get(pk=command["id"]).pending  # the player then reports a failure
    for bad in ("data:image/jpeg;base64,@@@", "https://example.com/a.jpg", 42):
        refused = client.post(
            f"/api/device/commands/{command['id']}/result",
            {"status": "succeeded", "result": {"image": bad}},
            format="json",
        )
        assert refused.status_code == 400 and refused.json()["result"][0]["code"] == "invalid_image"
    assert not Screenshot.objects.exists() and stored(settings) == []


def test_uploads_need_a_paired_device_and_its_own_screenshot_command(api, paired, player):
    unpaired = player("not-paired-yet")
    assert upload(unpaired, jpeg()).status_code == 403
    assert upload(paired(), jpeg(), command="not-a-uuid").status_code == 400
    device = Device.objects.get(screen__isnull=False)
    other = paired(uuid="player-two")
    mine = ask(api, device)
    assert upload(other, jpeg(), command=mine["id"]).json()["command"][0]["message"].startswith("Not a screenshot")
    reboot = api.post(f"{HOST}/devices/{device.pk}/command/", {"type": "reboot"}, format="json").json()
    with pytest.raises(ValidationError):  # the API's 400
        screenshot_store(device=device, data=jpeg(), command=DeviceCommand.objects.get(pk=reboot["id"]))
    assert not Screenshot.objects.exists()
    assert upload(APIClient(), jpeg()).status_code == 401  # no device token at all


def test_only_the_fleets_last_n_are_kept_with_their_files(paired, fleet, settings, django_capture_on_commit_callbacks):
    fleet.screenshots_kept = 3
    fleet.save()
    client = paired()
    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion commits
        ids = [upload(client, jpeg(color=(index * 40, 0, 0))).json()["id"] for index in range(5)]
    assert sorted(Screenshot.objects.values_list("pk", flat=True)) == sorted(ids[2:])
    assert len(stored(settings)) == 3 * 2  # picture and thumbnail of each kept one
    with django_capture_on_commit_callbacks(execute=True):
        Device.objects.get().delete()  # a removed player takes its screenshots and their files along
    assert not Screenshot.objects.exists() and stored(settings) == []


def test_screenshots_are_tenant_scoped(api, paired, other_fleet, make_member, client_for, make_screen):
    client = paired()
    device = Device.objects.get()
    upload(client, jpeg())
    outsider = client_for(make_member(other_fleet, Role.ADMIN))
    assert outsider.get(f"{HOST}/devices/{device.pk}/screenshots/").status_code == 404
    # The player moves to another fleet: its earlier screenshots stay the first fleet's, unseen by the new one.
    foreign_screen = make_screen(other_fleet, "Elsewhere")
    Device.objects.filter(pk=device.pk).update(fleet=other_fleet, screen=foreign_screen)
    assert outsider.get(f"{HOST}/devices/{device.pk}/screenshots/").json()["count"] == 0
    assert Screenshot.objects.get().fleet_id != other_fleet.pk


@pytest.mark.parametrize("count", [2, 12])
def test_the_list_costs_the_same_queries_at_any_size(api, paired, count, django_assert_num_queries):
    client = paired()
    device = Device.objects.get()
    for _ in range(count):
        assert upload(client, jpeg((32, 32))).status_code == 201
    url = f"{HOST}/devices/{device.pk}/screenshots/"
    api.get(url)  # warm the per-process caches (content types, rate-limit scripts)
    # user + membership scope, the device, the count, the page (pinned at 2 and 12 screenshots).
    with django_assert_num_queries(QUERIES_LIST):
        response = api.get(url)
    assert response.json()["count"] == count and len(response.json()["results"]) == count


QUERIES_LIST = 4


def test_periodic_screenshots_ask_online_players_once_per_interval(api, paired, fleet, other_fleet, make_screen):
    first, second = paired(), paired(uuid="player-two")
    first.post("/api/device/heartbeat", {}, format="json")
    second.post("/api/device/heartbeat", {}, format="json")
    Device.objects.filter(uuid="player-two").update(online=False)
    assert screenshots_request_due() == 0  # the fleet takes none by default

    fleet.screenshot_interval = 600
    fleet.save()
    assert screenshots_request_due() == 1
    command = DeviceCommand.objects.get()
    assert (command.device.uuid, command.type, command.author) == ("player-abc123", CommandType.SCREENSHOT, None)
    assert screenshots_request_due() == 0  # one is waiting
    beat = first.post("/api/device/heartbeat", {}, format="json").json()
    assert [c["type"] for c in beat["pending_commands"]] == ["screenshot"]
    assert upload(first, jpeg(), command=str(command.pk)).status_code == 201
    assert screenshots_request_due() == 0  # answered, but the interval has not passed
    DeviceCommand.objects.update(created_at=timezone.now() - timedelta(seconds=601))
    assert screenshots_request_due() == 1
    assert DeviceCommand.objects.filter(device__uuid="player-two").count() == 0  # offline: never asked


def test_the_console_shows_screenshots_on_the_player_and_screen_pages(paired, fleet, make_member, client):
    from django.urls import reverse

    shooter = paired()
    device = Device.objects.get()
    upload(shooter, jpeg())
    shot = Screenshot.objects.get()
    client.force_login(make_member(fleet, Role.TECHNICIAN, is_staff=True))
    device_page = client.get(reverse("admin:devices_device_change", args=[device.pk]))
    screen_page = client.get(reverse("admin:screens_screen_change", args=[device.screen_id]))
    for page in (device_page, screen_page):
        assert page.status_code == 200
        assert shot.thumbnail.url in page.content.decode() and shot.image.url in page.content.decode()
    assert "screenshots" in screen_page.content.decode().lower()


def test_uploads_past_the_real_limits_are_a_4xx_before_decoding(paired, settings):
    """At the shipped limits (no setting changed): a file one byte past SCREENSHOT_MAX_BYTES is a 400, a data
    URL in a JSON body past DATA_UPLOAD_MAX_MEMORY_SIZE a 413; nothing is stored."""
    client = paired()
    limit = settings.SIGNAGE_SCREENSHOT_MAX_BYTES
    response = upload(client, b"\xff" * (limit + 1))
    assert response.status_code == 400 and response.json()["image"][0]["code"] == "too_large"
    command = DeviceCommand.objects.create(device=Device.objects.get(), type=CommandType.SCREENSHOT, payload={})
    body = {"status": "succeeded", "result": {"image": data_url(b"\xff" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))}}
    huge = client.post(f"/api/device/commands/{command.pk}/result", body, format="json")
    assert huge.status_code == 413 and huge.json()["code"] == "request_too_large", huge.content[:200]
    assert not Screenshot.objects.exists() and stored(settings) == []
    command.refresh_from_db()
    assert command.pending


def test_another_fleets_console_sees_no_screenshot(paired, fleet, other_fleet, make_member, client, make_screen):
    """Another fleet's staff: the player's and screen's pages are a 404. A player moved to that fleet shows
    there only what it took there (its earlier screenshots stay its first fleet's)."""
    from django.urls import reverse

    shooter = paired()
    device = Device.objects.get()
    upload(shooter, jpeg())
    first_screen = device.screen
    old = Screenshot.objects.get()
    client.force_login(make_member(other_fleet, Role.ADMIN, is_staff=True))
    assert client.get(reverse("admin:devices_device_change", args=[device.pk])).status_code == 404
    assert client.get(reverse("admin:screens_screen_change", args=[first_screen.pk])).status_code == 404

    elsewhere = make_screen(other_fleet, "Elsewhere")
    Device.objects.filter(pk=device.pk).update(fleet=other_fleet, screen=elsewhere)
    upload(shooter, jpeg(color=(200, 0, 0)))
    new = Screenshot.objects.exclude(pk=old.pk).get()
    assert (new.fleet_id, new.screen_id) == (other_fleet.pk, elsewhere.pk)
    page = client.get(reverse("admin:devices_device_change", args=[device.pk])).content.decode()
    assert new.thumbnail.url in page and old.thumbnail.url not in page
    mine = make_member(fleet, Role.ADMIN, is_staff=True)
    client.force_login(mine)
    screen_page = client.get(reverse("admin:screens_screen_change", args=[first_screen.pk])).content.decode()
    assert old.thumbnail.url in screen_page and new.thumbnail.url not in screen_page
