from apps.accounts.api.base import ModelViewSet
from signage.api.fastlist import FastListMixin

from ..filters import ScreenFilter
from ..models import Screen, ScreenGroup, ScreenType
from .serializers import ScreenGroupSerializer, ScreenSerializer, ScreenTypeSerializer


class ScreenViewSet(FastListMixin, ModelViewSet):
    """Screens (reference 000 "Screens"): created and deleted by fleet admins, changed by editors too."""

    queryset = Screen.objects.all()
    serializer_class = ScreenSerializer
    filterset_class = ScreenFilter
    search_fields = ["id", "name", "slug", "players__barcode", "players__sticker"]
    ordering_fields = ["name", "created", "modified", "online_modified_date", "last_seen_at"]


class ScreenGroupViewSet(ModelViewSet):
    queryset = ScreenGroup.objects.all()
    serializer_class = ScreenGroupSerializer
    filterset_fields = ["name", "fleet"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "id"]


class ScreenTypeViewSet(ModelViewSet):
    queryset = ScreenType.objects.all()
    serializer_class = ScreenTypeSerializer
    filterset_fields = ["name", "fleet", "orientation", "width", "height"]
    search_fields = ["name"]
    ordering_fields = ["name", "width", "height", "id"]
