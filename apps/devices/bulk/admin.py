"""Bulk operations in the console: created and driven through the same services as the API, with their
progress as a bar."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline

from apps.accounts.admin_scoping import FleetScopedInlineMixin, RelatedOnlyFieldListFilter, ServiceAdminMixin

from . import services
from .models import BulkOperation, BulkOperationDevice, TargetState

SEGMENTS = (  # progress bar: what, colour
    ("successful", "#16a34a"),
    ("failed", "#dc2626"),
    ("skipped", "#9ca3af"),
    ("awaiting_result", "#f59e0b"),
)


def progress_bar(operation: BulkOperation) -> str:
    """A bar of the operation's players: succeeded, failed, skipped, awaiting a result; the rest to do."""
    total = operation.total or 1
    parts = format_html_join(
        "",
        '<span title="{} {}" style="display:inline-block;height:100%;width:{}%;background:{}"></span>',
        ((getattr(operation, name), name.replace("_", " "), f"{100 * getattr(operation, name) / total:.2f}", colour)
         for name, colour in SEGMENTS if getattr(operation, name)),
    )  # fmt: skip
    done = operation.done
    return format_html(
        '<div class="bulk-progress" role="progressbar" aria-valuemin="0" aria-valuemax="{}" aria-valuenow="{}" '
        'style="display:flex;width:14rem;height:0.75rem;border-radius:4px;overflow:hidden;background:#e5e7eb">'
        "{}</div><small>{} / {} done: {} succeeded, {} failed, {} skipped, {} pending</small>",
        operation.total, done, parts, done, operation.total, operation.successful, operation.failed,
        operation.skipped, operation.pending,
    )  # fmt: skip


class BulkOperationForm(forms.ModelForm):
    class Meta:
        model = BulkOperation
        fields = ["fleet", "name", "operation_type", "data", "filter", "device_ids", "start_at", "batch_size",
                  "batch_delay", "stop_threshold", "result_timeout"]  # fmt: skip
        help_texts = {
            "filter": 'e.g. {"models": ["BrightSign XT"], "places": [3]}; {} is every player. Or leave it empty '
            "and list the players' ids below.",
            "device_ids": "A list of player ids, e.g. [12, 13]",
        }


class FailedPlayersInline(FleetScopedInlineMixin, TabularInline):
    model = BulkOperationDevice
    verbose_name_plural = "Failed players"
    extra = 0
    fields = ["device", "batch", "reason", "command", "sent_at", "finished_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state=TargetState.FAILED).select_related("device")


class BulkOperationAdmin(ServiceAdminMixin, ModelAdmin):
    form = BulkOperationForm
    list_display = ["name", "fleet", "operation_type", "state", "progress", "batches", "created_at", "finished_at"]
    list_filter = ["state", "operation_type", ("archived_at", admin.EmptyFieldListFilter),
                   ("fleet", RelatedOnlyFieldListFilter)]  # fmt: skip
    search_fields = ["name"]
    list_select_related = ["fleet"]
    inlines = [FailedPlayersInline]
    actions = ["pause", "resume", "stop", "archive"]
    readonly_fields = ["progress", "state", "stop_reason", "batches", "created_at", "started_at", "paused_at",
                       "resumed_at", "stopped_at", "finished_at", "archived_at", "author"]  # fmt: skip

    def get_fields(self, request, obj=None):
        fields = list(BulkOperationForm.Meta.fields)
        return fields if obj is None else ["progress", *fields, *self.readonly_fields[1:]]

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(description="Progress")
    def progress(self, operation):
        return progress_bar(operation)

    def service_save(self, request, obj, form, change):
        values = {name: form.cleaned_data.get(name) for name in BulkOperationForm.Meta.fields if name != "fleet"}
        values["devices"] = values.pop("device_ids")
        return self.call_service(
            services.bulk_operation_create, fleet=form.cleaned_data["fleet"], author=request.user, **values
        )

    def _each(self, request, queryset, action: str, change, done: str):
        count = 0
        for operation in queryset:
            if self._table_allows(request, operation, action):
                self.call_service(change, operation=operation)
                count += 1
        self.message_user(request, f"{count} operation(s) {done}.", messages.SUCCESS)

    @admin.action(description="Pause the selected operations", permissions=["add"])
    def pause(self, request, queryset):
        self._each(request, queryset, "pause", services.bulk_operation_pause, "paused")

    @admin.action(description="Resume the selected operations", permissions=["add"])
    def resume(self, request, queryset):
        self._each(request, queryset, "resume", services.bulk_operation_resume, "resumed")

    @admin.action(description="Stop the selected operations", permissions=["add"])
    def stop(self, request, queryset):
        self._each(request, queryset, "stop", services.bulk_operation_stop, "stopped")

    @admin.action(description="Archive the selected operations", permissions=["add"])
    def archive(self, request, queryset):
        self._each(request, queryset, "archive", services.bulk_operation_archive, "archived")
