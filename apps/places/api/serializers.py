from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.base import ModelSerializer, ScopedHyperlinkedRelatedField
from apps.accounts.models import Fleet

from ..models import Place


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
    }
)
class LocationField(serializers.Field):
    """`{"latitude": ..., "longitude": ...}` over the place's two columns; null when unknown."""

    def __init__(self, **kwargs):
        super().__init__(source="*", allow_null=True, required=False, **kwargs)

    def to_representation(self, place):
        if place.latitude is None or place.longitude is None:
            return None
        return {"latitude": place.latitude, "longitude": place.longitude}

    def to_internal_value(self, data):
        if data is None:
            return {"latitude": None, "longitude": None}
        if not isinstance(data, dict) or set(data) != {"latitude", "longitude"}:
            raise serializers.ValidationError('Expected {"latitude": <number>, "longitude": <number>}.')
        latitude = serializers.FloatField(min_value=-90, max_value=90).run_validation(data["latitude"])
        longitude = serializers.FloatField(min_value=-180, max_value=180).run_validation(data["longitude"])
        return {"latitude": latitude, "longitude": longitude}

    def validate_empty_values(self, data):
        if data is None:
            return False, data  # null means "unknown": handled by to_internal_value
        return super().validate_empty_values(data)


@extend_schema_field(
    {"type": "integer", "maximum": 2**63 - 1, "nullable": True, "description": "Fleet id; on input also its URL"}
)
class FleetIdField(ScopedHyperlinkedRelatedField):
    """A fleet answered by its id, the form reference 000 gives `exclusive_fleet` in ("the ID of your
    fleet"); on input its id or its hyperlink, like every relation."""

    def __init__(self, **kwargs):
        super().__init__(view_name="fleet-detail", queryset=Fleet.objects.all(), **kwargs)

    def use_pk_only_optimization(self):
        return True

    def to_representation(self, value):
        return value.pk


class PlaceSerializer(ModelSerializer):
    location = LocationField()
    exclusive_fleet = FleetIdField(required=False, allow_null=True)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)

    class Meta:
        model = Place
        fields = [
            "url",
            "id",
            "name",
            "full_address",
            "street_number",
            "address",
            "postalcode",
            "city",
            "county",
            "region",
            "country",
            "location",
            "google_place_id",
            "exclusive_fleet",
            "private_fleet_key",
            "created",
            "modified",
        ]
        read_only_fields = ["full_address", "created", "modified"]
        extra_kwargs = {field: {"required": True} for field in ["street_number", "address", "postalcode", "city"]}
        field_queries = {"location": {"only": ["latitude", "longitude"]}}


class ExclusiveFleetSerializer(serializers.Serializer):
    """The `exclusive_fleet` that PATCH and DELETE of a place must repeat (reference 000)."""

    exclusive_fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())

    def __init__(self, *args, place, **kwargs):
        super().__init__(*args, **kwargs)
        self.place = place

    def validate_exclusive_fleet(self, fleet):
        if fleet.pk != self.place.exclusive_fleet_id:
            raise serializers.ValidationError("This is not the fleet this place is exclusive to.", code="invalid")
        return fleet
