"""The project's URLs and a trivial view: the same middleware, no work (the load test's baseline)."""

from django.http import HttpResponse
from django.urls import path

from signage.urls import urlpatterns as project_urlpatterns


def trivial(request):
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urlpatterns = [path("bench/trivial", trivial), *project_urlpatterns]
