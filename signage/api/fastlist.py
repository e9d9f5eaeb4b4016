"""Read-only lists without DRF's per-row machinery: the same JSON, from `values()`.

A page of 1,000 screens spent most of its time building model instances (and a related manager per row for
the prefetched players and groups) and then walking 37 serializer fields per row, each through
`get_attribute` and `to_representation`. `FastListMixin` answers a list from the columns the selected
fields read instead: one `values()` query for the page, one per to-many relation (the same statements in
number as the ORM's prefetches), hyperlinks from one URL template per view name, and each value converted
only where DRF's field would change it (dates and times go through the DRF field itself).

It serves only what it can reproduce exactly, decided per request from the serializer's selected fields
(after `fields=` and `omit=`): plain model fields, hyperlinks (to-one, identity, and to-many by primary
key), columns of a to-one relation (`place.city`), and nested read-only serializers of a reverse foreign key
made of such fields. `expand=`, nested `fields=` (dotted), and any other field (a method field, a property)
take DRF's path. `tests/api/test_fast_lists.py` compares both byte for byte.
"""

import uuid
from datetime import datetime
from urllib.parse import quote

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Lookup
from rest_framework import ISO_8601, serializers
from rest_framework import fields as drf_fields
from rest_framework.relations import HyperlinkedIdentityField, HyperlinkedRelatedField, ManyRelatedField
from rest_framework.settings import api_settings

from signage.scopes import unscoped

from .flex import selected_fields, selection_options
from .serializers import PLACEHOLDER, TemplatedHyperlinkMixin

# The rows related to a page's objects, read by their ids: the page itself was scoped.
PAGE_ROWS = "the related rows of a scoped page, read by its ids"

# DRF fields whose to_representation gives back a value of the column's own type unchanged.
IDENTITY = (
    drf_fields.BooleanField,
    drf_fields.CharField,  # str(value) of a text column
    drf_fields.ChoiceField,  # a stored choice maps back to itself
    drf_fields.IntegerField,  # int(value) of an integer column
    drf_fields.JSONField,
    drf_fields.ReadOnlyField,
)
TEXT_COLUMNS = {"CharField", "SlugField", "TextField", "EmailField", "URLField"}
INTEGER_COLUMNS = {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "PositiveSmallIntegerField",
                   "PositiveIntegerField", "SmallIntegerField", "PositiveBigIntegerField"}  # fmt: skip
PLAIN = (int, uuid.UUID)
SAFE = "!$&'()*+,;=~:@"  # as TemplatedHyperlinkMixin quotes lookup values
NATIVE = {"BooleanField": (drf_fields.BooleanField,), "JSONField": (drf_fields.JSONField,)}


class AnyOf(Lookup):
    """`column = ANY(%s)` with the ids as one array parameter on PostgreSQL: a page's 1,000 ids as 1,000
    placeholders cost more to prepare (Django's per-value preparation, psycopg's parsing of the statement)
    than the query itself. Elsewhere a plain IN list."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


class Unsupported(Exception):
    """A field this module cannot reproduce: the request takes DRF's path."""


def _identity(value):
    return value


def _template(field, request) -> str:
    """The field's URL with a placeholder for the lookup value (TemplatedHyperlinkMixin's own template)."""
    if not isinstance(field, TemplatedHyperlinkMixin) or field.lookup_field not in ("pk", "id"):
        raise Unsupported(field.field_name)
    template = field.reverse(field.view_name, kwargs={field.lookup_url_kwarg: PLACEHOLDER}, request=request)
    if template.count(PLACEHOLDER) != 1:
        raise Unsupported(field.field_name)
    head, tail = template.split(PLACEHOLDER)
    return head, tail


def _link(template):
    head, tail = template

    def link(value):
        if type(value) in PLAIN:  # nothing to quote in digits and hex
            return head + str(value) + tail
        return head + quote(str(value), safe=SAFE) + tail

    return link


def _converter(field, model_field):
    """How a column's value becomes what `field` would render."""
    kind = model_field.get_internal_type()
    if isinstance(field, drf_fields.DateTimeField):
        return _datetime(field)
    if isinstance(field, drf_fields.DateField):
        return field.to_representation
    if isinstance(field, IDENTITY):
        if isinstance(field, (drf_fields.ReadOnlyField, *NATIVE.get(kind, ()))):
            return _identity
        if isinstance(field, drf_fields.ChoiceField) or (
            isinstance(field, drf_fields.CharField) and kind in TEXT_COLUMNS
        ) or (isinstance(field, drf_fields.IntegerField) and kind in INTEGER_COLUMNS):  # fmt: skip
            return _identity
    raise Unsupported(field.field_name)


def _datetime(field):
    """DRF's DateTimeField.to_representation with the field's timezone resolved once (not per value): ISO
    8601, "Z" for UTC; anything but an aware datetime in ISO format goes through the field itself."""
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    iso = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if zone is None or iso is None or iso.lower() != ISO_8601:
        return field.to_representation

    def convert(value):
        if type(value) is not datetime or value.tzinfo is None:
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _column(model, source: str):
    """(values() path, model field) of a dotted source through to-one relations."""
    parts, current, path = source.split("."), model, []
    for index, part in enumerate(parts):
        try:
            model_field = current._meta.get_field(part)
        except FieldDoesNotExist:
            raise Unsupported(source) from None
        path.append(part)
        if index == len(parts) - 1:
            if model_field.is_relation:
                raise Unsupported(source)
            return "__".join(path), model_field
        if not (model_field.many_to_one or model_field.one_to_one) or not model_field.concrete:
            raise Unsupported(source)
        current = model_field.related_model
    raise Unsupported(source)


class _Plan:
    """Per request: the columns to read and, per output field, how to make its value from a row."""

    def __init__(self, serializer, request):
        model = serializer.Meta.model
        self.columns = {model._meta.pk.attname}
        self.makers = []  # (name, function(row, related) -> value)
        self.relations = []  # (name, function(ids) -> {id: [values]})
        for name, field in selected_fields(serializer).items():
            if field.write_only:
                continue
            self.makers.append((name, self._maker(model, name, field, request)))

    def _plain(self, column, convert):
        self.columns.add(column)
        return ("column", column) if convert is _identity else ("convert", column, convert)

    def row_function(self):
        """One function building a row's dict, compiled for this request's fields: a plain column is a
        subscript, a converted one a call, with no per-field dispatch left."""
        namespace, parts = {}, []
        for index, (name, maker) in enumerate(self.makers):
            if maker[0] == "column":
                value = f"row[{maker[1]!r}]"
            elif maker[0] == "convert":
                namespace[f"f{index}"] = maker[2]
                value = f"(None if (v{index} := row[{maker[1]!r}]) is None else f{index}(v{index}))"
            else:
                namespace[f"f{index}"] = maker[1]
                value = f"f{index}(row, related)"
            parts.append(f"{name!r}: {value}")
        exec(f"def build(row, related):\n    return {{{', '.join(parts)}}}", namespace)
        return namespace["build"]

    def _maker(self, model, name, field, request):
        pk = model._meta.pk.attname
        if isinstance(field, HyperlinkedIdentityField):
            self.columns.add(pk)
            return ("convert", pk, _link(_template(field, request)))
        if isinstance(field, HyperlinkedRelatedField):
            model_field = _model_field(model, field.source)
            if not model_field.many_to_one or not field.use_pk_only_optimization():
                raise Unsupported(name)
            return self._plain(model_field.attname, _link(_template(field, request)))
        if isinstance(field, ManyRelatedField):
            return self._many_links(model, name, field, request)
        if isinstance(field, serializers.ListSerializer):
            return self._nested_rows(model, name, field)
        if isinstance(field, serializers.BaseSerializer) or field.source == "*":
            raise Unsupported(name)
        column, model_field = _column(model, field.source)
        if "__" in column and not field.allow_null:
            raise Unsupported(name)  # a missing related row would be DRF's SkipField or error, not None
        return self._plain(column, _converter(field, model_field))

    def _many_links(self, model, name, field, request):
        child = field.child_relation
        model_field = _model_field(model, field.source)
        if not model_field.many_to_many or not model_field.concrete or not child.use_pk_only_optimization():
            raise Unsupported(name)
        link, target = _link(_template(child, request)), model_field.related_model
        back = model_field.related_query_name()

        def load(ids):
            grouped = {}
            with unscoped(PAGE_ROWS):
                rows = list(
                    target._default_manager.filter(AnyOf(F(f"{back}__pk"), ids)).values_list(f"{back}__pk", "pk")
                )
            for owner, pk in rows:
                grouped.setdefault(owner, []).append(link(pk))
            return grouped

        self.relations.append((name, load))
        return ("call", lambda row, related: related[name].get(row[model._meta.pk.attname], []))

    def _nested_rows(self, model, name, field):
        model_field = _model_field(model, field.source)
        if not model_field.one_to_many or isinstance(field.child, serializers.ModelSerializer):
            raise Unsupported(name)
        target, back = model_field.related_model, model_field.field.attname
        makers = []
        for child_name, child in field.child.fields.items():
            if child.write_only:
                continue
            column, child_model_field = _column(target, child.source)
            if "__" in column:
                raise Unsupported(name)
            makers.append((child_name, column, _converter(child, child_model_field)))
        columns = sorted({back, *(column for _, column, _ in makers)})

        def load(ids):
            grouped = {}
            with unscoped(PAGE_ROWS):
                items = list(target._default_manager.filter(AnyOf(F(back), ids)).values(*columns))
            for item in items:
                grouped.setdefault(item[back], []).append(
                    {key: None if item[column] is None else convert(item[column]) for key, column, convert in makers}
                )
            return grouped

        self.relations.append((name, load))
        return ("call", lambda row, related: related[name].get(row[model._meta.pk.attname], []))


def _model_field(model, source: str):
    if "." in source:
        raise Unsupported(source)
    try:
        return model._meta.get_field(source)
    except FieldDoesNotExist:
        raise Unsupported(source) from None


class FastListMixin:
    """On a model viewset: `list` answered by `_Plan` when every selected field allows it (see the module)."""

    fast_list = True

    def list(self, request, *args, **kwargs):
        serializer = self.get_serializer()
        options = selection_options(serializer)
        dotted = any("." in name for key in ("fields", "omit") for name in options.get(key, []))
        formatted = serializer.context.get("format")  # `?format=` may suffix the hyperlinks
        if not self.fast_list or options.get("expand") or dotted or formatted or self.paginator is None:
            return super().list(request, *args, **kwargs)
        try:
            plan = _Plan(serializer, request)
        except Unsupported:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        pk = queryset.model._meta.pk.attname
        page = self.paginate_queryset(queryset.values(*sorted(plan.columns)))
        ids = [row[pk] for row in page]
        related = {name: load(ids) if ids else {} for name, load in plan.relations}
        build = plan.row_function()
        data = [build(row, related) for row in page]
        return self.get_paginated_response(data)
