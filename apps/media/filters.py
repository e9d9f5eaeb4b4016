import django_filters

from apps.accounts.api.base import FilterSet

from .models import Media, MediaType


class MediaFilter(FilterSet):
    type = django_filters.ChoiceFilter(choices=MediaType.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Media
        fields = ["type", "name", "folder", "fleet"]
