"""The lean device path below Django's request cycle (signage/wsgi.py: `LeanDeviceWSGI`): idle heartbeats and
304s answered from the WSGI environ with the middleware's own semantics, everything else passed on untouched."""

import json
import os

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.devices.lean import DECLINED, LeanDeviceWSGI
from apps.devices.models import Device
from signage import kv, wsgi

from .conftest import HOST, RedisRoundTrips

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)"),
]


class Passed:
    """Stands for Django's application: records what the wrapper passed on, with the body it could read."""

    def __init__(self):
        self.calls = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.calls.append((environ["PATH_INFO"], environ["wsgi.input"].read(length), environ.get(DECLINED)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]


def call(application, method, path, *, token, body=None, **extra):
    factory = RequestFactory()
    if body is None:
        environ = factory.generic(method, path, HTTP_AUTHORIZATION=token, **extra).environ
    else:
        data = json.dumps(body).encode()
        environ = factory.generic(
            method, path, data, content_type="application/json", HTTP_AUTHORIZATION=token, **extra
        ).environ
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    answer["body"] = b"".join(application(environ, start_response))
    return answer


def token_of(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"]


def test_production_wsgi_wraps_django_in_the_lean_path():
    assert isinstance(wsgi.application, LeanDeviceWSGI)
    assert wsgi.application.application is wsgi.django_application


def test_an_idle_heartbeat_and_a_304_are_answered_before_django_with_no_sql_and_one_round_trip(warm, monkeypatch):
    through_django = warm.post("/api/device/heartbeat", {"volume": 50}, format="json")
    django_app, trips = Passed(), RedisRoundTrips(monkeypatch)
    application = LeanDeviceWSGI(django_app)
    with CaptureQueriesContext(connection) as queries:
        beat = call(application, "POST", "/api/device/heartbeat", token=token_of(warm), body={"volume": 50})
    assert (len(queries), trips.count, django_app.calls) == (0, 1, [])
    assert beat["status"] == "200 OK"
    assert json.loads(beat["body"]) == through_django.json()  # the middleware's answer, field for field
    headers = beat["headers"]
    assert headers["Content-Type"] == "application/json" and headers["Content-Length"] == str(len(beat["body"]))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert int(headers["X-RateLimit-Remaining"]) == int(through_django["X-RateLimit-Remaining"]) - 1
    trips.count = 0
    with CaptureQueriesContext(connection) as queries:
        not_modified = call(
            application, "GET", "/api/device/playlist", token=token_of(warm), HTTP_IF_NONE_MATCH=warm.etag
        )
    assert (len(queries), trips.count, django_app.calls) == (0, 1, [])
    assert (not_modified["status"], not_modified["body"], not_modified["headers"]["ETag"]) == (
        "304 Not Modified",
        b"",
        warm.etag,
    )


def test_what_the_lean_path_declines_reaches_django_with_its_body_and_is_not_asked_twice(warm, api, monkeypatch):
    django_app = Passed()
    application = LeanDeviceWSGI(django_app)
    token = token_of(warm)
    doubtful = {"volume": 101}
    assert call(application, "POST", "/api/device/heartbeat", token=token, body=doubtful)["body"] == b"django"
    device = Device.objects.get()
    command = api.post(f"{HOST}/devices/{device.pk}/command/", {"type": "reboot"}, format="json")
    assert command.status_code == 201, command.content  # pending: the full path serves
    pending = {"volume": 50, "wifi_signal": -60}
    call(application, "POST", "/api/device/heartbeat", token=token, body=pending)
    call(application, "GET", "/api/device/playlist", token=token, HTTP_IF_NONE_MATCH="0" * 64)  # a stale ETag
    call(application, "GET", "/api/device/register", token=token)  # not a lean path at all
    assert django_app.calls == [
        ("/api/device/heartbeat", json.dumps(doubtful).encode(), True),
        ("/api/device/heartbeat", json.dumps(pending).encode(), True),
        ("/api/device/playlist", b"", True),
        ("/api/device/register", b"", None),
    ]
    # Django's middleware then leaves the declined request to the full view without a second script run.
    trips = RedisRoundTrips(monkeypatch)
    declined = RequestFactory().post("/api/device/heartbeat", pending, content_type="application/json")
    declined.META.update({DECLINED: True, "HTTP_AUTHORIZATION": token})
    from apps.devices.lean import LeanDevicePathMiddleware

    assert LeanDevicePathMiddleware(lambda request: "full view")(declined) == "full view"
    assert trips.count == 0


def test_a_declined_heartbeat_is_answered_by_the_full_view_through_the_production_application(warm):
    """The real chain: the wrapper, then Django, whose full view reads the body the wrapper had read."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)  # as Django's test client does: keep the test's
    try:  # transaction open
        answer = call(wsgi.application, "POST", "/api/device/heartbeat", token=token_of(warm), body={"volume": 101})
        full = call(wsgi.application, "POST", "/api/device/heartbeat", token=token_of(warm), body={"volume": "7"})
    finally:
        signals.request_started.connect(close_old_connections)
    assert answer["status"].startswith("400") and "volume" in json.loads(answer["body"])
    assert full["status"] == "200 OK" and json.loads(full["body"])["status"] == "ok"
    assert Device.objects.get().volume == 7  # the full path wrote it


def test_the_wsgi_lean_path_refuses_past_the_rate_limit_like_the_middleware(warm, settings):
    settings.SIGNAGE_RATE_LIMITS = [("device", ["*"], 1000, 2), ("*", ["*"], 1000, 1000)]
    for key in kv.client().keys("*rl:device:*"):
        kv.client().delete(key)
    application = LeanDeviceWSGI(Passed())
    answers = [call(application, "POST", "/api/device/heartbeat", token=token_of(warm), body={}) for _ in range(3)]
    assert [answer["status"][:3] for answer in answers] == ["200", "200", "429"]
    refused = answers[-1]
    assert json.loads(refused["body"])["code"] == "throttled" and int(refused["headers"]["Retry-After"]) > 0
    assert refused["headers"]["X-RateLimit-Remaining"] == "0"
