"""The full playlist fetch on the lean path (lean.playlist_full): the full view's body from the published state
in one Redis round trip and no SQL, one UPDATE and a second round trip when the player takes a new playlist."""

import json
import os
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices.lean import DECLINED, LeanDeviceWSGI
from apps.devices.models import Device
from apps.devices.services import devices_flush_fetches

from .conftest import HOST, RedisRoundTrips
from .test_lean_wsgi import Passed, call, token_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)"),
]


def comparable(body: dict) -> dict:
    """The body with each download URL's expiry and signature set aside (they move with the clock); the
    signature is checked by downloading."""

    def url(value):
        if value is None:
            return None
        parts = urlsplit(value)
        return (parts.scheme, parts.netloc, parts.path, parse_qs(parts.query)["device"])

    body = json.loads(json.dumps(body))
    for item in (*body["playlist"]["items"], *body["content_to_download"]):
        item["download_url"] = url(item["download_url"])
    return body


def test_a_full_fetch_is_the_full_views_body_with_no_sql_and_one_round_trip(warm, monkeypatch):
    full_view = warm.get("/api/device/playlist", **{DECLINED: True})  # the middleware passes it to DRF
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        lean = warm.get("/api/device/playlist")
    assert (lean.status_code, len(queries), trips.count) == (200, 0, 1), [q["sql"] for q in queries.captured_queries]
    assert lean["Content-Type"] == "application/json" and lean["ETag"] == full_view["ETag"] == warm.etag
    assert comparable(lean.json()) == comparable(full_view.json())
    assert len(lean.json()["playlist"]["items"]) == 3
    for item in lean.json()["content_to_download"]:  # the signed URLs download
        assert warm.get(item["download_url"]).status_code == 200


def test_a_new_playlist_costs_two_round_trips_and_no_sql_and_the_flush_writes_it(warm, replace_media, monkeypatch):
    old, other = replace_media()
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        response = warm.get("/api/device/playlist")
    assert (response.status_code, len(queries), trips.count) == (200, 0, 2)
    body = response.json()
    assert body["etag"] != warm.etag and response["ETag"] == f'"{body["etag"]}"'
    assert body["content_to_delete"] == [old] and other.public_id in [
        c["content_id"] for c in body["content_to_download"]
    ]
    assert Device.objects.get().playlist_etag != body["etag"]  # written behind: the flush writes it
    with CaptureQueriesContext(connection) as queries:
        assert devices_flush_fetches() == 1
    assert len(queries) == 1
    device = Device.objects.get()
    assert device.playlist_etag == body["etag"] and device.content_ids == [
        c["content_id"] for c in body["content_to_download"]
    ]
    # The record follows: the new ETag is a lean 304, the heartbeat has no update, nothing is left to delete.
    trips.count = 0
    with CaptureQueriesContext(connection) as queries:
        assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
        assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
        again = warm.get("/api/device/playlist")
    assert (len(queries), trips.count, again.json()["content_to_delete"]) == (0, 3, [])


def test_a_renamed_screen_is_named_in_the_next_fetch(warm, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.patch(f"{HOST}/screens/{warm.screen.pk}/", {"name": "Lobby\nnorth"}, format="json").status_code == 200
        )
    assert warm.get("/api/device/playlist").json()["playlist"]["name"] == "Lobby\nnorth"


def test_below_django_a_full_fetch_is_answered_and_a_bad_host_goes_to_django(warm, monkeypatch):
    full_view = warm.get("/api/device/playlist", **{DECLINED: True})
    django_app = Passed()
    application = LeanDeviceWSGI(django_app)
    with CaptureQueriesContext(connection) as queries:
        answer = call(application, "GET", "/api/device/playlist", token=token_of(warm))
    assert (answer["status"], len(queries), django_app.calls) == ("200 OK", 0, [])
    assert comparable(json.loads(answer["body"])) == comparable(full_view.json())
    assert answer["headers"]["Content-Length"] == str(len(answer["body"]))
    call(application, "GET", "/api/device/playlist", token=token_of(warm), HTTP_HOST="evil.example")
    assert [path for path, _, _ in django_app.calls] == ["/api/device/playlist"]  # Django answers its 400


@pytest.mark.parametrize("count", [1, 40])
def test_the_fetch_flush_is_one_statement_for_a_batch_and_the_last_fetch_wins(screen, make_devices, count):
    from apps.devices import records

    make_devices(screen, count)
    devices = list(Device.objects.order_by("pk"))
    for index, device in enumerate(devices):
        records.fetch_record(device_id=device.pk, token_hash=device.token_hash, etag="a" * 64, content_ids=[])
        records.fetch_record(
            device_id=device.pk,
            token_hash=device.token_hash,
            etag=f"{index:064d}",
            content_ids=[f"video-{index}", "picture-1"],
        )
    assert records.fetch_pending(devices[-1].pk) == (f"{count - 1:064d}", [f"video-{count - 1}", "picture-1"])
    with CaptureQueriesContext(connection) as queries:
        assert devices_flush_fetches() == count
    assert len(queries) == 1
    assert [(d.playlist_etag, d.content_ids) for d in Device.objects.order_by("pk")] == [
        (f"{index:064d}", [f"video-{index}", "picture-1"]) for index in range(count)
    ]
    assert records.fetch_pending(devices[0].pk) is None and devices_flush_fetches() == 0


def test_a_fetch_not_yet_flushed_is_what_the_full_path_compares_and_remembers(warm, replace_media):
    from apps.devices import records

    replace_media()
    taken = warm.get("/api/device/playlist")  # lean, buffered
    device = Device.objects.get()
    assert device.playlist_etag != taken.json()["etag"]
    # Its record forgotten (a command, a save): the full path answers from the buffer, not the stale columns.
    records.forget([device.token_hash])
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
    records.forget([device.token_hash])
    assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=taken["ETag"]).status_code == 304
    records.forget([device.token_hash])
    assert warm.get("/api/device/playlist").json()["content_to_delete"] == []
    # The heartbeat above remembered the record from the buffer: the lean path says the same.
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
    assert warm.get("/api/device/playlist").json()["content_to_delete"] == []
