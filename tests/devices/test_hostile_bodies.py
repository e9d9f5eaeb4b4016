"""Players' big bodies are refused with a 413, not a 500 (issue 14, finding 11)."""

import json

import pytest
from rest_framework.test import APIClient

from apps.devices.models import Screenshot
from signage.api.parsers import MULTIPART_ENVELOPE
from tests.api.bodies import MultipartInput, send

pytestmark = pytest.mark.django_db


def raw(client, path, body: str):
    return client.post(path, data=body, content_type="application/json")


def test_the_default_limit_gives_a_413_for_a_stats_batch_of_20000_events(paired):
    player = paired()
    events = [
        {
            "id": f"00000000-0000-0000-0000-{i:012d}",
            "media": "picture-1",
            "ad": "00000000-0000-0000-0000-000000000001",
            "started_at": "2026-01-01T00:00:00Z",
            "duration": 10.0,
        }
        for i in range(20_000)
    ]
    body = json.dumps({"events": events})
    assert len(body) > 2_621_440
    response = raw(player, "/api/device/stats", body)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize("path", ["/api/device/heartbeat", "/api/device/stats"])
def test_a_heartbeat_or_stats_body_over_the_limit_is_a_413(paired, settings, path):
    player = paired()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"app_version": "1", "current_content": "x" * 20_000})
    response = raw(player, path, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 10000 bytes.", "code": "request_too_large"}


# --- screenshots: multipart bodies bounded by SCREENSHOT_MAX_BYTES (signage/api/parsers.py) ------------------


def test_a_screenshot_content_length_past_the_shipped_limit_is_a_413_and_the_body_is_not_read(paired, settings):
    player = paired()
    bound = settings.SIGNAGE_SCREENSHOT_MAX_BYTES + MULTIPART_ENVELOPE
    body = MultipartInput(1024**3, field="image")
    response = send(player, "/api/device/screenshots", body, content_length=bound + 1)
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is larger than {bound} bytes.", "code": "request_too_large"}
    assert body.read_bytes == 0
    assert not Screenshot.objects.exists()


def test_a_screenshot_body_inside_the_envelope_is_read_and_keeps_its_400(paired, settings):
    player = paired()
    settings.SIGNAGE_SCREENSHOT_MAX_BYTES = 1000
    body = MultipartInput(1000 + MULTIPART_ENVELOPE - 300, field="image")
    response = send(player, "/api/device/screenshots", body, content_length=body.length)
    assert response.status_code == 400 and response.json()["image"][0]["code"] == "too_large"
    assert body.read_bytes == body.length


@pytest.mark.parametrize("token", [None, "Device not-a-token"])
def test_an_unknown_player_is_refused_before_its_body_is_read(token, settings):
    stranger = APIClient()
    if token:
        stranger.credentials(HTTP_AUTHORIZATION=token)
    body = MultipartInput(1024**3, field="image")
    response = send(stranger, "/api/device/screenshots", body, content_length=settings.SIGNAGE_SCREENSHOT_MAX_BYTES * 4)
    assert response.status_code == 401
    assert body.read_bytes == 0
