"""`fields=`, `omit=` and `expand=`: selecting fields in the JSON and in the SQL.

drf-flex-fields' serializer mixin does the selection in the JSON. Its FlexFieldsFilterBackend, meant to
trim the SQL, cannot be imported with DRF >= 3.17 (it imports `rest_framework.compat.coreapi`, removed
in 3.17: rsinger86/drf-flex-fields#145) and only understands sources that are direct model fields. This
module is the one place that works around it: `plan_queryset` reads the fields a request selected, and
their sources, and gives the queryset the `only()`, `select_related()`, `prefetch_related()` and
annotations those fields need, and no more.

A serializer declares the needs the planner cannot see (method fields, annotations) in
`Meta.field_queries = {"field": {"only": [...], "select": [...], "prefetch": [...], "annotate": f}}`, where
`f(context)` returns the annotations (they may depend on the requesting user).
A field whose needs stay unknown turns `only()` off for its model (everything is loaded) rather than
risk a query per row.

drf-flex-fields has no public way to ask which fields a request selected before rendering. This module
is the one place that uses its private names (`_flex_fields_rep_applied`, `_flex_options_rep_only`,
`_expandable_fields`, `_get_query_param_value`, `_get_permitted_expands_from_query_param`), pinned to the
version in requirements.txt: tests/api/test_flex_private_api.py checks each one and fails, naming it,
when an upgrade changes them.
"""

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch
from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework import serializers
from rest_framework.relations import HyperlinkedIdentityField, ManyRelatedField, RelatedField


class _Plan:
    def __init__(self):
        self.only: set[str] = set()
        self.select: set[str] = set()
        self.prefetch: dict[str, Prefetch | None] = {}
        self.annotate: dict = {}
        self.complete = True

    def add_select(self, path: str) -> None:
        """Join `path`; it and every relation on the way must be loaded, not deferred."""
        self.select.add(path)
        parts = path.split("__")
        self.only.update("__".join(parts[: index + 1]) for index in range(len(parts)))

    def add_prefetch(self, path: str, prefetch: Prefetch | None) -> None:
        if path in self.prefetch and self.prefetch[path] is not prefetch:
            self.prefetch[path] = None  # two fields need the same relation differently: load it whole
        else:
            self.prefetch[path] = prefetch

    def apply(self, queryset):
        if self.annotate:
            queryset = queryset.annotate(**self.annotate)
        if self.select:
            queryset = queryset.select_related(*sorted(self.select))
        for path in sorted(self.prefetch):
            queryset = queryset.prefetch_related(self.prefetch[path] or path)
        if self.complete:
            queryset = queryset.only(*sorted(self.only))
        return queryset


def selected_fields(serializer) -> dict:
    """The serializer's fields after the request's fields/omit/expand are applied."""
    if isinstance(serializer, FlexFieldsSerializerMixin) and not serializer._flex_fields_rep_applied:
        # The mixin applies query-string options lazily in to_representation; apply them now, on this
        # instance only, the way its own (unimportable) filter backend did.
        serializer.apply_flex_fields(serializer.fields, serializer._flex_options_rep_only)
        serializer._flex_fields_rep_applied = True
    return serializer.fields


def selection_options(serializer) -> dict:
    """The request's `fields`, `omit` and `expand` lists as the mixin parsed them (empty if not a flex one)."""
    return getattr(serializer, "_flex_options_rep_only", {})


def expandable_names(serializer) -> set[str]:
    """The names `expand=` accepts on this serializer (Meta.expandable_fields or the attribute)."""
    return set(getattr(serializer, "_expandable_fields", {}))


def plan_queryset(queryset, serializer, required=()):
    """`queryset` narrowed and joined to exactly what `serializer`'s selected fields read (and the
    `required` columns)."""
    plan = _Plan()
    plan.only.update(required)
    _plan_fields(plan, queryset.model, serializer, "")
    return plan.apply(queryset)


def _plan_fields(plan: _Plan, model, serializer, prefix: str) -> None:
    plan.only.add(prefix + model._meta.pk.name)
    declared = getattr(getattr(serializer, "Meta", None), "field_queries", {})
    for name, field in selected_fields(serializer).items():
        if field.write_only:
            continue
        if name in declared:
            needs = declared[name]
            plan.only.update(prefix + path for path in needs.get("only", ()))
            for path in needs.get("select", ()):
                plan.add_select(prefix + path)
            for path in needs.get("prefetch", ()):
                plan.add_prefetch(prefix + path, None)
            if "annotate" in needs:
                if prefix:
                    plan.complete = False  # annotations of a joined model cannot be added here
                else:
                    plan.annotate.update(needs["annotate"](serializer.context))
            continue
        _plan_field(plan, model, field, prefix)


def _plan_field(plan: _Plan, model, field, prefix: str) -> None:
    if field.source == "*":
        if isinstance(field, HyperlinkedIdentityField):
            lookup = model._meta.pk.name if field.lookup_field == "pk" else field.lookup_field
            plan.only.add(prefix + lookup)
        else:
            plan.complete = False
        return
    parts = field.source.split(".")
    current = model
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        try:
            model_field = current._meta.get_field(part)
        except FieldDoesNotExist:
            plan.complete = False  # a property or method: what it reads is unknown
            return
        path = prefix + part
        if not model_field.is_relation:
            plan.only.add(path)
            return
        if model_field.many_to_many or model_field.one_to_many:
            plan.add_prefetch(path, _prefetch_for(model_field, field, path) if last else None)
            if not last:
                plan.complete = False
            return
        if not model_field.concrete:  # reverse one-to-one: joined whole
            plan.select.add(path)
            plan.complete = False
            return
        plan.only.add(path)
        if last and isinstance(field, RelatedField) and field.use_pk_only_optimization():
            return  # a hyperlink or id reads the foreign key column, no join
        nested = last and isinstance(field, serializers.BaseSerializer) and not getattr(field, "many", False)
        if nested and _annotates(field):
            # Annotations cannot ride on a join: fetch the related rows in a query of their own.
            plan.add_prefetch(path, Prefetch(path, queryset=plan_queryset(_default_queryset(model_field), field)))
            return
        plan.add_select(path)
        if nested:
            _plan_fields(plan, model_field.related_model, field, path + "__")
            return
        if last:
            plan.only.add(path + "__" + model_field.related_model._meta.pk.name)
            plan.complete = False  # e.g. a StringRelatedField: the whole related row is needed
            return
        prefix, current = path + "__", model_field.related_model


def _default_queryset(model_field):
    return model_field.related_model._default_manager.all()


def _annotates(serializer) -> bool:
    declared = getattr(getattr(serializer, "Meta", None), "field_queries", {})
    return any("annotate" in declared.get(name, {}) for name in selected_fields(serializer))


def _prefetch_for(model_field, field, path: str) -> Prefetch | None:
    queryset = _default_queryset(model_field)
    # Prefetching a reverse foreign key matches rows back to their parent through that key.
    back = [model_field.field.attname] if model_field.one_to_many else []
    if isinstance(field, ManyRelatedField) and field.child_relation.use_pk_only_optimization():
        return Prefetch(path, queryset=queryset.only(model_field.related_model._meta.pk.name, *back))
    if isinstance(field, serializers.ListSerializer):
        return Prefetch(path, queryset=plan_queryset(queryset, field.child, required=back))
    return None


class NestedFlexFieldsMixin:
    """For a flex serializer rendered inside another response (the fleets of `/me/`): the request's
    `fields`, `omit` and `expand` are about that response, so this serializer ignores them."""

    def _get_query_param_value(self, field):
        return []

    def _get_permitted_expands_from_query_param(self, expand_param):
        return []
