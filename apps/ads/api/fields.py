"""Relation fields of campaigns and broadcasts: screens (ordered, many at once) and media by public id."""

import uuid

from django.urls import Resolver404, resolve, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts import scoping
from apps.media.models import Media, parse_public_id
from apps.screens.models import Screen


def _path(value: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(value).path


def screen_key(value) -> str | None:
    """The screen id in a screen hyperlink or bare id, or None when it is neither."""
    if not isinstance(value, str) or not value:
        return None
    if "/" not in value:
        return value
    path = _path(value)
    try:
        match = resolve(path if path.endswith("/") else path + "/")
    except Resolver404:
        return None
    return match.kwargs.get("pk") if match.url_name == "screen-detail" else None


def canonical_screen_id(value) -> str | None:
    """The canonical form of a screen id given as a hyperlink or an id, or None."""
    key = screen_key(value)
    try:
        return str(uuid.UUID(key)) if key else None
    except ValueError:
        return None


def _scoped(queryset, context):
    request = context.get("request")
    return scoping.scope_queryset(queryset, request.user if request else None)


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "uri"}})
class ScreenListField(serializers.Field):
    """Screens as hyperlinks, in their order; on input, hyperlinks or ids resolved in one query, limited
    to the requesting user's fleets (another fleet's screen "does not exist")."""

    default_error_messages = {
        "not_a_list": "Expected a list of screen URLs or ids.",
        "does_not_exist": "Invalid hyperlink - Object does not exist: {value}.",
        "duplicate": "A screen is given twice: {value}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "broadcast_screens")
        super().__init__(**kwargs)

    def to_representation(self, links):
        request = self.context.get("request")
        urls = [reverse("screen-detail", kwargs={"pk": link.screen_id}) for link in links.all()]
        return [request.build_absolute_uri(url) if request else url for url in urls]

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        keys = []
        for value in data:
            key = canonical_screen_id(value)
            if key is None:
                self.fail("does_not_exist", value=value)
            if key in keys:
                self.fail("duplicate", value=value)
            keys.append(key)
        found = {str(screen.pk): screen for screen in _scoped(Screen.objects.filter(pk__in=keys), self.context)}
        for value, key in zip(data, keys, strict=True):
            if key not in found:
                self.fail("does_not_exist", value=value)
        return [found[key] for key in keys]


@extend_schema_field(OpenApiTypes.URI)
class MediaField(serializers.Field):
    """A media as its hyperlink (`.../medias/video-508/`); on input, that hyperlink or `video-508`."""

    default_error_messages = {"does_not_exist": "Invalid hyperlink - Object does not exist."}

    def to_representation(self, media):
        request = self.context.get("request")
        url = reverse("media-detail", kwargs={"pk": media.public_id})
        return request.build_absolute_uri(url) if request else url

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("does_not_exist")
        public_id = data.rstrip("/").rsplit("/", 1)[-1] if "/" in data else data
        parsed = parse_public_id(public_id)
        if parsed is None:
            self.fail("does_not_exist")
        media = _scoped(Media.objects.filter(type=parsed[0], pk=parsed[1]), self.context).first()
        if media is None:
            self.fail("does_not_exist")
        return media
