from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from apps.accounts import permissions, scoping
from apps.accounts.api.base import ModelViewSet

from ..filters import PlaceFilter
from ..models import Place
from ..services import place_create, place_delete, place_update
from .serializers import ExclusiveFleetSerializer, PlaceSerializer

PUBLIC_IS_IMMUTABLE = "Public places are shared by every fleet and cannot be changed or deleted."


class PlaceViewSet(ModelViewSet):
    """Public places and the exclusive places of your fleets (reference 000 "Manage place")."""

    queryset = Place.objects.all()
    serializer_class = PlaceSerializer
    filterset_class = PlaceFilter
    search_fields = ["name", "full_address"]
    ordering_fields = ["name", "city", "postalcode", "created", "id"]

    def check_object_permissions(self, request, obj):
        if request.method not in SAFE_METHODS and obj.is_public:
            raise PermissionDenied(PUBLIC_IS_IMMUTABLE)
        super().check_object_permissions(request, obj)

    @extend_schema(responses={201: PlaceSerializer, 200: PlaceSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        fleet = values.pop("exclusive_fleet", None)
        roles = permissions.roles_for(self.resource, permissions.ADD)
        if fleet is not None:
            allowed = scoping.role_in(request.user, fleet.pk) in roles
        else:  # a public place: anyone who may add places to one of their fleets
            allowed = scoping.fleets_of(request.user, roles).exists()
        if not allowed:
            raise PermissionDenied("Your role does not allow creating places.")
        place, created = place_create(exclusive_fleet=fleet, **values)
        return Response(
            self.get_serializer(place).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request, *args, **kwargs):
        place = self.get_object()
        self._check_exclusive_fleet(place)
        serializer = self.get_serializer(place, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = {key: value for key, value in serializer.validated_data.items() if key != "exclusive_fleet"}
        place_update(place=place, **values)  # PlaceDuplicate answers the existing place
        return Response(self.get_serializer(place).data)

    def destroy(self, request, *args, **kwargs):
        place = self.get_object()
        self._check_exclusive_fleet(place)
        place_delete(place=place)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _check_exclusive_fleet(self, place):
        check = ExclusiveFleetSerializer(data=self.request.data, place=place, context=self.get_serializer_context())
        check.is_valid(raise_exception=True)
