"""The fetcher refuses non-public destinations by default (MEDIA_FETCH_ALLOW_PRIVATE_NETWORKS unset)."""

import time

import pytest
from werkzeug import Response

from apps.media import fetching
from apps.media.fetching import FetchError, fetch
from apps.media.models import Media

from . import files

CORPUS = [
    "http://127.0.0.1/x.png",
    "http://localhost/x.png",
    "http://[::1]/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://2130706433/x.png",
    "http://0.0.0.0/x.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/x.png",
    "http://172.16.0.1/x.png",
    "http://192.168.1.1/x.png",
    "http://100.64.0.1/x.png",
    "http://[fc00::1]/x.png",
    "http://[fe80::1]/x.png",
    "http://127.1/x.png",
    "https://127.0.0.1:8443/x.png",
]


@pytest.fixture(autouse=True)
def _default_rule(settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", CORPUS)
def test_private_and_local_addresses_are_refused(url):
    with pytest.raises(FetchError, match="non-public address"):
        fetch(url)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://example.com/x", "javascript:alert(1)", "//x"]
)
def test_other_schemes_are_refused(url):
    with pytest.raises(FetchError, match="Only http and https"):
        fetch(url)


def test_credentials_in_urls_are_refused():
    with pytest.raises(FetchError, match="credentials"):
        fetch("http://user:pass@example.com/x.png")


def test_a_redirect_to_a_private_address_is_refused(httpserver, monkeypatch):
    # The local server stands in for a public host: its address alone is let through, as a public
    # address would be; the address it redirects to is judged by the real rule.
    real = fetching._address_allowed
    monkeypatch.setattr(fetching, "_address_allowed", lambda address: address == "127.0.0.1" or real(address))
    httpserver.expect_request("/start").respond_with_response(
        Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    httpserver.expect_request("/ok").respond_with_data(files.picture(fmt="PNG"), content_type="image/png")
    assert fetch(httpserver.url_for("/ok")).status == 200  # the stand-in itself is fetched
    with pytest.raises(FetchError, match=r"non-public address \(169\.254\.169\.254\)"):
        fetch(httpserver.url_for("/start"))


def test_redirect_loops_stop(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    httpserver.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": "/loop"}))
    with pytest.raises(FetchError, match="redirects more than"):
        fetch(httpserver.url_for("/loop"))


def test_size_limit_while_streaming(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = 1000
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000, content_type="application/octet-stream")
    with pytest.raises(FetchError, match="larger than the 1000 bytes"):
        fetch(httpserver.url_for("/big"))


@pytest.mark.django_db
def test_the_api_answers_400_and_stores_nothing(api):
    for url in ["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "http://10.0.0.1/x"]:
        response = api.post("/api/management/v2/medias/", {"url_origin": url, "display_time": 5}, format="json")
        assert response.status_code == 400
        assert response.json()["url_origin"][0]["code"] == "invalid"
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/x",  # NAT64 of 169.254.169.254
        "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/x",  # IPv4-compatible
        "http://[::ffff:0:7f00:1]/x",  # IPv4-translated
        "http://[fec0::1]/x",  # site-local
    ],
)
def test_ipv6_forms_that_carry_a_private_ipv4_are_refused(url):
    with pytest.raises(FetchError, match="non-public address"):
        fetch(url)


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[x]/", "http://exa mple.com:99999/", "http://a..b/"])
def test_malformed_urls_are_fetch_errors(url):
    with pytest.raises(FetchError):
        fetch(url)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://[::1/x", "http://[x]/", "http://bücher.invalid/x.png"])
def test_malformed_and_international_urls_are_400_through_the_api(api, url):
    response = api.post("/api/management/v2/medias/", {"url_origin": url, "display_time": 5}, format="json")
    assert response.status_code == 400
    assert "url_origin" in response.json()


def test_a_server_trickling_bytes_is_cut_at_the_deadline(httpserver, settings):
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.SIGNAGE_MEDIA_FETCH_TIMEOUT = 1

    def trickle():
        for _ in range(20):
            time.sleep(0.25)
            yield b"x"

    httpserver.expect_request("/slow").respond_with_response(Response(trickle(), content_type="image/png"))
    started = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        fetch(httpserver.url_for("/slow"))
    assert time.monotonic() - started < 2.5
