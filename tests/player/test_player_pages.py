import io
import re

import pytest

from apps.accounts.models import Role


def test_the_player_page_loads_its_own_static_files_and_no_cdn(client):
    response = client.get("/player/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/player/player.js" in sources and "/static/player/player.css" in sources
    assert all(source.startswith("/") for source in sources), sources  # nothing from another origin
    assert 'data-service-worker="/player/sw.js"' in html
    assert client.get("/static/player/logic.js").status_code == 200


def test_the_service_worker_may_control_the_player_and_is_never_cached(client):
    response = client.get("/player/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/player/"
    assert "no-cache" in response["Cache-Control"]
    assert b"caches.open" in response.content


def test_the_pairing_qr_code_is_the_svg_of_the_pair_form_url_with_the_code(client):
    import segno

    response = client.get("/player/pair-qr.svg?code=abc234")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b'xmlns="http://www.w3.org/2000/svg"' in response.content
    expected = io.BytesIO()  # segno is deterministic: the same modules mean the same encoded text
    segno.make("http://testserver/pair/?code=ABC234", error="m").save(
        expected, kind="svg", scale=8, border=2, dark="#000", light="#fff"
    )
    assert response.content == expected.getvalue()


@pytest.mark.parametrize("code", ["", "ABC", "ABC2345", "ABCD0O", "<svg>1"])
def test_a_pairing_qr_code_for_anything_but_a_code_is_a_400(client, code):
    response = client.get("/player/pair-qr.svg", {"code": code})
    assert response.status_code == 400
    assert b"pairing code" in response.content


def test_the_pair_form_takes_the_code_from_the_qr_link(client, fleet, make_member):
    make_member(fleet, Role.TECHNICIAN, username="tech", password="pw-12345678")
    client.login(username="tech", password="pw-12345678")
    response = client.get("/pair/?code=abc234")
    assert response.status_code == 200
    assert response.context["form"]["pairing_code"].value() == "ABC234"
    assert 'name="code" value="ABC234"' in response.content.decode()  # kept across a screen search
