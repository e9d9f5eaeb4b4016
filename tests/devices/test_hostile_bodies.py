"""Players' big bodies are refused with a 413, not a 500 (issue 14, finding 11)."""

import json

import pytest

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
