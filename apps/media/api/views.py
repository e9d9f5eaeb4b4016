from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.api.base import ModelViewSet
from signage.api.parsers import FormParser, JSONParser, MultiPartParser

from .. import live, services
from ..filters import MediaFilter
from ..models import Media, parse_public_id
from .serializers import (
    FileToExternalStorageSerializer,
    FolderSerializer,
    MediaCreateSerializer,
    MediaSerializer,
    TransformSerializer,
)


class MediaViewSet(ModelViewSet):
    """The media library (reference 000 "Media"). Objects are looked up by `<type>-<number>`."""

    queryset = Media.objects.all()
    serializer_class = MediaSerializer
    filterset_class = MediaFilter
    search_fields = ["name", "folder"]
    ordering_fields = ["name", "created", "size", "type"]
    lookup_value_regex = r"[a-z]+-[0-9]+"
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    upload_limit_setting = "SIGNAGE_MEDIA_MAX_UPLOAD_BYTES"  # bounds its multipart bodies (parsers.py)

    def get_object(self):
        parsed = parse_public_id(self.kwargs["pk"])
        if parsed is None:
            raise Http404
        kind, number = parsed
        self.kwargs["pk"] = number
        obj = super().get_object()
        if obj.type != kind:
            raise Http404
        return obj

    def _fleet(self, serializer):
        fleet = serializer.validated_data["fleet"]
        self.require_role(fleet)
        return fleet

    @extend_schema(request=MediaCreateSerializer, responses={201: MediaSerializer})
    def create(self, request, *args, **kwargs):
        incoming = MediaCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        fleet = self._fleet(incoming)
        common = {
            "fleet": fleet,
            "author": request.user,
            "display_time": data.get("display_time"),
            "name": data.get("name", ""),
            "folder": services.clean_folder(data.get("folder", "")),
        }
        if data.get("type"):
            field = "url" if data.get("url") else "url_origin"
            media = live.media_create_live(
                kind=data["type"],
                url=data.get(field, ""),
                youtube_id=data.get("youtube_id", ""),
                field=field,
                refresh_time=data.get("refresh_time"),
                validity_time=data.get("validity_time"),
                **common,
            )
        elif data.get("file"):
            media = services.media_create_from_upload(upload=data["file"], **common)
        else:
            field = "url" if data.get("url") else "url_origin"
            media = services.media_create_from_url(
                url=data[field],
                field=field,
                refresh_time=data.get("refresh_time"),
                validity_time=data.get("validity_time"),
                **common,
            )
        return Response(self.get_serializer(media).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        services.media_update(media=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.media_delete(media=instance)

    @extend_schema(request=TransformSerializer, responses={200: MediaSerializer})
    @action(detail=True, methods=["post"])
    def transform(self, request, pk=None):
        """Crop a picture to a frame (x, y from the top-left corner, width, height), then rotate it."""
        media = self.get_object()
        frame = TransformSerializer(data=request.data)
        frame.is_valid(raise_exception=True)
        media = services.media_transform(media=media, **frame.validated_data)
        return Response(self.get_serializer(media).data)

    @extend_schema(request=FolderSerializer, responses={200: MediaSerializer})
    @action(detail=True, methods=["post"])
    def to_external_storage(self, request, pk=None):
        """Copy an existing media to the fleet's external storage, under `folder`."""
        media = self.get_object()
        folder = FolderSerializer(data=request.data)
        folder.is_valid(raise_exception=True)
        media = services.media_share_external(media=media, folder=folder.validated_data.get("folder", ""))
        return Response(self.get_serializer(media).data)

    @extend_schema(request=FileToExternalStorageSerializer, responses={201: MediaSerializer})
    @action(detail=False, methods=["post"])
    def file_to_external_storage(self, request):
        """Upload a file to the library and share it in the fleet's external storage, under `folder`."""
        incoming = FileToExternalStorageSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        fleet = self._fleet(incoming)
        services.fleet_external_storage(fleet)  # 403 before anything is stored
        folder = services.clean_folder(data.get("folder", ""))
        media = services.media_create_from_upload(
            fleet=fleet,
            upload=data["file"],
            display_time=data.get("display_time") or settings.SIGNAGE_MEDIA_DEFAULT_DISPLAY_TIME,
            name=data.get("name", ""),
            folder=folder,
            author=request.user,
        )
        media = services.media_share_external(media=media, folder=folder)
        return Response(self.get_serializer(media).data, status=status.HTTP_201_CREATED)
