from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.api.base import ModelViewSet

from .. import services
from ..filters import AdFilter, BroadcastFilter
from ..models import Ad, Broadcast, DataFeed, Playlist, Schedule
from ..schedules import playlist_delete, schedule_delete
from .serializers import (
    AdSerializer,
    BroadcastSerializer,
    DataFeedSerializer,
    GiveSerializer,
    PlaylistSerializer,
    ScheduleSerializer,
)


class AdViewSet(ModelViewSet):
    """Campaigns with their broadcasts (reference 000 "Campaigns"). Editors and admins write them."""

    queryset = Ad.objects.filter(schedule__isnull=True)  # a schedule's campaign is written through it
    serializer_class = AdSerializer
    filterset_class = AdFilter
    ordering_fields = ["name", "campaign_startdate", "campaign_enddate", "priority", "created"]

    @extend_schema(request=GiveSerializer, responses={200: AdSerializer})
    @action(detail=True, methods=["post"])
    def give(self, request, pk=None):
        """Hand a share-of-voice campaign to another user with access to its share of voice (final)."""
        ad = self.get_object()
        incoming = GiveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ad = services.campaign_give(ad=ad, author_key=incoming.validated_data["author"])
        return Response(self.get_serializer(ad).data)


class BroadcastViewSet(ModelViewSet):
    """Broadcasts (reference 000 "Broadcasts"): only users who may edit the campaign change them."""

    queryset = Broadcast.objects.filter(ad__schedule__isnull=True)
    serializer_class = BroadcastSerializer
    filterset_class = BroadcastFilter
    ordering_fields = ["order", "created"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        ad = values.pop("ad")
        self.require_role(ad.fleet)
        broadcast = services.broadcast_save(ad=ad, **values)
        return Response(self.get_serializer(broadcast).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        values = dict(serializer.validated_data)
        if "ad" in values and values.pop("ad") != serializer.instance.ad:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"ad": ["A broadcast cannot move to another campaign."]})
        serializer.instance = services.broadcast_save(
            ad=serializer.instance.ad, broadcast=serializer.instance, **values
        )

    def perform_destroy(self, instance):
        services.broadcast_delete(broadcast=instance)


class DataFeedViewSet(ModelViewSet):
    """Data feeds of a fleet: JSON fetched on a schedule that broadcast and schedule conditions read.
    Editors and admins write them; a URL that cannot be fetched is a 400."""

    queryset = DataFeed.objects.all()
    serializer_class = DataFeedSerializer
    filterset_fields = ["fleet", "name"]
    search_fields = ["name"]
    ordering_fields = ["name", "fetched_at", "id"]


class PlaylistViewSet(ModelViewSet):
    """Playlists (references 001 and 002): reusable ordered media; editing one changes every schedule
    that uses it from the players' next playlist fetch."""

    queryset = Playlist.objects.all()
    serializer_class = PlaylistSerializer
    filterset_fields = ["fleet", "name", "transition"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created", "id"]

    def perform_destroy(self, instance):
        playlist_delete(playlist=instance)


class ScheduleViewSet(ModelViewSet):
    """Schedules (reference 001 "Plannings", 002 "Schedules"): a playlist aimed at a target, with days,
    hours, dates, a priority 0-100 and conditions. Compiled into a campaign (`ad`) the loop plays."""

    queryset = Schedule.objects.all()
    serializer_class = ScheduleSerializer
    filterset_fields = ["fleet", "active", "target_type", "playlist", "screen_group"]
    search_fields = ["name"]
    ordering_fields = ["priority", "name", "start_date", "created", "id"]

    def perform_destroy(self, instance):
        schedule_delete(schedule=instance)
