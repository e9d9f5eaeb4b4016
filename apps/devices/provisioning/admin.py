"""Provisions in the console: list, form and CSV import (django-import-export with unfold's forms)."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ImportMixin
from import_export.formats.base_formats import CSV
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ImportForm

from apps.accounts.admin_scoping import HistoryAdminMixin, RelatedOnlyFieldListFilter, ServiceAdminMixin, form_values

from .models import Provision, ProvisionStatus
from .resources import ProvisionResource
from .services import provision_create, provision_update


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ProvisionStatus.choices

    def queryset(self, request, queryset):
        if self.value() in ProvisionStatus.values:
            return queryset.filter(applied_at__isnull=self.value() == ProvisionStatus.PENDING)
        return queryset


@admin.register(Provision)
class ProvisionAdmin(ImportMixin, HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    resource_classes = [ProvisionResource]
    import_formats = [CSV]
    import_form_class = ImportForm
    list_display = ["serial_number", "name", "fleet", "screen", "status", "device", "applied_at"]
    list_filter = [StatusFilter, ("fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["serial_number", "name", "barcode", "sticker", "screen__name"]
    list_select_related = ["fleet", "screen", "device"]
    autocomplete_fields = ["screen"]
    fields = ["fleet", "serial_number", "name", "screen", "barcode", "sticker", "tags", "policies", "device",
              "applied_at"]  # fmt: skip
    readonly_fields = ["device", "applied_at"]
    filter_horizontal = ["tags", "policies"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "fleet"] if obj is not None else fields

    @admin.display(description="Status")
    def status(self, provision):
        return ProvisionStatus(provision.status).label

    def service_save(self, request, obj, form, change):
        values = form_values(form, changed_only=change, exclude=["fleet"])
        for name in ("tags", "policies"):  # many-to-many: the service writes them
            if name in form.cleaned_data and (not change or name in form.changed_data):
                values[name] = list(form.cleaned_data[name])
        if not change:
            return self.call_service(provision_create, fleet=form.cleaned_data["fleet"], **values)
        return self.call_service(provision_update, provision=obj, **values)

    # CSV import: the rows' screens are scoped to the user's fleets, and the whole file or nothing.

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():  # rolled back: nothing was written
            self.message_user(request, "Nothing was imported: the file has rows in error.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:devices_provision_import"))
        return super().process_result(result, request)
