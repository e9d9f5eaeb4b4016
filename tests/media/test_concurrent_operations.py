"""Two operations on one media at once run one after the other (issue 14, finding 2): a share to external
storage never reads a file that a transform or a deletion has just replaced or removed."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.services import default_external_storage
from apps.media import services
from apps.media.models import Media

from . import files

BASE = "/api/management/v2/medias/"


@pytest.fixture
def shared_media(transactional_db, fleet, user, settings):
    fleet.external_storage = default_external_storage(fleet)
    fleet.save()
    body = (
        _client(user)
        .post(
            BASE,
            {"file": SimpleUploadedFile("q.png", files.quadrants((200, 150))), "display_time": 10},
            format="multipart",
        )
        .json()
    )
    return body["id"], user, settings.MEDIA_ROOT / "external" / str(fleet.pk)


def _client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {AccessToken.for_user(user)}")
    return client


def _paused_share(monkeypatch):
    """Makes the next share stop, once it holds the media, until `go` is set."""
    holding, go = threading.Event(), threading.Event()
    original = services.fleet_external_storage

    def paused(fleet):
        holding.set()
        assert go.wait(20)
        return original(fleet)

    monkeypatch.setattr(services, "fleet_external_storage", paused)
    return holding, go


def _in_thread(function):
    result = {}

    def run():
        try:
            result["response"] = function()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize("other", ["transform", "delete"])
def test_a_transform_or_a_delete_waits_for_a_share_in_progress(shared_media, monkeypatch, other):
    media_id, user, external = shared_media
    holding, go = _paused_share(monkeypatch)
    share, shared = _in_thread(lambda: _client(user).post(f"{BASE}{media_id}/to_external_storage/", {"folder": "f"}))
    assert holding.wait(20)
    if other == "transform":
        second = lambda: _client(user).post(  # noqa: E731
            f"{BASE}{media_id}/transform/", {"x": 0, "y": 0, "width": 100, "height": 100}, format="json"
        )
    else:
        second = lambda: _client(user).delete(f"{BASE}{media_id}/")  # noqa: E731
    thread, result = _in_thread(second)
    thread.join(1.0)
    assert thread.is_alive()  # waiting for the share's lock on the media
    go.set()
    share.join(20)
    thread.join(20)
    assert shared["response"].status_code == 200, shared["response"].content
    assert result["response"].status_code == (200 if other == "transform" else 204)
    copies = list(external.rglob("*.png"))
    assert len(copies) == 1 and copies[0].stat().st_size > 0


def test_a_share_after_a_delete_is_a_404(shared_media, monkeypatch):
    media_id, user, external = shared_media
    media = Media.objects.get(pk=media_id.split("-")[1])
    assert _client(user).delete(f"{BASE}{media_id}/").status_code == 204
    with pytest.raises(Http404):
        services.media_share_external(media=media, folder="f")
    assert not list(external.rglob("*.png"))
