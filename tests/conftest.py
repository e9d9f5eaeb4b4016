import itertools
import os
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Role
from signage import kv
from tests.accounts.factories import PASSWORD, FleetFactory, member
from tests.devices.conftest import player  # noqa: F401 - a registered player, for any test that pairs one
from tests.media.factories import MediaFactory
from tests.places.factories import PlaceFactory
from tests.screens.factories import ScreenFactory

# Every test gets cache keys of its own under this run's prefix, and removes only those: a Redis shared
# with other runs, other projects or production keeps its data (never FLUSHDB).
RUN_PREFIX = f"signage-test-{uuid.uuid4().hex[:12]}"
_test_numbers = itertools.count()


def cache_clear_own() -> None:
    """Empty the current test's cache: its own keys only."""
    current = caches["default"]
    if not isinstance(current, RedisCache):
        current.clear()  # local memory: this process's own
        return
    client = kv.client()
    keys = list(client.scan_iter(match=f"{current.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "KEY_PREFIX": f"{RUN_PREFIX}-{next(_test_numbers)}"}}
    yield
    cache_clear_own()


def _start_redis(folder) -> tuple[subprocess.Popen, str]:
    socket = folder / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(socket))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.poll() is None:
        try:
            client.ping()
            return server, f"unix://{socket}"
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    server.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis for the tests that need a real one: REDIS_URL's, else a private server on a Unix socket
    started for this run (if `redis-server` is installed), else the test is skipped, saying why."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if shutil.which("redis-server") is None:
        pytest.skip("needs Redis: set REDIS_URL, or install redis-server for a private one")
    server, url = _start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # A JWT's user and fleets are read on every request, so a test's first request costs what its next ones
    # do; tests/accounts/test_principals.py turns the principal cache on and tests it.
    settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS = 0
    settings.MEDIA_ROOT = tmp_path / "media"  # files written by a test stay in its own folder
    # Hashed static names need `collectstatic`, a production step; tests serve files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# The shared fixtures are built with the per-app factories (tests/<app>/factories.py): a new test can call
# a factory directly (`ScreenFactory(fleet=fleet)`) instead of adding a fixture.


@pytest.fixture
def fleet(db):
    return FleetFactory(name="Paris Metro", max_screens=50)


@pytest.fixture
def other_fleet(db):
    return FleetFactory(name="Lyon Malls")


@pytest.fixture
def make_member(db, django_user_model):
    def make(fleet, role=Role.ADMIN, username=None, password=PASSWORD, **extra):
        username = username or f"{role}-{fleet.pk}-{django_user_model.objects.count()}"
        return member(fleet, role, username=username, password=password, **extra)

    return make


@pytest.fixture
def user(make_member, fleet):
    return make_member(fleet, Role.ADMIN, username="james")


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    """An API client authenticated as `user` with a JWT, as reference 000 sends it."""

    def make(user, prefix="JWT"):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"{prefix} {AccessToken.for_user(user)}")
        return api

    return make


@pytest.fixture
def api(client_for, user):
    return client_for(user)


@pytest.fixture
def make_place(db):
    def make(city="Paris", exclusive_fleet=None, **values):
        return PlaceFactory(city=city, exclusive_fleet=exclusive_fleet, **values)

    return make


@pytest.fixture
def make_screen(db):
    def make(fleet, name="Screen", **values):
        return ScreenFactory(fleet=fleet, name=name, **values)

    return make


@pytest.fixture
def make_media(db):
    def make(fleet, kind="picture", display_time=10, name=None, seconds=1):
        return MediaFactory(fleet=fleet, kind=kind, display_time=display_time, name=name, seconds=seconds)

    return make


# Every /api/ response the suite sees, as (method, path, status): tests/zz_schema checks the OpenAPI schema
# documents each of them.
SEEN_RESPONSES: set[tuple[str, str, int]] = set()


@pytest.fixture(autouse=True, scope="session")
def _record_api_responses():
    from django.test import Client

    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") and not path.startswith(("/api/schema", "/api/docs")):
            SEEN_RESPONSES.add((environ.get("REQUEST_METHOD", "GET").lower(), path, response.status_code))
        return response

    Client.request = request
    yield
    Client.request = original
