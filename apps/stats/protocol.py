import re
from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.devices.authentication import IsPairedDevice
from apps.devices.protocol import DeviceView

from .services import play_events_ingest

MAX_BATCH = 5000
MAX_DURATION = 86400


class PlayEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The player's own event id: sending it again stores nothing new")
    media = serializers.CharField(max_length=40, help_text="content_id, e.g. picture-12")
    ad = serializers.UUIDField(required=False, allow_null=True)
    broadcast = serializers.UUIDField(required=False, allow_null=True)
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField(min_value=0, max_value=MAX_DURATION, help_text="Seconds")


class StatsSerializer(serializers.Serializer):
    events = PlayEventSerializer(many=True, max_length=MAX_BATCH)


# A uuid as players send it (and as str(uuid) writes it): lowercase, hyphenated.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An RFC 3339 date as players send it, which Python and PostgreSQL read alike (at most microseconds, an
# offset PostgreSQL accepts), so it is stored from its text.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)")


def _lean_event(item) -> dict | None:
    """One event in the shape the serializer gives (uuids as canonical text, started_at aware), when it
    is written the plain way players write it; None for anything else (the serializer then decides)."""
    if type(item) is not dict:
        return None
    event_id, media, ad, broadcast = item.get("id"), item.get("media"), item.get("ad"), item.get("broadcast")
    started_at, duration = item.get("started_at"), item.get("duration")
    if not (
        type(event_id) is str
        and CANONICAL_UUID.fullmatch(event_id)
        and type(media) is str
        and 0 < len(media) <= 40
        and media == media.strip()
        and (ad is None or (type(ad) is str and CANONICAL_UUID.fullmatch(ad)))
        and (broadcast is None or (type(broadcast) is str and CANONICAL_UUID.fullmatch(broadcast)))
        and type(started_at) is str
        and RFC3339.fullmatch(started_at)
        and type(duration) in (int, float)
        and 0 <= duration <= MAX_DURATION
    ):
        return None
    try:
        moment = datetime.fromisoformat(started_at).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return {"id": event_id, "media": media, "ad": ad, "broadcast": broadcast, "started_at": moment,
            "started_text": started_at, "duration": float(duration)}  # fmt: skip


def _text(value):
    return None if value is None else str(value)


def parse_batch(data) -> list[dict]:
    """The events of a batch, validated as StatsSerializer does, at a fraction of its cost per event: the
    plain way players write events is checked here, and a batch with anything else (a missing field, an
    uppercase uuid, a naive date, a number as text, a bad value) goes through the serializer whole, which
    accepts or refuses it with its usual 400. Uuids come out as canonical text, and `started_text` is
    started_at as ISO text."""
    items = data.get("events") if type(data) is dict else None
    if type(items) is list and len(items) <= MAX_BATCH:
        events = [_lean_event(item) for item in items]
        if None not in events:
            return events
    incoming = StatsSerializer(data=data)
    incoming.is_valid(raise_exception=True)
    return [
        {
            **event,
            "id": str(event["id"]),
            "ad": _text(event.get("ad")),
            "broadcast": _text(event.get("broadcast")),
            "started_text": event["started_at"].isoformat(),
        }
        for event in incoming.validated_data["events"]
    ]


class StatsView(DeviceView):
    """Proof of play: displays in batches of up to 5,000, all or nothing, idempotent by event id. A batch
    naming a media, campaign or broadcast that is not of the player's fleet, or a date in the future or
    before the player registered, is a 400 naming the events, and nothing of it is stored."""

    permission_classes = [IsPairedDevice]

    @extend_schema(
        request=StatsSerializer,
        responses=inline_serializer(
            name="StatsReceived", fields={"received": serializers.IntegerField(), "stored": serializers.IntegerField()}
        ),
    )
    def post(self, request):
        events = parse_batch(request.data)
        stored = play_events_ingest(device=request.auth, events=events)
        return Response({"received": len(events), "stored": stored})
