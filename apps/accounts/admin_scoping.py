"""The console's rules for the admin classes of every app.

- Fleet scoping: non-operator staff see and pick only their fleets' objects (accounts.scoping decides
  which); another fleet's object is a 404.
- Rights: what a member may do on an object is the permission table's answer for their role in the
  object's fleet (apps/accounts/permissions.py); the model-level rights come from
  `MembershipPermissionBackend`, from the same table.
- Writes through the services (`ServiceAdminMixin`): the owning app's service function saves; when it
  refuses, the transaction is rolled back and the form is shown again with the refusal next to the field.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import ModelChoiceField
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string

from signage.errors import DomainError
from signage.scopes import unscoped

from . import permissions, scoping

ALL = "__all__"


class FleetScopedInlineMixin:
    """The rows of an admin (or inline) of a fleet-owned model, scoped to the user's fleets; for read-only
    inlines this is all they need (the parent's admin decides the rights)."""

    def get_queryset(self, request):
        return scoping.scope_queryset(super().get_queryset(request), request.user)

    def get_formset(self, request, obj=None, **kwargs):
        """An inline's formset checks the submitted row ids against these rows (Django's, every row)."""
        formset = super().get_formset(request, obj, **kwargs)
        rows = self.get_queryset(request)

        class ScopedFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                row_id = form.fields.get(self.model._meta.pk.name)
                if isinstance(row_id, ModelChoiceField):
                    row_id.queryset = rows

        return ScopedFormSet


class ViewOnlyMixin:
    """Shown in the console, never written there (by a service, a task or the device protocol): no add,
    change or delete, for an admin or an inline. First in the bases, before the scoping mixins' rights."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FleetScopedAdminMixin(FleetScopedInlineMixin):
    """For ModelAdmin and InlineModelAdmin classes of fleet-owned models."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:  # another fleet's object, or none at all: the same answer
            raise Http404("No such object in your fleets.")
        return obj

    # Rights per object, from the table, for the user's role in the object's fleet.

    def _table_allows(self, request, obj, action: str) -> bool:
        resource = permissions.resource_of(self.model)
        if obj is None or resource not in permissions.RULES or scoping.sees_every_fleet(request.user):
            return True
        return permissions.allows(scoping.role_in(request.user, scoping.fleet_of(obj)), resource, action)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._table_allows(request, obj, permissions.VIEW)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._table_allows(request, obj, permissions.CHANGE)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._table_allows(request, obj, permissions.DELETE)

    # Choices: only objects of the fleets where the user may write this model.

    def _writing_roles(self):
        resource = permissions.resource_of(self.model)
        if resource not in permissions.RULES:
            return permissions.ADMINS
        return permissions.roles_for(resource, permissions.ADD) | permissions.roles_for(resource, permissions.CHANGE)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _scoped(field, request, self._writing_roles())

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return _scoped(field, request, self._writing_roles())


def _scoped(field, request, roles):
    queryset = getattr(field, "queryset", None)
    if field is not None and queryset is not None and getattr(queryset.model, "fleet_lookup", None):
        field.queryset = scoping.scope_queryset(queryset, request.user, roles)
    return field


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A changelist's filter by a related fleet-owned object offers the user's fleets' objects only
    (Django's lists every row of the related table: other fleets' names)."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        queryset = scoping.scope_queryset(field.related_model._default_manager.all(), request.user)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]


class RelatedOnlyFieldListFilter(admin.RelatedOnlyFieldListFilter):
    """Django's filter by the related objects the changelist's rows point to: the rows are scoped, so
    are the objects they point to (reading them is a read from objects in hand)."""

    def field_choices(self, field, request, model_admin):
        with unscoped("the objects that the scoped changelist rows point to"):
            return super().field_choices(field, request, model_admin)


class RelatedValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """A filter by a field of a related model (`place__city`): the values of the objects the changelist's
    scoped rows point to (Django's lists the values of every row of the related table)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        rows = model_admin.get_queryset(request)
        self.lookup_choices = rows.distinct().order_by(field_path).values_list(field_path, flat=True)


admin.FieldListFilter.register(
    lambda field: field.is_relation and hasattr(field.related_model, "fleet_lookup"),
    ScopedRelatedFieldListFilter,
    take_priority=True,
)


def scoped_choices(queryset, request, admin):
    """A queryset for an extra form field of `admin`, cut like its model fields' choices."""
    return scoping.scope_queryset(queryset, request.user, admin._writing_roles())


# --- writes through the services ------------------------------------------------------------------------


class Refused(Exception):
    """A service said no: `errors` maps form fields (or `__all__`) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors

    @property
    def text(self) -> str:
        return "; ".join(text for texts in self.errors.values() for text in texts)


def refusal_errors(error: Exception) -> dict[str, list[str]]:
    """A service's refusal as form errors: the fields of a ValidationError, the messages of a domain error
    (plain text), a PermissionDenied's words for the whole form."""
    if isinstance(error, DjangoValidationError):
        if hasattr(error, "error_dict"):
            return {field: list(texts) for field, texts in error.message_dict.items()}
        return {ALL: error.messages}
    if isinstance(error, DomainError):
        return error.messages()
    return {getattr(error, "code", None) or ALL: [str(error)]}


REFUSALS = (DjangoValidationError, PermissionDenied, DomainError)


def form_values(form, *, changed_only: bool, exclude=()) -> dict:
    """The model fields a form sets (only those the user changed, on a change form)."""
    model = form._meta.model
    fields = {field.name for field in model._meta.concrete_fields}
    names = form.changed_data if changed_only else list(form.cleaned_data)
    return {
        name: form.cleaned_data[name]
        for name in names
        if name in fields and name in form.cleaned_data and name not in exclude
    }


class ServiceAdminMixin(FleetScopedAdminMixin):
    """Console writes through the owning app's services.

    Subclasses implement `service_save(request, obj, form, change) -> saved object` (and `service_delete`).
    A refusal rolls the admin's transaction back; the form is then built again from the same POST with
    the refusal's messages added to it, so nothing is saved and the words stand next to the field.
    """

    refusal_fields: dict[str, str] = {}  # a service's field name -> the form field that shows it

    def service_save(self, request, obj, form, change):
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:
        obj.delete()

    def call_service(self, function, **kwargs):
        try:
            return function(**kwargs)
        except REFUSALS as error:
            errors = refusal_errors(error)
            raise Refused({self.refusal_fields.get(key, key): texts for key, texts in errors.items()}) from error

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            request.console_refusal = refused.errors
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        errors = getattr(request, "console_refusal", None)
        if not errors:
            return form

        class RefusedForm(form):
            def _post_clean(self):
                super()._post_clean()
                for field, texts in errors.items():
                    if field in self.fields and field not in self.errors:
                        self.add_error(field, texts)
                    elif field == ALL or field in self.fields:
                        self.add_error(None, texts)
                    else:
                        self.add_error(None, [f"{field.replace('_', ' ').capitalize()}: {text}" for text in texts])

        return RefusedForm

    def save_model(self, request, obj, form, change):
        saved = self.service_save(request, obj, form, change)
        if saved is not None and saved is not obj:
            obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields are the service's to write; inlines of other models are saved as usual.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        self.call_service(self.service_delete, request=request, obj=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except Refused as refused:
            self.message_user(request, refused.text, messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except Refused as refused:
            self.message_user(request, refused.text, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class EachActionMixin:
    """Admin actions that apply a service to each selected object the user may change, then say how many."""

    action_noun = "object"

    def _each(self, request, queryset, change, done: str):
        count = 0
        for obj in queryset:
            if self.has_change_permission(request, obj):
                change(obj)
                count += 1
        self.message_user(request, f"{count} {self.action_noun}(s) {done}.", messages.SUCCESS)


# --- history ---------------------------------------------------------------------------------------------


class HistoryAdminMixin:
    """A "History of changes" section on the change page: who changed what, when, through which door
    (django-auditlog's entries for the object, newest first)."""

    history_limit = 20

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "change_history"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != "change_history"]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        return [*fieldsets, ("History of changes", {"fields": ["change_history"]})] if obj is not None else fieldsets

    @admin.display(description="Changes")
    def change_history(self, obj):
        from auditlog.models import LogEntry

        entries = LogEntry.objects.get_for_object(obj).select_related("actor").order_by("-timestamp")
        return render_to_string(
            "admin/signage/change_history.html",
            {"entries": list(entries[: self.history_limit]), "zone": _zone_of(obj)},
        )


def _zone_of(obj) -> str:
    from .models import Fleet

    fleet_id = scoping.fleet_of(obj)
    if fleet_id is None:
        return "UTC"
    return Fleet.objects.of_fleet(fleet_id).values_list("timezone", flat=True).first() or "UTC"
