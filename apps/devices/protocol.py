"""The device protocol (`/api/device/`, reference 002 "Device Player API")."""

import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.media.models import Media, MediaType
from signage.api.parsers import MultiPartParser
from signage.errors import field_error
from signage.scopes import unscoped

from . import downloads, lean, services
from .authentication import DeviceAuthentication, IsDevice, IsPairedDevice
from .models import Device
from .policies.delivery import device_settings_fetched
from .screenshots.services import screenshot_store

MAX_INT, MAX_BIGINT = 2**31 - 1, 2**63 - 1  # the columns' own limits


class DeviceView(APIView):
    authentication_classes = [DeviceAuthentication]
    permission_classes = [IsDevice]


class RegisterSerializer(serializers.Serializer):
    uuid = serializers.CharField(max_length=100)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)
    os_version = serializers.CharField(max_length=50, required=False, allow_blank=True)
    app_version = serializers.CharField(max_length=50, required=False, allow_blank=True)
    license_key = serializers.CharField(max_length=100, required=False, allow_blank=True)
    serial_number = serializers.CharField(
        max_length=100, required=False, allow_blank=True,
        help_text="Pairs the player without a code when its fleet provisioned it and allows it",
    )  # fmt: skip


class CommandResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["succeeded", "failed"])
    result = serializers.JSONField(required=False, allow_null=True)


class HeartbeatSerializer(serializers.Serializer):
    uuid = serializers.CharField(max_length=100, required=False)
    ip_address = serializers.IPAddressField(required=False, allow_null=True)
    wifi_signal = serializers.IntegerField(required=False, min_value=-150, max_value=0, allow_null=True)
    storage_total_mb = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, allow_null=True)
    storage_used_mb = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, allow_null=True)
    storage_free_mb = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, allow_null=True)
    screen_on = serializers.BooleanField(required=False, allow_null=True)
    volume = serializers.IntegerField(required=False, min_value=0, max_value=100, allow_null=True)
    brightness = serializers.IntegerField(required=False, min_value=0, max_value=100, allow_null=True)
    temperature = serializers.FloatField(required=False, min_value=-50, max_value=150, allow_null=True)
    uptime_seconds = serializers.IntegerField(required=False, min_value=0, max_value=MAX_BIGINT, allow_null=True)
    current_content = serializers.CharField(required=False, max_length=255, allow_blank=True)
    app_version = serializers.CharField(required=False, max_length=50, allow_blank=True)
    command_results = CommandResultSerializer(many=True, required=False)

    def validate_uuid(self, value):
        if value != self.context["device"].uuid:
            raise serializers.ValidationError("This is not the uuid of the authenticated device.")
        return value


REGISTER_RESPONSE = inline_serializer(
    name="DeviceRegistration",
    fields={
        "device_id": serializers.IntegerField(),
        "device_token": serializers.CharField(help_text="Only on the first registration: keep it"),
        "pairing_code": serializers.CharField(allow_null=True),
        "paired": serializers.BooleanField(),
        "device_name": serializers.CharField(allow_null=True),
        "is_locked": serializers.BooleanField(),
        "lock_pin": serializers.CharField(allow_null=True),
        "pairing_expires_at": serializers.DateTimeField(allow_null=True),
    },
)


class RegisterView(DeviceView):
    """Register a player (no token: a new device) or update it (with its `Device` token)."""

    permission_classes = [AllowAny]

    @extend_schema(request=RegisterSerializer, responses={200: REGISTER_RESPONSE, 201: REGISTER_RESPONSE})
    def post(self, request):
        incoming = RegisterSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        known = request.auth if isinstance(request.auth, Device) else None
        device, raw_token = services.device_register(uuid=data.pop("uuid"), info=data, device=known)
        body = {
            "device_id": device.pk,
            "pairing_code": None if device.paired else device.pairing_code,
            "pairing_expires_at": None if device.paired else device.pairing_expires_at,
            "paired": device.paired,
            "device_name": device.name or None,
            "is_locked": device.is_locked,
            "lock_pin": device.lock_pin or None,
            "license_activated": bool(device.license_key),
        }
        if raw_token:
            body["device_token"] = raw_token
        return Response(body, status=status.HTTP_201_CREATED if raw_token else status.HTTP_200_OK)


class HeartbeatView(DeviceView):
    """Telemetry in; status, lock, pending commands, emergency alerts and `has_update` out."""

    @extend_schema(
        request=HeartbeatSerializer,
        responses=inline_serializer(
            name="Heartbeat",
            fields={
                "status": serializers.CharField(),
                "has_update": serializers.BooleanField(),
                "next_heartbeat_in": serializers.IntegerField(),
                "settings_version": serializers.CharField(),
                "has_new_settings": serializers.BooleanField(help_text="Fetch GET /api/device/settings"),
            },
        ),
    )
    def post(self, request):
        incoming = HeartbeatSerializer(data=request.data, context={"device": request.auth})
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        results = data.pop("command_results", [])
        data.pop("uuid", None)
        answer = services.device_heartbeat(device=request.auth, telemetry=data, results=results)
        lean.remember(request.auth, online=True, pending=False)
        return Response(answer)


PLAYLIST_ITEM = inline_serializer(
    name="DevicePlaylistItem",
    fields={
        "id": serializers.IntegerField(),
        "order": serializers.IntegerField(),
        "content_id": serializers.CharField(help_text="`<type>-<number>`, e.g. `web-12`"),
        "media_id": serializers.IntegerField(),
        "type": serializers.ChoiceField(choices=MediaType.choices),
        "duration": serializers.FloatField(help_text="Seconds on screen (a video file: its own length)"),
        "file_hash": serializers.CharField(allow_null=True, help_text="sha256 of the file; null: no file"),
        "download_url": serializers.URLField(
            allow_null=True, help_text="Signed, expiring; null for a YouTube video or a live stream (no file)"
        ),
        "broadcast_id": serializers.CharField(),
        "ad_id": serializers.CharField(),
        "name": serializers.CharField(),
        "url": serializers.URLField(
            required=False,
            help_text="web: the page to show live; livestream: the HLS playlist (.m3u8); youtube: its watch URL",
        ),
        "youtube_id": serializers.CharField(required=False, help_text="youtube: the video id"),
        "fallback": serializers.CharField(
            required=False,
            allow_null=True,
            help_text="Live types only: what `download_url` is for a player that cannot show the type "
            "(`picture`: a web page's capture); null: such a player skips the item",
        ),
    },
)
PLAYLIST_RESPONSE = inline_serializer(
    name="Playlist",
    fields={
        "playlist": inline_serializer(
            name="DevicePlaylistLoop",
            fields={
                "id": serializers.CharField(),
                "name": serializers.CharField(),
                "transition": serializers.CharField(),
                "items": PLAYLIST_ITEM.__class__(many=True),
            },
        ),
        "content_to_download": serializers.ListField(child=serializers.DictField()),
        "content_to_delete": serializers.ListField(child=serializers.CharField()),
        "emergency_alerts": serializers.ListField(child=serializers.DictField()),
        "etag": serializers.CharField(),
        "valid_until": serializers.DateTimeField(),
        "show_watermark": serializers.BooleanField(),
    },
)


class PlaylistView(DeviceView):
    """The loop of the device's screen, what to download (48 h ahead) and what to delete, with an ETag:
    `If-None-Match` with the current one answers 304 with no body."""

    permission_classes = [IsPairedDevice]

    @extend_schema(responses={200: PLAYLIST_RESPONSE, 304: None})
    def get(self, request):
        device = request.auth
        wanted = request.headers.get("If-None-Match", "").strip().strip('"').removeprefix("W/").strip('"')
        state_etag = None
        if wanted:
            from .playlist import current_state

            state_etag = current_state(device.screen)["etag"]
            services.device_last_fetch(device)
            if constant_time_compare(wanted, state_etag) and device.playlist_etag == state_etag:
                response = HttpResponse(status=304)
                response["ETag"] = f'"{state_etag}"'
                lean.remember(device)
                return response
        payload, etag = services.device_playlist(device=device, build_url=request.build_absolute_uri)
        lean.remember(device, etag=etag)
        response = Response(payload)
        response["ETag"] = f'"{etag}"'
        return response


class SettingsView(DeviceView):
    """The player's settings (its policies merged by priority, its own power schedule, its screen's
    orientation, resolution and time zone), their `version`, where each came from, and the scheduled power
    actions of the next 48 h as UTC instants. Fetch it when the heartbeat says `has_new_settings`."""

    @extend_schema(
        responses=inline_serializer(
            name="DeviceSettings",
            fields={
                "version": serializers.CharField(),
                "settings": serializers.DictField(),
                "sources": serializers.DictField(),
                "upcoming_power_actions": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        device = request.auth
        answer = device_settings_fetched(device=device)
        lean.remember(device)
        return Response(answer)


class CommandResultView(DeviceView):
    @extend_schema(request=CommandResultSerializer, responses={200: None})
    def post(self, request, command_id):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"__all__": ["Expected an object."]})
        incoming = CommandResultSerializer(data={**request.data, "id": str(command_id)})
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        command = services.command_result(
            device=request.auth, command_id=data["id"], status=data["status"], result=data.get("result")
        )
        return Response({"id": str(command.pk), "succeeded_at": command.succeeded_at, "failed_at": command.failed_at})


class ScreenshotUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP; at most SCREENSHOT_MAX_BYTES and SCREENSHOT_MAX_PIXELS")
    command = serializers.UUIDField(required=False, help_text="The screenshot command this answers, if any")


SCREENSHOT_UPLOADED = inline_serializer(
    name="ScreenshotUploaded",
    fields={
        "id": serializers.IntegerField(),
        "taken_at": serializers.DateTimeField(),
        "width": serializers.IntegerField(),
        "height": serializers.IntegerField(),
    },
)


class ScreenshotUploadView(DeviceView):
    """A screenshot of what the player shows (multipart `image`), on request (`command`) or on its own.
    The web player sends its screenshots as a data URL in the command's result instead; both are stored
    alike."""

    permission_classes = [IsPairedDevice]
    parser_classes = [MultiPartParser]
    upload_limit_setting = "SIGNAGE_SCREENSHOT_MAX_BYTES"  # bounds its multipart bodies (parsers.py)

    @extend_schema(request={"multipart/form-data": ScreenshotUploadSerializer}, responses={201: SCREENSHOT_UPLOADED})
    def post(self, request):
        incoming = ScreenshotUploadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        upload = incoming.validated_data["image"]
        if upload.size > settings.SIGNAGE_SCREENSHOT_MAX_BYTES:  # before reading it
            raise field_error("image", f"The screenshot is too large: at most {settings.SIGNAGE_SCREENSHOT_MAX_BYTES} "
                              "bytes are accepted.", "too_large")  # fmt: skip
        command = None
        if "command" in incoming.validated_data:
            command = request.auth.commands.filter(pk=incoming.validated_data["command"]).first()
            if command is None:
                raise field_error("command", "Not a screenshot command of this device.")
        shot = screenshot_store(device=request.auth, data=upload.read(), command=command)
        return Response(
            {"id": shot.pk, "taken_at": shot.taken_at, "width": shot.width, "height": shot.height},
            status=status.HTTP_201_CREATED,
        )


RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")


class ContentDownloadView(APIView):
    """A media file for a device, by signed, expiring URL (so a web server or CDN can serve it too);
    only media its screen needs; honours Range."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        responses={200: bytes, 206: bytes, 403: None, 404: None, 416: None},
        parameters=[
            OpenApiParameter("page", int, description="PDFs: page N (from 1), rendered as a PNG at upload"),
            OpenApiParameter("pages", str, description="PDFs: present (`pages=1`), lists the rendered pages"),
        ],
    )
    def get(self, request, content_id):
        params = request.query_params
        signed = downloads.signed_download(
            content_id=content_id,
            device=params.get("device", ""),
            expires=params.get("expires", ""),
            signature=params.get("signature", ""),
            now=timezone.now().timestamp(),
        )
        if signed == "malformed":
            raise Http404
        if signed == "expired":
            return Response({"detail": "This download link has expired.", "code": "expired"}, status=403)
        if signed == "invalid_signature":
            return Response({"detail": "Invalid signature.", "code": "invalid_signature"}, status=403)
        with unscoped("the player and media a signed download link names"):
            device = Device.objects.select_related("screen").filter(pk=signed.device_id).first()
            media = Media.objects.filter(type=signed.media_type, pk=signed.media_id).first()
        if device is None or media is None or not services.device_needs_media(device, media.pk):
            raise Http404
        if "page" in params or "pages" in params:
            return _pdf_page_response(request, media, params.get("page"))
        downloads.remember_file(
            content_id=media.public_id, name=media.file.name, mime_type=media.mime_type, checksum=media.checksum
        )  # the next downloads of this media take the lean path
        return _file_response(media, request.headers.get("Range", ""))


def _pdf_page_response(request, media: Media, page: str | None):
    """A PDF's pages as players show them, rendered at upload: `pages=1` lists them (with their
    sha256 and their own URLs), `page=N` (from 1) is page N as a PNG. Not a PDF, or no such page: 404."""
    pages = (media.metadata or {}).get("pages") or []
    if media.type != "pdf" or not pages:
        raise Http404
    if page is None:
        base = request.build_absolute_uri(request.path)
        query = request.GET.copy()
        query.pop("pages", None)
        listing = []
        for number, item in enumerate(pages, start=1):
            query["page"] = str(number)
            listing.append(
                {"page": number, "file_hash": item["sha256"], "size": item["size"], "width": item["width"],
                 "height": item["height"], "download_url": f"{base}?{query.urlencode()}"}
            )  # fmt: skip
        return JsonResponse({"content_id": media.public_id, "file_hash": media.checksum, "pages": listing})
    if not downloads.NUMBER.match(page) or not 1 <= int(page) <= len(pages):
        raise Http404
    item = pages[int(page) - 1]
    response = FileResponse(default_storage.open(item["file"], "rb"), content_type="image/png")
    response["ETag"] = f'"{item["sha256"]}"'
    return response


def _file_response(media: Media, range_header: str):
    size = media.size
    match = RANGE.match(range_header.strip()) if range_header else None
    if not match or (not match[1] and not match[2]) or settings.SIGNAGE_DOWNLOAD_ACCEL_REDIRECT:
        # the web server in front answers ranges itself
        return downloads.whole_file_response(name=media.file.name, mime_type=media.mime_type, checksum=media.checksum)
    start, end = match[1], match[2]
    if start:
        first, last = int(start), min(int(end), size - 1) if end else size - 1
    else:  # "bytes=-N": the last N bytes
        first, last = max(0, size - int(end)), size - 1
    if first >= size or first > last:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = last - first + 1
    response = StreamingHttpResponse(_file_part(media, first, length), status=206, content_type=media.mime_type)
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{media.checksum}"'
    return response


DOWNLOAD_CHUNK_BYTES = 64 * 1024


def _file_part(media: Media, first: int, length: int):
    """`length` bytes of the media's file from `first`, read a chunk at a time: a ranged download of a
    large video keeps the worker's memory flat, as FileResponse does for whole files."""
    with media.file.open("rb") as handle:
        handle.seek(first)
        while length > 0:
            chunk = handle.read(min(DOWNLOAD_CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
