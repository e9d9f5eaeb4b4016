import django_filters

from apps.accounts.api.base import FilterSet
from apps.places.models import Place
from signage.api.filters import ModelChoiceFilter

from .models import DeactivationReason, Screen, ScreenGroup


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """A comma-separated list: `barcode=A,B,C`."""


class ScreenFilter(FilterSet):
    """Reference 000 "Filter fields" (exact matches), plus online, group, place and screen_type."""

    deactivation_reason = django_filters.ChoiceFilter(choices=DeactivationReason.choices)
    full_address = django_filters.CharFilter(field_name="place__full_address")
    street_number = django_filters.CharFilter(field_name="place__street_number")
    address = django_filters.CharFilter(field_name="place__address")
    postalcode = django_filters.CharFilter(field_name="place__postalcode")
    city = django_filters.CharFilter(field_name="place__city")
    county = django_filters.CharFilter(field_name="place__county")
    region = django_filters.CharFilter(field_name="place__region")
    country = django_filters.CharFilter(field_name="place__country")
    google_place_id = django_filters.CharFilter(field_name="place__google_place_id")
    group = ModelChoiceFilter(field_name="groups", queryset=ScreenGroup.objects.all(), distinct=True)
    place = ModelChoiceFilter(queryset=Place.objects.all())
    # The screen's players (devices): exact, and comma lists as reference 000 shows.
    barcode = CharInFilter(field_name="players__barcode", distinct=True)
    sticker = CharInFilter(field_name="players__sticker", distinct=True)

    class Meta:
        model = Screen
        fields = {
            "id": ["exact"],
            "name": ["exact"],
            "slug": ["exact"],
            "custom_slug": ["exact"],
            "active": ["exact"],
            "display_is_a_led_panel": ["exact"],
            "display_is_an_epaper": ["exact"],
            "remote": ["exact"],
            "online": ["exact"],
            "screen_type": ["exact"],
            "online_modified_date": ["gt", "gte", "lt", "lte"],
        }
