from functools import lru_cache

from django.http import JsonResponse
from django.urls import Resolver404, get_urlconf, resolve

from signage.api.parsers import FORBIDDEN_TEXT, TEXT_ERROR


class ApiTrailingSlashMiddleware:
    """Serves `/api/...` paths without their trailing slash as if it were there.

    Django's APPEND_SLASH answers such a request with a redirect, which clients of the reference (and
    players) do not follow for POST or PATCH. Here the path is completed in place when only the slashed
    form resolves, so both forms reach the same view and every link the API writes keeps its slash.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/") and not _resolves(path) and _resolves(path + "/"):
            request.path_info = path + "/"
            request.path = request.path + "/"
        return self.get_response(request)


def _resolves(path: str) -> bool:
    return _resolves_in(get_urlconf(), path)


@lru_cache(maxsize=4096)  # players send the same few paths all day: resolve each once, not twice a request
def _resolves_in(urlconf, path: str) -> bool:
    try:
        resolve(path, urlconf)
    except Resolver404:
        return False
    return True


class ApiQueryTextMiddleware:
    """Refuses an `/api/` request whose path or query string holds a NUL character, as the parsers refuse
    one in a body: every filter, search and `fields=` value is then text the database can take."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            texts = [request.path_info, *request.GET.keys(), *(v for _, values in request.GET.lists() for v in values)]
            if any(FORBIDDEN_TEXT.search(text) for text in texts):
                return JsonResponse({"detail": TEXT_ERROR, "code": "parse_error"}, status=400)
        return self.get_response(request)
