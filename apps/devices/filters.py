import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef

from apps.accounts.api.base import FilterSet
from apps.places.models import Place
from apps.screens.models import ScreenGroup
from signage.api.filters import MAX_ID, ModelChoiceFilter, StrictBooleanFilter
from signage.bounds import is_ascii_digits

from .models import Device
from .policies.models import DevicePolicy, Policy, Tag
from .policies.services import with_all_tags

MAX_LISTED = 100


class IdListField(forms.Field):
    """A comma-separated list of ids (`tags=3,7`) of objects of `queryset` (already cut to the user's
    fleets): an id that is not one of them is a 400, like a missing one."""

    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(**kwargs)

    def clean(self, value):
        if value in (None, ""):
            return None
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        if not parts or len(parts) > MAX_LISTED or any(not is_ascii_digits(p) or int(p) > MAX_ID for p in parts):
            raise ValidationError(f"Expected up to {MAX_LISTED} comma-separated ids.", code="invalid")
        ids = {int(part) for part in parts}
        found = list(self.queryset.filter(pk__in=ids))
        if len(found) != len(ids):
            missing = sorted(ids - {obj.pk for obj in found})[0]
            raise ValidationError(f"Unknown id {missing}.", code="invalid_choice")
        return found


class IdListFilter(django_filters.Filter):
    field_class = IdListField

    def __init__(self, *args, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(*args, **kwargs)

    def get_queryset(self, request):
        return self.queryset

    @property
    def field(self):
        # Built from the queryset at hand: the filter set cuts it to the user's fleets after copying filters.
        return self.field_class(queryset=self.queryset, label=self.label, **self.extra)


class DeviceFilter(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("online", "online"), ("offline", "offline"), ("unpaired", "unpaired")], method="filter_status"
    )
    online = StrictBooleanFilter()
    screen = ModelChoiceFilter(queryset=Device._meta.get_field("screen").related_model.objects.all())
    place = ModelChoiceFilter(field_name="screen__place", queryset=Place.objects.all(), help_text="Its screen's place")
    screen_group = ModelChoiceFilter(
        field_name="screen__groups", queryset=ScreenGroup.objects.all(), help_text="Its screen is in this group"
    )
    tags = IdListFilter(
        queryset=Tag.objects.all(),
        method="filter_tags",
        help_text="Comma-separated tag ids: players with all of them (a tag or any tag below it)",
    )
    policies = IdListFilter(
        queryset=Policy.objects.all(), method="filter_policies", help_text="Comma-separated policy ids: any of them"
    )
    has_policy = StrictBooleanFilter(method="filter_has_policy", help_text="Players with (or without) a policy")

    class Meta:
        model = Device
        fields = ["online", "screen", "model", "app_version", "barcode", "sticker", "is_locked"]

    def filter_status(self, queryset, name, value):
        if value == "unpaired":
            return queryset.filter(screen__isnull=True)
        return queryset.filter(screen__isnull=False, online=value == "online")

    def filter_tags(self, queryset, name, tags):
        return with_all_tags(queryset, tags)

    def filter_policies(self, queryset, name, policies):
        return queryset.filter(
            Exists(DevicePolicy.objects.filter(device=OuterRef("pk"), policy__in=[p.pk for p in policies]))
        )

    def filter_has_policy(self, queryset, name, value):
        condition = Exists(DevicePolicy.objects.filter(device=OuterRef("pk")))
        return queryset.filter(condition if value else ~condition)
