import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from oauth2_provider.models import AccessToken as OAuthAccessToken
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from signage.api import ratelimit
from tests.conftest import RUN_PREFIX

pytestmark = pytest.mark.django_db

FLEETS = "/api/management/v2/fleets/"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_limits(settings):
    settings.SIGNAGE_RATE_LIMITS = [
        ("medias", ["POST"], 5, 2),
        ("fleets", ["GET"], 10, 3),
        ("get_jwt_token", ["*"], 100, 2),
        ("*", ["*"], 100, 50),
    ]


@pytest.fixture
def frozen_clock(monkeypatch):
    now = {"t": 1_800_000_000.0}  # 08:00:00 UTC, an hour boundary
    monkeypatch.setattr(ratelimit, "clock", lambda: now["t"])
    return now


def test_429_after_the_limit_with_the_reference_payload(api, small_limits, frozen_clock):
    frozen_clock["t"] += 1000
    for remaining in (2, 1, 0):
        response = api.get(FLEETS)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Remaining"] == str(remaining)
        assert response["X-RateLimit-Reset"] == str(1_800_000_000 + 3600)

    response = api.get(FLEETS)
    assert response.status_code == 429
    assert response.json() == {
        "code": "throttled",
        "message": "Request was throttled. Expected available in 2600 seconds.",
    }
    assert response["Retry-After"] == "2600"
    assert response["X-RateLimit-Remaining"] == "0"

    frozen_clock["t"] += 600
    response = api.get(FLEETS)
    assert response.status_code == 429
    assert response["Retry-After"] == "2000"
    assert response.json()["message"] == "Request was throttled. Expected available in 2000 seconds."

    frozen_clock["t"] += 2000  # the next hour: a new hourly window
    assert api.get(FLEETS).status_code == 200


def test_the_daily_window_holds_across_hours(api, small_limits, frozen_clock):
    for hour in range(4):
        frozen_clock["t"] = 1_800_000_000 + hour * 3600
        for _ in range(3 if hour < 3 else 1):
            assert api.get(FLEETS).status_code == 200
    response = api.get(FLEETS)
    # 10 requests used today: the daily window is the one exhausted, until midnight UTC
    assert response.status_code == 429
    day_end = 1_800_000_000 - 1_800_000_000 % 86400 + 86400
    assert response["Retry-After"] == str(day_end - (1_800_000_000 + 3 * 3600))


def test_limits_are_per_endpoint_method_and_principal(api, client_for, make_member, fleet, small_limits):
    for _ in range(3):
        api.get(FLEETS)
    assert api.get(FLEETS).status_code == 429
    assert api.get("/api/management/v2/me/").status_code == 200  # another endpoint, and not counted anyway
    colleague = make_member(fleet)
    assert client_for(colleague).get(FLEETS).status_code == 200


def test_an_oauth2_application_is_its_own_principal(api, user, small_limits):
    app = Application.objects.create(
        name="integration",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    from django.utils import timezone

    OAuthAccessToken.objects.create(
        application=app, token="tok-123", expires=timezone.now() + timezone.timedelta(hours=1), scope="read write"
    )
    for _ in range(3):
        api.get(FLEETS)
    assert api.get(FLEETS).status_code == 429
    as_app = APIClient()
    as_app.credentials(HTTP_AUTHORIZATION="Bearer tok-123")
    assert as_app.get(FLEETS).status_code == 200


def test_headers_on_every_api_response(api, anon):
    for response in (
        api.get(FLEETS),
        api.get("/api/management/v2/me/"),
        api.get(FLEETS + "123456/"),
        api.get("/api/management/v2/unknown/"),
        anon.get(FLEETS),
        anon.post("/api/oauth/token/", {"grant_type": "client_credentials"}),
    ):
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(response.headers)


def test_anonymous_limits_use_the_socket_address_not_x_forwarded_for(anon, small_limits):
    for i in range(2):
        anon.post("/api/get_jwt_token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    response = anon.post("/api/get_jwt_token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    other = anon.post("/api/get_jwt_token/", {"username": "x", "password": "y"}, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 401


def test_trusted_proxy_count_makes_the_proxys_entry_the_client(anon, small_limits, settings):
    settings.SIGNAGE_TRUSTED_PROXY_COUNT = 1
    for _ in range(2):
        anon.post(
            "/api/get_jwt_token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
        )
    # A client forging its own leftmost entry is still the address our proxy appended.
    forged = anon.post(
        "/api/get_jwt_token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5"
    )
    assert forged.status_code == 429
    fresh = anon.post("/api/get_jwt_token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert fresh.status_code == 401


def test_limits_are_shared_by_two_processes_through_one_redis(api, user, settings, redis_url):
    prefix = f"{RUN_PREFIX}-shared"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.SIGNAGE_RATE_LIMITS = [("*", ["*"], 1000, 10)]
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        from signage.api import ratelimit
        for _ in range(7):
            state = ratelimit.hit("user:{user.pk}", "fleets", "GET")
        print(state[0].used)
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "signage.settings",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": prefix,
    }
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "7"

    statuses = [api.get(FLEETS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_oauth2_token_endpoint_is_limited_per_ip(anon, settings):
    settings.SIGNAGE_RATE_LIMITS = [("oauth", ["POST"], 100, 2), ("*", ["*"], 100, 100)]
    statuses = [anon.post("/api/oauth/token/", {"grant_type": "client_credentials"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]  # no client credentials, then throttled
    response = anon.post("/api/oauth/token/", {"grant_type": "client_credentials"})
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert response["X-RateLimit-Remaining"] == "0"


def test_refused_requests_do_not_burn_the_daily_allowance(api, small_limits, frozen_clock):
    statuses = [api.get(FLEETS).status_code for _ in range(12)]
    assert statuses == [200] * 3 + [429] * 9
    frozen_clock["t"] += 3600  # next hour: 7 of the day's 10 are left
    statuses = [api.get(FLEETS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
