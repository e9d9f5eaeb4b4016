from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, get_urlconf, resolve, reverse

from signage.api.parsers import FORBIDDEN_TEXT, TEXT_ERROR, UploadTooLarge, bounded_handlers, discard_partial_files


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


class ConsoleUploadLimitMiddleware:
    """Bounds the console's multipart bodies as the API's parser bounds its own (signage/api/parsers.py): at
    the largest file the console takes, a media (`SIGNAGE_MEDIA_MAX_UPLOAD_BYTES`), plus the envelope. A
    body past it is a 413 before it is read, or once the bytes received pass it (the partial file deleted).

    Before the CSRF middleware, which reads the form, so that the handler is in place when the body is read;
    the body is read here to answer that 413 instead of the 400 a SuspiciousOperation would get."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "POST"
            and request.content_type == "multipart/form-data"
            and request.path_info.startswith(reverse("admin:index"))
        ):
            request.upload_handlers = handlers = bounded_handlers(
                request.upload_handlers, limit=settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES
            )
            try:
                request.POST  # noqa: B018 - parsed now, under the handler
            except UploadTooLarge as exc:
                discard_partial_files(handlers)
                return HttpResponse(str(exc), status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
