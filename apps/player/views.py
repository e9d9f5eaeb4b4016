"""The web player: its page, its service worker (served under /player/ so it may control the page) and
the QR code of the pairing form. Everything else it does goes through the device protocol."""

import io
import re

import segno
from django.contrib.staticfiles import finders
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.devices.models import PAIRING_ALPHABET

CODE = re.compile(f"^[{PAIRING_ALPHABET}]{{6}}$")


@require_GET
def player(request):
    return render(request, "player/player.html", {"pair_url": reverse("pair")})


@require_GET
@never_cache
def service_worker(request):
    """The service worker's script. Served from /player/ (not /static/) so its scope covers the page; never
    cached by HTTP so a new version reaches players on their next reload."""
    path = finders.find("player/sw.js")
    with open(path, "rb") as script:
        response = HttpResponse(script.read(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/player/"
    return response


@require_GET
def pairing_qr(request):
    """An SVG QR code of the pairing form's URL with `code` filled in (drawn here: no CDN, no JS library)."""
    code = request.GET.get("code", "").upper()
    if not CODE.match(code):
        return HttpResponseBadRequest("code: expected the 6-character pairing code.", content_type="text/plain")
    url = request.build_absolute_uri(f"{reverse('pair')}?code={code}")
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=8, border=2, dark="#000", light="#fff")
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")
