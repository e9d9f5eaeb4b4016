"""PDFs rendered page by page at upload (pypdfium2), and served to players as pictures."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.media.models import Media
from apps.media.services import media_create_from_upload, media_delete
from tests.media import files

RED, BLUE = (220, 20, 20), (20, 40, 220)


def colour_of(data: bytes, xy=(10, 10)):
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").getpixel(xy)


def close(colour, expected, tolerance=4):
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.fixture
def pdf(fleet):
    upload = SimpleUploadedFile("menu.pdf", files.coloured_pdf([RED, BLUE]))
    return media_create_from_upload(fleet=fleet, upload=upload, display_time=12, name="menu")


@pytest.mark.django_db
def test_a_pdf_is_rendered_page_by_page_with_a_thumbnail_of_page_one(pdf, settings):
    pages = pdf.metadata["pages"]
    assert pdf.metadata["page_count"] == 2 and len(pages) == 2
    assert (pages[0]["width"], pages[0]["height"]) == (1280, 1920)  # the longer side at PDF_PAGE_SIDE
    rendered = [default_storage.open(page["file"]).read() for page in pages]
    assert close(colour_of(rendered[0]), RED) and close(colour_of(rendered[1]), BLUE)
    assert [page["sha256"] for page in pages] == [hashlib.sha256(data).hexdigest() for data in rendered]
    assert close(colour_of(pdf.thumbnail.read()), RED, tolerance=8)


@pytest.mark.django_db
def test_a_pdf_with_too_many_pages_is_a_400(api, settings):
    settings.SIGNAGE_PDF_MAX_PAGES = 2
    upload = SimpleUploadedFile("long.pdf", files.coloured_pdf([RED, BLUE, RED]), content_type="application/pdf")
    response = api.post("/api/management/v2/medias/", {"file": upload, "display_time": 10}, format="multipart")
    assert response.status_code == 400
    assert response.json()["file"][0]["message"] == "The PDF has 3 pages; at most 2 are accepted."
    assert not Media.objects.exists()


@pytest.mark.django_db
def test_players_get_the_pages_of_a_pdf_as_pictures(paired, campaign, pdf, make_media, fleet, anon):
    device = paired()
    picture = make_media(fleet)
    campaign(device.screen, pdf, name="Menu")
    campaign(device.screen, picture, name="Photo")
    items = {item["content_id"]: item for item in device.get("/api/device/playlist").json()["playlist"]["items"]}
    url = items[pdf.public_id]["download_url"]
    assert items[pdf.public_id]["type"] == "pdf" and items[pdf.public_id]["duration"] == 12

    listing = anon.get(url + "&pages=1")
    assert listing.status_code == 200
    pages = listing.json()["pages"]
    assert [(page["page"], page["file_hash"]) for page in pages] == [
        (number, page["sha256"]) for number, page in enumerate(pdf.metadata["pages"], start=1)
    ]
    second = anon.get(pages[1]["download_url"])
    body = b"".join(second.streaming_content)
    assert second.status_code == 200 and second["Content-Type"] == "image/png"
    assert hashlib.sha256(body).hexdigest() == pages[1]["file_hash"] and close(colour_of(body), BLUE)

    assert anon.get(url + "&page=3").status_code == 404
    assert anon.get(url + "&page=0").status_code == 404
    assert anon.get(url + "&page=x").status_code == 404
    assert anon.get(items[picture.public_id]["download_url"] + "&page=1").status_code == 404
    assert anon.get(url.replace("signature=", "signature=0") + "&page=1").status_code == 403


@pytest.mark.django_db
def test_deleting_a_pdf_deletes_its_pages(pdf, django_capture_on_commit_callbacks):
    names = [page["file"] for page in pdf.metadata["pages"]]
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        media_delete(media=pdf)
    assert not any(default_storage.exists(name) for name in names)
