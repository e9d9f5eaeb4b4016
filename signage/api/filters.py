import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters import fields as filter_fields
from rest_framework import filters

from signage.bounds import instant_clean, is_ascii_digits


class StrictBooleanField(forms.Field):
    """`true`/`false` (or 1/0); anything else is a 400, where django-filter would silently not filter."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise ValidationError("Expected true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class InstantField(filter_fields.IsoDateTimeField):
    """An ISO 8601 datetime with its timezone, in range, turned to UTC before the database sees it."""

    def to_python(self, value):
        value = super().to_python(value)
        return None if value is None else instant_clean(value)


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


INTEGER_KEYS = (
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
    "SmallIntegerField",
)
MAX_ID = 2**63 - 1


class BoundedModelChoiceField(filter_fields.ModelChoiceField):
    """Refuses an integer id that no row can have before asking the database (SQLite overflows on one)."""

    def to_python(self, value):
        if value not in self.empty_values and self.queryset.model._meta.pk.get_internal_type() in INTEGER_KEYS:
            text = str(value)
            if not is_ascii_digits(text) or int(text) > MAX_ID:
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = BoundedModelChoiceField


class OrderingFilter(filters.OrderingFilter):
    """`ordering=` only on the fields a view lists in `ordering_fields` (never on any serializer field,
    which could be a relation or an unindexed text column chosen by the client)."""

    def get_valid_fields(self, queryset, view, context=None):
        if getattr(view, "ordering_fields", None) is None:
            return []
        return super().get_valid_fields(queryset, view, context or {})


class FieldSelectionFilter(filters.BaseFilterBackend):
    """Filters nothing: documents `fields`, `omit` and `expand` (drf-flex-fields' default parameter
    names, which this project keeps) on list endpoints in the schema. flex.py does the work.

    It must not import rest_flex_fields: a backend named in REST_FRAMEWORK settings is imported while
    DRF's generics load, and rest_flex_fields imports DRF's viewsets, a circular import."""

    def filter_queryset(self, request, queryset, view):
        return queryset

    def get_schema_operation_parameters(self, view):
        return [
            _param("fields", "Comma-separated fields to return (e.g. `id,name`)."),
            _param("omit", "Comma-separated fields to leave out."),
            _param("expand", "Comma-separated relations to inline as objects."),
        ]


def _param(name: str, description: str) -> dict:
    return {"name": name, "required": False, "in": "query", "description": description, "schema": {"type": "string"}}
