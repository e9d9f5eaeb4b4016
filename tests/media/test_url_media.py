"""URL media against a real local HTTP server (pytest-httpserver) whose content changes."""

import hashlib
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from apps.media.models import Media
from apps.media.services import media_refresh
from apps.media.tasks import refresh_due_url_media

from . import files

BASE = "/api/management/v2/medias/"


class Origin:
    """A file on the local server, with ETag and Last-Modified, answering conditional requests."""

    def __init__(self, httpserver, content: bytes, content_type="image/png", path="/file"):
        self.content, self.content_type, self.status = content, content_type, 200
        self.version, self.use_etag, self.use_last_modified, self.delay = 1, True, True, 0.0
        self.log: list[tuple[dict, int]] = []
        self.on_request = None
        self.url = httpserver.url_for(path)
        httpserver.expect_request(path).respond_with_handler(self.handle)

    def change(self, content: bytes, content_type=None):
        self.content, self.version = content, self.version + 1
        self.content_type = content_type or self.content_type

    @property
    def etag(self):
        return f'"v{self.version}"'

    @property
    def last_modified(self):
        return f"Sun, 0{self.version} Nov 2026 10:00:00 GMT"

    def handle(self, request):
        time.sleep(self.delay)
        if self.on_request is not None:
            self.on_request()
        headers = {}
        if self.use_etag:
            headers["ETag"] = self.etag
        if self.use_last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.status != 200:
            response = Response(b"error", status=self.status)
        elif (self.use_etag and request.headers.get("If-None-Match") == self.etag) or (
            not self.use_etag
            and self.use_last_modified
            and request.headers.get("If-Modified-Since") == self.last_modified
        ):
            response = Response(status=304, headers=headers)
        else:
            response = Response(self.content, content_type=self.content_type, headers=headers)
        self.log.append((dict(request.headers), response.status_code))
        return response


@pytest.fixture(autouse=True)
def _local_server_allowed(settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True  # the test server is on 127.0.0.1


@pytest.fixture
def origin(httpserver):
    return Origin(httpserver, files.picture(fmt="PNG", size=(32, 32)))


def post(api, payload):
    # Reference 000 sends `data=payload`: form-encoded.
    return api.post(BASE, payload, format="multipart")


@pytest.mark.django_db
def test_reference_url_picture(api, origin):
    response = post(api, {"display_time": 15, "url_origin": origin.url})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["width"], body["url_origin"], body["refresh_time"]) == ("picture", 32, origin.url, None)
    assert body["checksum"] == hashlib.sha256(origin.content).hexdigest()


@pytest.mark.django_db
def test_reference_url_video(api, httpserver):
    source = Origin(httpserver, files.video(), content_type="video/mp4", path="/myvideo")
    response = post(api, {"url_origin": source.url})
    assert response.status_code == 201, response.content
    assert (response.json()["type"], response.json()["display_time"]) == ("video", None)


@pytest.mark.django_db
def test_octet_stream_is_typed_by_its_first_bytes(api, httpserver):
    source = Origin(httpserver, files.pdf(), content_type="application/octet-stream")
    response = post(api, {"url_origin": source.url, "display_time": 10})
    assert response.status_code == 201
    assert response.json()["type"] == "pdf"


@pytest.mark.django_db
def test_a_file_that_is_not_what_its_content_type_says_is_refused(api, httpserver, settings):
    source = Origin(httpserver, files.pdf(), content_type="image/png")
    response = post(api, {"url_origin": source.url, "display_time": 10})
    assert response.status_code == 400
    assert response.json()["url_origin"][0]["message"] == "The file claims to be a picture but is a pdf."
    assert not Media.objects.exists()


@pytest.mark.django_db
def test_an_error_status_is_a_400(api, origin):
    origin.status = 404
    response = post(api, {"url_origin": origin.url, "display_time": 10})
    assert response.status_code == 400
    assert response.json()["url_origin"][0]["message"] == "The URL answered HTTP 404."


@pytest.fixture
def refreshed(api, origin, db):
    """The reference's automatic-update payload: check every 2 hours, valid 4 hours after an update."""
    response = post(api, {"display_time": 15, "url": origin.url, "refresh_time": 120, "validity_time": 240})
    assert response.status_code == 201, response.content
    return Media.objects.get(pk=response.json()["id"].split("-")[1]), response.json()


def test_reference_automatic_update_payload(refreshed):
    media, body = refreshed
    assert (body["refresh_time"], body["validity_time"]) == (120, 240)
    assert body["url_origin"] == media.source_url
    assert media.valid_until == media.last_successful_update + timedelta(minutes=240)
    assert media.next_refresh_at == media.last_successful_update + timedelta(minutes=120)
    assert media.etag == '"v1"'


def test_unchanged_content_is_not_downloaded(refreshed, origin):
    media, _ = refreshed
    before = media.last_successful_update
    assert media_refresh(media_id=media.pk) == "unchanged"
    headers, status = origin.log[-1]
    assert (headers.get("If-None-Match"), status) == ('"v1"', 304)
    media.refresh_from_db()
    assert media.last_successful_update > before and media.last_error == ""


def test_last_modified_alone_makes_a_conditional_request(api, origin, db):
    origin.use_etag = False
    media_id = post(api, {"display_time": 5, "url": origin.url, "refresh_time": 1}).json()["id"].split("-")[1]
    assert media_refresh(media_id=int(media_id)) == "unchanged"
    headers, status = origin.log[-1]
    assert (headers.get("If-Modified-Since"), status) == (origin.last_modified, 304)


def test_changed_content_replaces_the_file(refreshed, origin, settings, django_capture_on_commit_callbacks):
    media, _ = refreshed
    old_file = media.file.name
    new_content = files.picture(fmt="PNG", size=(48, 16), color=(0, 0, 255))
    origin.change(new_content)
    with django_capture_on_commit_callbacks(execute=True):
        assert media_refresh(media_id=media.pk) == "updated"
    media.refresh_from_db()
    assert media.checksum == hashlib.sha256(new_content).hexdigest()
    assert (media.width, media.height, media.etag) == (48, 16, '"v2"')
    assert media.file.name != old_file
    assert not (settings.MEDIA_ROOT / old_file).exists() and (settings.MEDIA_ROOT / media.file.name).exists()


@pytest.mark.parametrize("status", [403, 404, 502])
def test_errors_keep_the_file_and_record_the_failure(refreshed, origin, status):
    media, _ = refreshed
    last_success, file_name, valid_until = media.last_successful_update, media.file.name, media.valid_until
    origin.status = status
    assert media_refresh(media_id=media.pk) == "failed"
    assert media_refresh(media_id=media.pk) == "failed"
    media.refresh_from_db()
    assert (media.file.name, media.last_successful_update, media.valid_until) == (file_name, last_success, valid_until)
    assert media.last_error == f"The URL answered HTTP {status}." and media.consecutive_failures == 2
    assert media.next_refresh_at > timezone.now()
    origin.status = 200
    assert media_refresh(media_id=media.pk) == "unchanged"
    media.refresh_from_db()
    assert (media.last_error, media.consecutive_failures) == ("", 0)
    assert media.valid_until > valid_until


def test_a_type_change_is_refused(refreshed, origin):
    media, _ = refreshed
    origin.change(files.video(), content_type="video/mp4")
    assert media_refresh(media_id=media.pk) == "failed"
    media.refresh_from_db()
    assert media.type == "picture" and "must stay a picture" in media.last_error


def test_the_periodic_task_refreshes_what_is_due(refreshed, origin):
    media, _ = refreshed
    assert refresh_due_url_media() == 0  # not due for two hours
    Media.objects.filter(pk=media.pk).update(next_refresh_at=timezone.now() - timedelta(seconds=1))
    origin.change(files.picture(fmt="PNG", size=(8, 8)))
    assert refresh_due_url_media() == 1  # tasks run eagerly in tests
    media.refresh_from_db()
    assert (media.width, media.next_refresh_at > timezone.now()) == (8, True)


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_download_once(api, origin, make_member, fleet):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {AccessToken.for_user(make_member(fleet))}")
    media_id = int(post(client, {"display_time": 5, "url": origin.url, "refresh_time": 1}).json()["id"].split("-")[1])
    origin.change(files.picture(fmt="PNG", size=(20, 20)))
    origin.delay = 0.5
    requests_before = len(origin.log)
    outcomes = []

    def run():
        from django.db import connection

        outcomes.append(media_refresh(media_id=media_id))
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy", "updated"]
    assert len(origin.log) - requests_before == 1
    assert Media.objects.get(pk=media_id).width == 20


@pytest.mark.django_db(transaction=True)
def test_a_rename_during_a_refresh_is_not_lost(origin, fleet, make_member):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {AccessToken.for_user(make_member(fleet))}")
    media_id = int(post(client, {"display_time": 5, "url": origin.url, "refresh_time": 1}).json()["id"].split("-")[1])
    origin.change(files.picture(fmt="PNG", size=(9, 9)))

    def rename_while_fetching():  # runs in the server's thread, on its own connection
        from django.db import connection

        response = client.patch(f"{BASE}picture-{media_id}/", {"name": "Renamed meanwhile"}, format="json")
        assert response.status_code == 200
        connection.close()

    origin.on_request = rename_while_fetching
    assert media_refresh(media_id=media_id) == "updated"
    media = Media.objects.get(pk=media_id)
    assert (media.name, media.width) == ("Renamed meanwhile", 9)


def test_lease_blocks_a_second_run(refreshed, origin):
    media, _ = refreshed
    Media.objects.filter(pk=media.pk).update(refresh_lease_until=timezone.now() + timedelta(minutes=1))
    assert media_refresh(media_id=media.pk) == "busy"
    assert len(origin.log) == 1  # only the creation fetched


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("meanwhile", ["delete", "transform"])
def test_a_refresh_loses_to_a_deletion_or_transform_meanwhile(origin, fleet, make_member, settings, meanwhile):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {AccessToken.for_user(make_member(fleet))}")
    media_id = int(post(client, {"display_time": 5, "url": origin.url, "refresh_time": 1}).json()["id"].split("-")[1])
    origin.change(files.picture(fmt="PNG", size=(40, 40)))

    def act():
        from django.db import connection

        path = f"{BASE}picture-{media_id}/"
        if meanwhile == "delete":
            assert client.delete(path).status_code == 204
        else:
            frame = {"x": 0, "y": 0, "width": 10, "height": 10}
            assert client.post(f"{path}transform/", frame, format="json").status_code == 200
        connection.close()

    origin.on_request = act
    assert media_refresh(media_id=media_id) == "superseded"
    media = Media.objects.filter(pk=media_id).first()
    root = settings.MEDIA_ROOT
    on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    if meanwhile == "delete":
        assert media is None and on_disk == []
    else:
        assert (media.width, media.height) == (10, 10)
        assert on_disk == sorted([media.file.name, media.thumbnail.name])
