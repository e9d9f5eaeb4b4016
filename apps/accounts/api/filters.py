"""Filter sets limited to the user's fleets (imported by REST_FRAMEWORK's settings: no viewsets here)."""

from django.db import models
from django_filters import rest_framework as drf_filters

from signage.api.filters import InstantFilter, ModelChoiceFilter, StrictBooleanFilter

from .. import scoping


class FilterSet(drf_filters.FilterSet):
    """Base of every filter set: strict booleans, ISO 8601 datetimes (2026-01-22T12:59:39Z), and filters on
    related objects limited to the user's fleets (another fleet's object is as unknown as a missing one,
    so a filter does not reveal that it exists)."""

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": InstantFilter},
        models.ForeignKey: {
            **drf_filters.FilterSet.FILTER_DEFAULTS[models.ForeignKey],
            "filter_class": ModelChoiceFilter,
        },
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # self.filters is this instance's own copy
        user = getattr(self.request, "user", None)
        for item in self.filters.values():
            queryset = getattr(item, "queryset", None)
            if isinstance(queryset, models.QuerySet) and getattr(queryset.model, "fleet_lookup", None):
                item.queryset = scoping.scope_queryset(queryset, user)


class DjangoFilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = FilterSet
