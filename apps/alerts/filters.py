import django_filters

from apps.accounts.api.base import FilterSet
from apps.devices.models import Device
from signage.api.filters import ModelChoiceFilter, StrictBooleanFilter

from .models import Alert, AlertRule, AlertType


class AlertRuleFilter(FilterSet):
    archived = StrictBooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)
    name = django_filters.CharFilter(lookup_expr="icontains")
    alert_type = django_filters.ChoiceFilter(choices=AlertType.choices)

    class Meta:
        model = AlertRule
        fields = ["fleet", "paused", "alert_type", "name"]


class AlertFilter(FilterSet):
    archived = StrictBooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)
    resolved = StrictBooleanFilter(field_name="resolved_at", lookup_expr="isnull", exclude=True)
    rule = ModelChoiceFilter(queryset=AlertRule.objects.all())
    device = ModelChoiceFilter(field_name="alert_devices__device", queryset=Device.objects.all(), distinct=True)

    class Meta:
        model = Alert
        fields = ["fleet", "rule"]
