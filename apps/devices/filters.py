import django_filters

from signage.api.filters import FilterSet, ModelChoiceFilter, StrictBooleanFilter

from .models import Device


class DeviceFilter(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("online", "online"), ("offline", "offline"), ("unpaired", "unpaired")], method="filter_status"
    )
    online = StrictBooleanFilter()
    screen = ModelChoiceFilter(queryset=Device._meta.get_field("screen").related_model.objects.all())

    class Meta:
        model = Device
        fields = ["online", "screen", "model", "app_version", "barcode", "sticker", "is_locked"]

    def filter_status(self, queryset, name, value):
        if value == "unpaired":
            return queryset.filter(screen__isnull=True)
        return queryset.filter(screen__isnull=False, online=value == "online")
