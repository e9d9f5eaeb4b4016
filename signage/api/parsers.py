"""Request body parsers: every API body goes through here, so the classes of bad input are refused once.

- A body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` (files of multipart uploads aside) is a 413.
- A multipart body is bounded by its endpoint's upload limit (`upload_limit`) plus `MULTIPART_ENVELOPE`: a
  Content-Length past it is a 413 before a byte is read, and `BoundedUploadHandler` cuts a longer stream at
  the same point (413, the partial file deleted). A file over the limit inside the envelope reaches the
  endpoint's own check and its 400.
- JSON nested deeper than `MAX_DEPTH` is a 400 (Python's decoder would raise RecursionError, a 500).
- A number too large for a float (`1e309`, read as infinity) is a 400.
- Text holding a NUL character (PostgreSQL refuses it) or a lone UTF-16 surrogate (no UTF-8 encoding exists
  for it, so echoing it in an error message fails) is a 400, in keys as well as values.
All three are `parse_error`s, `{"detail": ..., "code": ...}`, and nothing is changed.
"""

import json
import math
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

MAX_DEPTH = 32
# A NUL, or a surrogate code point: in a str decoded from UTF-8 or JSON, any surrogate is a lone one.
FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")
TEXT_ERROR = "Text may not contain NUL characters or unpaired surrogates."


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"

    def __init__(self, limit: int | None = None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
        super().__init__(f"The request body is larger than {limit} bytes.")


def check_text(value: str) -> None:
    if FORBIDDEN_TEXT.search(value):
        raise ParseError(TEXT_ERROR)


def check_data(data, *, text: bool = True) -> None:
    """Walks parsed data without recursion: depth bounded, numbers finite and, with `text`, every string
    (key or value) clean. Only containers are stacked: a batch of thousands of flat objects is one pass."""
    if isinstance(data, str | float):
        data = [data]  # a bare value: checked as an item
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, dict):
            if text:
                for key in value:
                    check_text(str(key))
            value = value.values()
        for item in value:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif isinstance(item, str):
                if text:
                    check_text(item)
            elif isinstance(item, float) and not math.isfinite(item):
                raise ParseError("Numbers must be finite (1e309 is not).")


def _read(stream) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if stream is None:
        return b""
    try:
        body = stream.read() if limit is None else stream.read(limit + 1)
    except RequestDataTooBig as exc:
        raise RequestTooLarge() from exc
    if limit is not None and len(body) > limit:
        raise RequestTooLarge()
    return body


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = _read(stream)
        try:
            text = body.decode(encoding)
            data = json.loads(text, parse_constant=self._refuse_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from exc
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ParseError(f"JSON parse error - {exc}") from exc
        # A NUL or a lone surrogate can only come from a backslash-u escape (JSON refuses raw control
        # characters, and decoding never yields a lone surrogate): without one, no string needs a look.
        check_data(data, text="\\u" in text)
        return data

    @staticmethod
    def _refuse_constant(name: str):
        raise ValueError(f"{name} is not valid JSON")


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        data = QueryDict(_read(stream), encoding=encoding)
        _check_query_dict(data)
        return data


# Room in a multipart body for its boundaries, part headers and the form's other fields, past the files.
MULTIPART_ENVELOPE = 64 * 1024
# The upload limit of an endpoint that declares none: as much as a JSON body may hold (Django's default).
DEFAULT_UPLOAD_LIMIT = 2_621_440


def upload_limit(view) -> int:
    """The file bytes an endpoint takes in one multipart body: the setting its view names in
    `upload_limit_setting` (read per request, so a changed setting applies), else `DATA_UPLOAD_MAX_MEMORY_SIZE`."""
    name = getattr(view, "upload_limit_setting", None)
    if name:
        return getattr(settings, name)
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or DEFAULT_UPLOAD_LIMIT


class UploadTooLarge(RequestDataTooBig):
    """A multipart body past its bound; a SuspiciousOperation, so wherever it escapes it is a 4xx."""

    def __init__(self, bound: int):
        super().__init__(f"The request body is larger than {bound} bytes.")
        self.bound = bound


class BoundedUploadHandler(FileUploadHandler):
    """First of a request's upload handlers: refuses a multipart body whose Content-Length passes `limit` plus
    the envelope before any of it is read, and stops one that sends more file bytes than that whatever its
    headers said (no Content-Length, or a wrong one), before the next handlers write them to a file."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.bound = limit + MULTIPART_ENVELOPE
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.bound:
            raise UploadTooLarge(self.bound)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.bound:
            raise UploadTooLarge(self.bound)
        return raw_data

    def file_complete(self, file_size):
        return None


def bounded_handlers(handlers, *, limit: int) -> list:
    """`handlers` (a request's upload handlers) behind a `BoundedUploadHandler` of `limit`."""
    return [BoundedUploadHandler(limit=limit), *(h for h in handlers if not isinstance(h, BoundedUploadHandler))]


def discard_partial_files(handlers) -> None:
    """Closes (so deletes) the file a handler was writing when the upload was cut: Django closes only the
    files it had completed."""
    for handler in handlers:
        partial = getattr(handler, "file", None)
        if partial is not None:
            partial.close()


class MultiPartParser(parsers.MultiPartParser):
    """Bounded by the view's `upload_limit` (see the module's docstring)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        handlers = bounded_handlers(request.upload_handlers, limit=upload_limit(parser_context.get("view")))
        try:
            parser = DjangoMultiPartParser(meta, stream, handlers, encoding)
            data, files = parser.parse()
        except UploadTooLarge as exc:
            discard_partial_files(handlers)
            raise RequestTooLarge(exc.bound) from exc
        except RequestDataTooBig as exc:
            raise RequestTooLarge() from exc
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        _check_query_dict(data)
        return parsers.DataAndFiles(data, files)


def _check_query_dict(data) -> None:
    for key, values in data.lists():
        check_text(key)
        for value in values:
            check_text(value)
