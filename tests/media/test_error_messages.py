"""Error messages of bad uploads never show the server's file names (issue 14, finding 17)."""

import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from . import files

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/medias/"


@pytest.mark.parametrize(
    "content, filename",
    [
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "broken.mp4"),
        (files.picture(size=(400, 300))[:600], "truncated.jpg"),
        (b"%PDF-1.7\nnot really a pdf", "fake.pdf"),
    ],
)
def test_a_bad_upload_says_why_without_temporary_paths(api, content, filename):
    response = api.post(BASE, {"file": SimpleUploadedFile(filename, content), "display_time": 5}, format="multipart")
    assert response.status_code == 400
    message = response.json()["file"][0]["message"]
    assert "cannot be read" in message or "not a picture" in message
    for leak in ("signage-upload", tempfile.gettempdir(), "signage-"):
        assert leak not in message, message
