from django.urls import reverse
from rest_framework import serializers
from rest_framework.relations import HyperlinkedIdentityField

from apps.accounts.api.base import FleetOwnedSerializer, OnlyFleetDefault, ScopedHyperlinkedRelatedField
from apps.accounts.models import Fleet
from signage.bounds import MAX_INT

from ..models import LIVE, Media, MediaType


class MediaIdentityField(HyperlinkedIdentityField):
    """The media's URL, keyed by its public id (`picture-12`)."""

    def get_url(self, obj, view_name, request, format):
        url = reverse(view_name, kwargs={"pk": obj.public_id})
        return request.build_absolute_uri(url) if request else url


class MediaSerializer(FleetOwnedSerializer):
    url = MediaIdentityField(view_name="media-detail")
    id = serializers.CharField(source="public_id", read_only=True, help_text="`<type>-<number>`, e.g. `video-508`")
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", read_only=True)
    file = serializers.FileField(read_only=True, use_url=True)
    thumbnail = serializers.FileField(read_only=True, use_url=True, allow_null=True)
    url_origin = serializers.CharField(
        source="source_url", read_only=True, help_text="The URL it came from; a web page's or a live stream's URL"
    )
    youtube_id = serializers.CharField(read_only=True, allow_null=True, help_text="YouTube videos: the video id")
    valid_until = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Media
        fields = [
            "url",
            "id",
            "type",
            "name",
            "folder",
            "fleet",
            "file",
            "thumbnail",
            "mime_type",
            "size",
            "checksum",
            "width",
            "height",
            "duration",
            "display_time",
            "metadata",
            "url_origin",
            "youtube_id",
            "refresh_time",
            "validity_time",
            "last_successful_update",
            "valid_until",
            "last_checked_at",
            "last_error",
            "external_path",
            "created",
            "modified",
        ]
        read_only_fields = [
            name for name in fields if name not in ("name", "display_time", "refresh_time", "validity_time")
        ]
        field_queries = {
            "id": {"only": ["type"]},
            "url": {"only": ["type"]},
            "youtube_id": {"only": ["type", "metadata"]},
            "valid_until": {"only": ["validity_time", "last_successful_update"]},
        }


class MediaCreateSerializer(serializers.Serializer):
    """A new media: a `file` (multipart), or a URL fetched once (`url_origin`) or kept up to date (`url`
    with `refresh_time`). `display_time` is required unless the media turns out to be a video.

    With `type` (reference 002's content types): `web` (a page at `url`, shown live by players that can,
    captured as a picture for the others; `refresh_time` captures it again), `youtube` (`youtube_id`, or a
    YouTube `url`) or `livestream` (an HLS playlist at `url`); each needs a `display_time`."""

    type = serializers.ChoiceField(
        choices=[(kind, MediaType(kind).label) for kind in LIVE],
        required=False,
        help_text="Only for content shown live: web, youtube or livestream. Else the type comes from the content.",
    )
    youtube_id = serializers.CharField(
        required=False, max_length=200, help_text="`type` youtube: the video id (11 characters)"
    )
    file = serializers.FileField(required=False, allow_empty_file=False)
    url_origin = serializers.CharField(required=False, max_length=2000)
    url = serializers.CharField(required=False, max_length=2000)
    display_time = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT, allow_null=True)
    refresh_time = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, allow_null=True, help_text="Minutes"
    )
    validity_time = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, allow_null=True, help_text="Minutes"
    )
    name = serializers.CharField(required=False, max_length=255, allow_blank=True)
    folder = serializers.CharField(required=False, max_length=255, allow_blank=True)
    fleet = ScopedHyperlinkedRelatedField(
        view_name="fleet-detail", queryset=Fleet.objects.all(), required=False, default=OnlyFleetDefault()
    )

    def validate(self, attrs):
        kind = attrs.get("type")
        if attrs.get("youtube_id") and kind != MediaType.YOUTUBE:
            raise serializers.ValidationError({"youtube_id": ["Only a youtube media has a youtube_id."]})
        if kind in LIVE and attrs.get("file"):
            raise serializers.ValidationError({"file": [f"A {kind} media is given by its URL, not a file."]})
        if kind == MediaType.YOUTUBE:
            if len([name for name in ("youtube_id", "url_origin", "url") if attrs.get(name)]) != 1:
                raise serializers.ValidationError("Give exactly one of youtube_id, url_origin or url.", code="invalid")
            return attrs
        sources = [name for name in ("file", "url_origin", "url") if attrs.get(name)]
        if len(sources) != 1:
            expected = "url_origin or url" if kind else "file, url_origin or url"
            raise serializers.ValidationError(f"Give exactly one of {expected}.", code="invalid")
        if attrs.get("refresh_time") and sources[0] == "file":
            raise serializers.ValidationError(
                {"refresh_time": ["Only media created from a URL can be refreshed."]}, code="invalid"
            )
        return attrs


class FolderSerializer(serializers.Serializer):
    folder = serializers.CharField(required=False, allow_blank=True, max_length=255)


class FileToExternalStorageSerializer(FolderSerializer):
    file = serializers.FileField(allow_empty_file=False)
    display_time = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT)
    name = serializers.CharField(required=False, max_length=255, allow_blank=True)
    fleet = ScopedHyperlinkedRelatedField(
        view_name="fleet-detail", queryset=Fleet.objects.all(), required=False, default=OnlyFleetDefault()
    )


class TransformSerializer(serializers.Serializer):
    x = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, help_text="Left edge of the frame, from the top-left corner"
    )
    y = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, help_text="Top edge of the frame, from the top-left corner"
    )
    width = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    height = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    rotation = serializers.FloatField(
        required=False, default=0, min_value=-360, max_value=360, help_text="Degrees, clockwise, after the crop"
    )
