import django_filters

from apps.accounts.api.base import FilterSet
from apps.accounts.models import Fleet
from signage.api.filters import ModelChoiceFilter

from .models import Place


class PlaceFilter(FilterSet):
    """Reference 000 "Filter places": name partial and case-insensitive, the rest exact."""

    name = django_filters.CharFilter(lookup_expr="icontains")
    exclusive_fleet = ModelChoiceFilter(queryset=Fleet.objects.all())

    class Meta:
        model = Place
        fields = [
            "name",
            "full_address",
            "address",
            "street_number",
            "postalcode",
            "city",
            "country",
            "county",
            "region",
            "google_place_id",
            "private_fleet_key",
            "exclusive_fleet",
        ]
