"""Request body parsers: every API body goes through here, so the classes of bad input are refused once.

- A body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` (files of multipart uploads aside) is a 413.
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
from django.http import QueryDict
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

    def __init__(self):
        super().__init__(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


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


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            result = super().parse(stream, media_type, parser_context)
        except RequestDataTooBig as exc:
            raise RequestTooLarge() from exc
        _check_query_dict(result.data)
        return result


def _check_query_dict(data) -> None:
    for key, values in data.lists():
        check_text(key)
        for value in values:
            check_text(value)
