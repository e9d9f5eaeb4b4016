"""Base serializers: `url` and `id` on every object, relations as hyperlinks that accept a bare id too,
and relations scoped to the requesting user's fleets, so a payload cannot attach another fleet's object
(it is a 400 "does not exist", exactly like an id that exists nowhere)."""

from urllib.parse import quote

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import NoReverseMatch
from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework import serializers
from rest_framework.validators import BaseUniqueForValidator, UniqueTogetherValidator, UniqueValidator

from apps.accounts import scoping
from signage.bounds import DAY_VALIDATORS, INTEGER_RANGES
from signage.scopes import FleetManager, FleetQuerySet

from .flex import expandable_names

UNIQUENESS_VALIDATORS = (UniqueValidator, UniqueTogetherValidator, BaseUniqueForValidator)

PLACEHOLDER = "0lookup0"  # stands for the lookup value in a reversed URL (the routers' lookups take it)


class TemplatedHyperlinkMixin:
    """Hyperlinks from one `reverse()` per view name and request: the URL is reversed once with a
    placeholder, then each row's lookup value takes its place (a page of 1,000 screens spent a third of
    its time in `reverse()`). A URL the placeholder does not fit is reversed row by row, as DRF does."""

    def get_url(self, obj, view_name, request, format):
        if hasattr(obj, "pk") and obj.pk in (None, ""):
            return None
        templates = self.context.setdefault("_url_templates", {}) if isinstance(self.context, dict) else {}
        key = (view_name, self.lookup_url_kwarg, format, request is not None)
        template = templates.get(key)
        if template is None:
            try:
                template = self.reverse(
                    view_name, kwargs={self.lookup_url_kwarg: PLACEHOLDER}, request=request, format=format
                )
            except NoReverseMatch:
                template = ""
            templates[key] = template = template if template.count(PLACEHOLDER) == 1 else ""
        if not template:
            return super().get_url(obj, view_name, request, format)
        return template.replace(PLACEHOLDER, quote(str(getattr(obj, self.lookup_field)), safe="!$&'()*+,;=~:@"))


class HyperlinkedIdentityField(TemplatedHyperlinkMixin, serializers.HyperlinkedIdentityField):
    pass


class ScopedHyperlinkedRelatedField(TemplatedHyperlinkMixin, serializers.HyperlinkedRelatedField):
    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if queryset is None or getattr(queryset.model, "fleet_lookup", None) is None:
            return queryset
        return scoping.scope_queryset(queryset, request.user if request else None)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, int) or (isinstance(data, str) and data and "/" not in data):
            try:
                return self.get_queryset().get(pk=data)
            except (self.get_queryset().model.DoesNotExist, ValueError, TypeError, DjangoValidationError):
                self.fail("does_not_exist")
        return super().to_internal_value(data)


# A comment, not a docstring: drf-spectacular would show a docstring as every serializer's description.
class WholeWhenNestedMixin:
    # A nested object is validated exactly as on creation, even in a partial update (PATCH) of its
    # parent: DRF would skip its required fields (they look to the root's `partial`), and store `{}`
    # where an object with required fields belongs.

    def to_internal_value(self, data):
        root = self.root
        if root is self or not getattr(root, "partial", False):
            return super().to_internal_value(data)
        whole = type(self)(*self._args, **{**self._kwargs, "data": data, "partial": False, "context": self.context})
        whole.is_valid(raise_exception=True)
        return whole.validated_data


class Serializer(WholeWhenNestedMixin, serializers.Serializer):
    pass


class ModelSerializer(WholeWhenNestedMixin, FlexFieldsSerializerMixin, serializers.HyperlinkedModelSerializer):
    serializer_related_field = ScopedHyperlinkedRelatedField
    serializer_url_field = HyperlinkedIdentityField

    def apply_flex_fields(self, fields, flex_options):
        """`fields=` and `omit=` name fields this serializer has (a 400 otherwise, where drf-flex-fields
        would answer objects without them, even `{}`); an empty value selects nothing out."""
        flex_options = {
            key: [name for name in values if name] if key in ("fields", "omit") else values
            for key, values in flex_options.items()
        }
        known = set(fields) | expandable_names(self)
        for key in ("fields", "omit"):
            unknown = sorted({name.split(".")[0] for name in flex_options.get(key, [])} - known)
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Unknown field '{unknown[0]}'. Fields: {', '.join(sorted(known))}."]}, code="invalid"
                )
        return super().apply_flex_fields(fields, flex_options)

    def build_field(self, field_name, info, model_class, nested_depth):
        # `id` is a plain read-only field beside `url`, as in reference 000's payloads.
        if field_name == "id":
            return serializers.ReadOnlyField, {}
        return super().build_field(field_name, info, model_class, nested_depth)

    def build_standard_field(self, field_name, model_field):
        """Whole numbers within the column's range on PostgreSQL, days within signage.bounds, whatever
        the database at hand: a value no column can hold is a 400 (and the schema says the bounds)."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        low_high = INTEGER_RANGES.get(model_field.get_internal_type())
        if low_high is not None and "choices" not in kwargs:
            low, high = low_high
            kwargs["min_value"] = max(kwargs.get("min_value", low), low)
            kwargs["max_value"] = min(kwargs.get("max_value", high), high)
        if model_field.get_internal_type() == "DateField" and not any(
            v in model_field.validators for v in DAY_VALIDATORS
        ):
            kwargs["validators"] = [*kwargs.get("validators", []), *DAY_VALIDATORS]
        if "validators" in kwargs:
            kwargs["validators"] = [_table_wide(validator) for validator in kwargs["validators"]]
        return field_class, kwargs

    def get_validators(self):
        return [_table_wide(validator) for validator in super().get_validators()]


def _table_wide(validator):
    """DRF's uniqueness validators read the whole table (as the database's constraint does): a deliberate
    cross-fleet read (signage/scopes.py)."""
    queryset = getattr(validator, "queryset", None)
    if isinstance(validator, UNIQUENESS_VALIDATORS) and isinstance(queryset, FleetQuerySet | FleetManager):
        validator.queryset = queryset.unscoped("uniqueness is checked across the whole table")
    return validator


class OnlyFleetDefault:
    """Default of a `fleet` field on create: the requesting user's fleet, when they have exactly one;
    otherwise the client must say which. (Whether their role there allows the creation is the view's
    question, answered with a 403.)"""

    requires_context = True

    def __call__(self, field):
        request = field.context.get("request")
        fleets = list(scoping.fleets_of(request.user if request else None)[:2])
        if len(fleets) != 1:
            raise serializers.ValidationError("This field is required.", code="required")
        return fleets[0]


class FleetOwnedSerializer(ModelSerializer):
    """For objects that belong to one fleet: `fleet` is set on create (defaulting to the user's only
    fleet) and never changes afterwards."""

    def get_fields(self):
        fields = super().get_fields()
        if "fleet" in fields and not fields["fleet"].read_only:
            fields["fleet"].default = OnlyFleetDefault()
            fields["fleet"].required = False
        return fields

    def validate_fleet(self, fleet):
        if self.instance is not None and fleet.pk != self.instance.fleet_id:
            raise serializers.ValidationError("An object cannot move to another fleet.", code="invalid")
        return fleet
