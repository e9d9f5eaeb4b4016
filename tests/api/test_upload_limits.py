"""Multipart bodies are bounded where they are read (signage/api/parsers.py): past the endpoint's upload limit
plus the envelope, a Content-Length is a 413 before the body is read, and a longer stream is cut at the bound
with its partial file deleted. Driven through Django's test client with a crafted WSGI input that counts what
is read (tests/api/bodies.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from rest_framework.request import Request

from apps.accounts.models import Role
from apps.media.api.views import MediaViewSet
from apps.media.models import Media
from signage.api.parsers import MULTIPART_ENVELOPE, MultiPartParser, RequestTooLarge
from tests.media import files

from .bodies import CONTENT_TYPE, MultipartInput, send

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/medias/"
CONSOLE_ADD = "/admin/media/media/add/"
GIB = 1024**3


def files_in(*folders) -> list[str]:
    return [str(path) for folder in folders if folder.exists() for path in folder.rglob("*") if path.is_file()]


@pytest.fixture
def upload_dirs(settings, tmp_path):
    """Every uploaded file through a temporary file, in a folder of the test's own."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    return tmp_path / "uploads", settings.MEDIA_ROOT


def test_a_content_length_past_the_shipped_media_limit_is_a_413_and_the_body_is_not_read(api, settings):
    bound = settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES + MULTIPART_ENVELOPE
    body = MultipartInput(2 * GIB, fields={"display_time": 5})
    response = send(api, BASE, body, content_length=bound + 1)
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is larger than {bound} bytes.", "code": "request_too_large"}
    assert body.read_bytes == 0
    assert not Media.objects.exists()


def test_a_content_length_at_the_bound_is_read(api, settings, upload_dirs):
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = 1000
    body = MultipartInput(1000 + MULTIPART_ENVELOPE - 300, fields={"display_time": 5})
    assert body.length <= 1000 + MULTIPART_ENVELOPE
    response = send(api, BASE, body, content_length=body.length)
    # Inside the envelope: read whole, and the file refused by the media's own check, as before.
    assert response.status_code == 400
    assert "larger than the 1000 bytes accepted" in response.json()["file"][0]["message"]
    assert body.read_bytes == body.length
    assert files_in(*upload_dirs) == []


def test_a_file_just_over_the_limit_keeps_its_400_and_one_within_uploads(api, settings):
    picture = files.picture(size=(64, 48))
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = len(picture) - 1
    response = api.post(BASE, {"file": SimpleUploadedFile("a.jpg", picture), "display_time": 5}, format="multipart")
    assert response.status_code == 400
    assert response.json()["file"][0]["message"] == f"The file is larger than the {len(picture) - 1} bytes accepted."
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = len(picture)
    response = api.post(BASE, {"file": SimpleUploadedFile("a.jpg", picture), "display_time": 5}, format="multipart")
    assert response.status_code == 201, response.content
    assert Media.objects.get().size == len(picture)


def test_a_chunked_body_is_not_read_at_all(api, upload_dirs):
    # Without a Content-Length Django reads no body (it reads exactly Content-Length bytes): no file was given.
    body = MultipartInput(2 * GIB, fields={"display_time": 5})
    response = send(api, BASE, body, content_length=None)
    assert response.status_code == 400
    assert response.json()["__all__"][0]["message"] == "Give exactly one of file, url_origin or url."
    assert body.read_bytes == 0
    assert files_in(*upload_dirs) == []


def test_a_body_longer_than_its_content_length_is_read_only_to_it(api, upload_dirs):
    body = MultipartInput(2 * GIB, fields={"display_time": 5})
    response = send(api, BASE, body, content_length=4000)
    assert response.status_code == 400  # the file cut short at 4,000 bytes is no picture
    assert body.read_bytes == 4000
    assert not Media.objects.exists()
    assert files_in(*upload_dirs) == []


def test_a_stream_longer_than_the_bound_is_cut_there_and_its_temporary_file_deleted(settings, upload_dirs, user):
    """What the parser does with a stream that does not end at its Content-Length (a server handing on a
    chunked body, or more than it announced): it stops once the file bytes pass the bound."""
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = 200_000
    bound = 200_000 + MULTIPART_ENVELOPE
    body = MultipartInput(20 * 1024 * 1024, fields={"display_time": 5})
    django_request = RequestFactory().generic("POST", BASE, b"", content_type=CONTENT_TYPE, CONTENT_LENGTH="4000")
    request = Request(django_request, parsers=[MultiPartParser()])
    context = {"request": request, "view": MediaViewSet(), "encoding": "utf-8"}
    with pytest.raises(RequestTooLarge) as refused:
        MultiPartParser().parse(body, CONTENT_TYPE, context)
    assert str(refused.value.detail) == f"The request body is larger than {bound} bytes."
    assert bound < body.read_bytes <= bound + 2 * 64 * 1024  # at most the chunk that passed it, and one read ahead
    assert files_in(*upload_dirs) == []


def test_a_temporary_file_is_written_and_kept_for_an_upload_within_the_bound(api, settings, upload_dirs):
    # The counterpart of the test above: the same settings store a real upload.
    picture = files.picture(size=(64, 48))
    response = api.post(BASE, {"file": SimpleUploadedFile("a.jpg", picture), "display_time": 5}, format="multipart")
    assert response.status_code == 201, response.content
    temporary, media_root = upload_dirs
    assert files_in(temporary) == [] and len(files_in(media_root)) >= 1


def test_authentication_comes_before_the_bound_and_reads_nothing(anon, settings):
    body = MultipartInput(2 * GIB)
    response = send(anon, BASE, body, content_length=settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES * 2)
    assert response.status_code == 401
    assert body.read_bytes == 0


def test_a_viewer_is_refused_as_before_within_the_bound(client_for, make_member, fleet):
    viewer = client_for(make_member(fleet, Role.VIEWER))
    picture = files.picture(size=(64, 48))
    response = viewer.post(BASE, {"file": SimpleUploadedFile("a.jpg", picture), "display_time": 5}, format="multipart")
    assert response.status_code == 403
    assert not Media.objects.exists()


def test_an_endpoint_without_uploads_takes_no_more_than_a_json_body(api, settings):
    bound = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_ENVELOPE
    body = MultipartInput(GIB)
    response = send(api, "/api/management/v2/screens/", body, content_length=bound + 1)
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is larger than {bound} bytes.", "code": "request_too_large"}
    assert body.read_bytes == 0


# --- the console's media form ------------------------------------------------------------------------------


@pytest.fixture
def console(make_member, fleet):
    browser = Client()
    browser.force_login(make_member(fleet, Role.ADMIN, is_staff=True))
    return browser


def test_the_console_refuses_a_content_length_past_the_media_limit_unread(console, settings):
    bound = settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES + MULTIPART_ENVELOPE
    body = MultipartInput(2 * GIB, field="upload")
    response = send(console, CONSOLE_ADD, body, content_length=bound + 1)
    assert response.status_code == 413
    assert response.content.decode() == f"The request body is larger than {bound} bytes."
    assert body.read_bytes == 0


def test_the_console_form_still_uploads_within_the_limit_and_names_a_file_over_it(console, settings, fleet):
    picture = files.picture(size=(64, 48))
    values = {"fleet": fleet.pk, "name": "Poster", "display_time": "5", "_save": "Save"}
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = len(picture) - 1
    response = console.post(CONSOLE_ADD, {**values, "upload": SimpleUploadedFile("a.jpg", picture)})
    assert response.status_code == 200
    assert f"larger than the {len(picture) - 1} bytes accepted" in response.content.decode()
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = len(picture)
    response = console.post(CONSOLE_ADD, {**values, "upload": SimpleUploadedFile("a.jpg", picture)})
    assert response.status_code == 302
    assert Media.objects.get().size == len(picture)
