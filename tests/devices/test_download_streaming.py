"""Downloads stream: a ranged request for a large file keeps the worker's memory flat."""

import tracemalloc

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LARGE = 24 * 1024 * 1024


@pytest.fixture
def large_download(paired, make_media, campaign, fleet):
    """The signed download URL of a media whose stored file is 24 MiB (a Pillow picture, padded)."""
    client = paired()
    media = make_media(fleet)
    campaign(client.screen, media)
    with open(media.file.path, "ab") as handle:
        handle.truncate(LARGE)  # sparse on disk, read back as zeros
    media.size = LARGE
    media.save(update_fields=["size"])
    item = client.get("/api/device/playlist").json()["playlist"]["items"][0]
    return item["download_url"].replace("http://testserver", ""), media


@pytest.mark.parametrize("range_header", ["bytes=0-", "bytes=1-", "bytes=-20000000"])
def test_ranged_download_of_a_large_file_keeps_memory_flat(large_download, range_header):
    url, _media = large_download
    tracemalloc.start()
    try:
        response = APIClient().get(url, HTTP_RANGE=range_header)
        received, largest_chunk = 0, 0
        for chunk in response.streaming_content if response.streaming else [response.content]:
            received += len(chunk)
            largest_chunk = max(largest_chunk, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 206
    expected = int(response["Content-Length"])
    assert expected >= 20_000_000
    assert received == expected
    assert largest_chunk <= 64 * 1024
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a {expected}-byte range"


def test_ranged_download_content_and_headers(large_download):
    url, media = large_download
    with open(media.file.path, "rb") as handle:
        handle.seek(LARGE - 100_000)
        tail = handle.read()
    response = APIClient().get(url, HTTP_RANGE=f"bytes={LARGE - 100_000}-")
    assert response["Content-Range"] == f"bytes {LARGE - 100_000}-{LARGE - 1}/{LARGE}"
    assert response["Content-Length"] == "100000"
    assert b"".join(response.streaming_content) == tail
