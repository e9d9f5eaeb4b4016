import uuid

import django_filters
from django.db.models import Q

from apps.accounts.api.base import FilterSet
from signage.api.filters import StrictBooleanFilter

from .models import Ad, AdStatus, Broadcast, CampaignType, MultimediaType, current_q


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class AdFilter(FilterSet):
    search = django_filters.CharFilter(method="exact_search", help_text="Exact: id, name, screen name or slug, group")
    current = StrictBooleanFilter(method="filter_current")
    status = django_filters.ChoiceFilter(choices=AdStatus.choices)
    campaign_type = django_filters.ChoiceFilter(choices=CampaignType.choices)
    multimedia_type = django_filters.ChoiceFilter(choices=MultimediaType.choices)
    screen = django_filters.UUIDFilter(field_name="broadcasts__screens", distinct=True)

    class Meta:
        model = Ad
        fields = ["name", "fleet", "status", "campaign_type", "multimedia_type", "main_loop", "on_demand", "sliding"]

    def exact_search(self, queryset, name, value):
        """Reference 000: the search pattern must be an exact match."""
        condition = (
            Q(name=value)
            | Q(broadcasts__screens__name=value)
            | Q(broadcasts__screens__slug=value)
            | Q(broadcasts__screens__groups__name=value)
        )
        if _uuid(value):
            condition |= Q(pk=_uuid(value))
        return queryset.filter(pk__in=Ad.objects.filter(condition).values("pk"))

    def filter_current(self, queryset, name, value):
        if value is None:
            return queryset
        from apps.accounts.models import Fleet

        if not value:  # reference 000: "Use current=false (or omit the parameter) to list all campaigns"
            return queryset
        fleets = Fleet.objects.unscoped("the fleets of scoped campaigns").filter(pk__in=queryset.values("fleet_id"))
        return queryset.filter(current_q(fleets.values_list("pk", "timezone")))


class BroadcastFilter(FilterSet):
    search = django_filters.CharFilter(method="exact_search", help_text="Exact: the broadcast's id or its ad's id")
    ad = django_filters.UUIDFilter(field_name="ad_id")
    screen = django_filters.UUIDFilter(field_name="screens", distinct=True)

    class Meta:
        model = Broadcast
        fields = ["ad", "screen"]

    def exact_search(self, queryset, name, value):
        key = _uuid(value)
        return queryset.filter(Q(pk=key) | Q(ad_id=key)) if key else queryset.none()
