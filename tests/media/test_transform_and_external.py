import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.accounts.services import default_external_storage
from apps.media.models import Media

from . import files

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/medias/"


def create(api, content, name="quadrants.png", **data):
    response = api.post(
        BASE, {"file": SimpleUploadedFile(name, content), "display_time": 10, **data}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()


def opened(media_id):
    media = Media.objects.get(pk=media_id.split("-")[1])
    return media, Image.open(media.file.path)


def test_reference_transform_payload(api):
    body = create(api, files.quadrants((200, 150)))
    payload = {"width": 100, "height": 100, "x": 20, "y": 20, "rotation": 45}
    response = api.post(f"{BASE}{body['id']}/transform/", payload, format="multipart")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["id"] == body["id"]
    assert result["checksum"] != body["checksum"]
    assert (result["width"], result["height"]) == (142, 142)  # a 100x100 square turned 45 degrees
    media, image = opened(body["id"])
    assert image.size == (142, 142)
    assert hashlib.sha256(media.file.read()).hexdigest() == result["checksum"]


def test_crop_takes_the_frame_from_the_top_left_corner(api):
    body = create(api, files.quadrants((200, 150)))
    response = api.post(f"{BASE}{body['id']}/transform/", {"x": 110, "y": 0, "width": 80, "height": 60}, format="json")
    assert (response.json()["width"], response.json()["height"]) == (80, 60)
    _, image = opened(body["id"])
    assert image.convert("RGB").getpixel((40, 30)) == (0, 255, 0)  # the top-right quadrant


def test_rotation_is_clockwise(api):
    body = create(api, files.quadrants((200, 100)))
    response = api.post(
        f"{BASE}{body['id']}/transform/", {"x": 0, "y": 0, "width": 200, "height": 100, "rotation": 90}, format="json"
    )
    assert (response.json()["width"], response.json()["height"]) == (100, 200)
    _, image = opened(body["id"])
    assert image.convert("RGB").getpixel((75, 25)) == (255, 0, 0)  # red, top-left before, is top-right now


@pytest.mark.parametrize(
    "frame",
    [
        {"x": 150, "y": 0, "width": 100, "height": 10},
        {"x": 0, "y": 100, "width": 10, "height": 100},
        {"x": -1, "y": 0, "width": 10, "height": 10},
        {"x": 0, "y": 0, "width": 0, "height": 10},
        {"x": 0, "y": 0, "width": "wide", "height": 10},
        {"y": 0, "width": 10, "height": 10},
    ],
)
def test_frames_outside_the_picture_are_400_and_change_nothing(api, frame):
    body = create(api, files.quadrants((200, 150)))
    response = api.post(f"{BASE}{body['id']}/transform/", frame, format="json")
    assert response.status_code == 400
    media, image = opened(body["id"])
    assert image.size == (200, 150) and media.checksum == body["checksum"]


def test_only_pictures_are_transformed(api):
    body = create(api, files.pdf(), name="doc.pdf")
    response = api.post(f"{BASE}{body['id']}/transform/", {"x": 0, "y": 0, "width": 10, "height": 10}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "__all__": [{"message": "Only pictures can be transformed; this media is a pdf.", "code": "invalid"}]
    }


@pytest.fixture
def external(fleet, settings):
    fleet.external_storage = default_external_storage(fleet)
    fleet.save()
    return settings.MEDIA_ROOT / "external" / str(fleet.pk)


def test_reference_file_to_external_storage(api, external):
    content = files.picture()
    response = api.post(
        f"{BASE}file_to_external_storage/",
        {"file": SimpleUploadedFile("campagne-vacances.jpg", content), "folder": "my_folder/my-pictures"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_path"] == "my_folder/my-pictures/campagne-vacances.jpg"
    assert (external / body["external_path"]).read_bytes() == content
    assert body["display_time"] == 10 and body["folder"] == "my_folder/my-pictures"


def test_reference_to_external_storage(api, external):
    body = create(api, files.picture(), name="summer.jpg")
    response = api.post(f"{BASE}{body['id']}/to_external_storage/", {"folder": "main-folder 2/medias/my_images"})
    assert response.status_code == 200, response.content
    path = response.json()["external_path"]
    assert path == "main-folder 2/medias/my_images/summer.jpg"
    assert (external / path).exists()
    again = api.post(f"{BASE}{body['id']}/to_external_storage/", {"folder": "main-folder 2/medias/my_images"})
    assert again.json()["external_path"] != path  # never overwrites


@pytest.mark.parametrize("folder", ["../etc", "a/../../b", "été", "a//b", "/abs", "a/", "a\\\\b", "a.b", "x;rm"])
def test_bad_folders_are_400(api, external, folder):
    body = create(api, files.picture())
    response = api.post(f"{BASE}{body['id']}/to_external_storage/", {"folder": folder}, format="json")
    assert response.status_code == 400
    assert response.json()["folder"][0]["code"] == "invalid"
    assert not list(external.rglob("*.jpg"))


def test_a_fleet_without_external_storage_is_403(api, fleet, settings):
    body = create(api, files.picture())
    response = api.post(f"{BASE}{body['id']}/to_external_storage/", {"folder": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This fleet has no external storage.", "code": "no_external_storage"}
    response = api.post(
        f"{BASE}file_to_external_storage/", {"file": SimpleUploadedFile("a.jpg", files.picture())}, format="multipart"
    )
    assert response.status_code == 403
    assert Media.objects.count() == 1


def test_a_transform_past_the_pixel_limit_is_400(api, settings):
    body = create(api, files.quadrants((200, 150)))
    settings.SIGNAGE_MEDIA_MAX_PIXELS = 15_000
    frame = {"x": 0, "y": 0, "width": 100, "height": 100, "rotation": 45}
    response = api.post(f"{BASE}{body['id']}/transform/", frame, format="json")
    assert response.status_code == 400
    assert "too large" in response.json()["__all__"][0]["message"]
    assert Media.objects.get(pk=body["id"].split("-")[1]).checksum == body["checksum"]
