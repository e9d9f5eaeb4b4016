import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import rest_framework as drf_filters
from rest_framework import filters


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


class FilterSet(drf_filters.FilterSet):
    """Base of every filter set: strict booleans, ISO 8601 datetimes (2026-01-22T12:59:39Z)."""

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": django_filters.IsoDateTimeFilter},
    }


class DjangoFilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = FilterSet


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
