from datetime import timedelta

from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone

from apps.accounts.admin_scoping import (
    EachActionMixin,
    FleetScopedAdminMixin,
    RelatedOnlyFieldListFilter,
    ServiceAdminMixin,
    ViewOnlyMixin,
    form_values,
)

from . import services
from .models import Alert, AlertDevice, AlertNotification, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(EachActionMixin, ServiceAdminMixin, admin.ModelAdmin):
    action_noun = "rule"
    list_display = ["name", "fleet", "alert_type", "builtin", "paused", "archived", "open_alerts",
                    "last_evaluated_at"]  # fmt: skip
    list_filter = ["alert_type", "paused", ("archived_at", admin.EmptyFieldListFilter),
                   ("fleet", RelatedOnlyFieldListFilter)]  # fmt: skip
    search_fields = ["name", "description"]
    list_select_related = ["fleet"]
    readonly_fields = ["builtin", "archived_at", "last_evaluated_at", "created_at", "modified_at"]
    fields = ["fleet", "name", "description", "alert_type", "filter", "conditions", "threshold", "periodicity",
              "action", "paused", *readonly_fields]  # fmt: skip
    actions = ["pause", "unpause", "archive", "unarchive", "evaluate_now"]

    def get_queryset(self, request):
        open_alerts = Count("alerts", filter=Q(alerts__resolved_at__isnull=True))
        return super().get_queryset(request).annotate(open_alert_count=open_alerts)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "fleet"] if obj is not None else fields

    def service_save(self, request, obj, form, change):
        if not change:
            values = form_values(form, changed_only=False, exclude=["fleet"])
            return self.call_service(services.alert_rule_create, fleet=form.cleaned_data["fleet"], **values)
        current = AlertRule.objects.of_fleet(obj.fleet_id).select_related("fleet").get(pk=obj.pk)
        values = form_values(form, changed_only=True, exclude=["fleet"])
        return self.call_service(services.alert_rule_update, rule=current, **values)

    @admin.display(boolean=True, ordering="archived_at")
    def archived(self, rule):
        return rule.archived_at is not None

    @admin.display(description="Open alerts", ordering="open_alert_count")
    def open_alerts(self, rule):
        return rule.open_alert_count

    @admin.action(description="Pause the selected rules", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, lambda rule: services.alert_rule_set_paused(rule=rule, paused=True), "paused")

    @admin.action(description="Unpause the selected rules", permissions=["change"])
    def unpause(self, request, queryset):
        self._each(request, queryset, lambda rule: services.alert_rule_set_paused(rule=rule, paused=False), "unpaused")

    @admin.action(description="Archive the selected rules", permissions=["change"])
    def archive(self, request, queryset):
        self._each(request, queryset, lambda r: services.alert_rule_set_archived(rule=r, archived=True), "archived")

    @admin.action(description="Unarchive the selected rules", permissions=["change"])
    def unarchive(self, request, queryset):
        self._each(request, queryset, lambda r: services.alert_rule_set_archived(rule=r, archived=False), "unarchived")

    @admin.action(description="Evaluate the selected rules now", permissions=["change"])
    def evaluate_now(self, request, queryset):
        self._each(request, queryset, lambda rule: services.alert_rule_evaluate(rule_id=rule.pk), "evaluated")


class AlertDeviceInline(FleetScopedAdminMixin, admin.TabularInline):
    model = AlertDevice
    extra = 0
    fields = ["device", "assigned_by_hand", "snoozed_until", "added_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("device")


class ResolvedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(EachActionMixin, ServiceAdminMixin, admin.ModelAdmin):
    action_noun = "alert"
    list_display = ["name", "fleet", "rule", "device_count", "created_at", "latest_change_at", "resolved_at",
                    "archived_at", "snoozed_until"]  # fmt: skip
    list_filter = [
        ResolvedFilter,
        ("archived_at", admin.EmptyFieldListFilter),
        ("fleet", RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "description", "alert_devices__device__name", "alert_devices__device__uuid"]
    list_select_related = ["fleet", "rule"]
    fields = ["fleet", "rule", "name", "description", "details", "created_at", "latest_change_at", "resolved_at",
              "archived_at", "snoozed_until"]  # fmt: skip
    readonly_fields = [name for name in fields if name != "description"]
    inlines = [AlertDeviceInline]
    actions = ["archive", "unarchive", "snooze_a_day", "unsnooze"]

    def has_add_permission(self, request):
        return False  # alerts are opened by evaluation

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(device_total=Count("alert_devices", distinct=True))

    @admin.display(description="Devices", ordering="device_total")
    def device_count(self, alert):
        return alert.device_total

    def service_save(self, request, obj, form, change):
        current = Alert.objects.get(pk=obj.pk)
        return self.call_service(
            services.alert_update_description, alert=current, description=form.cleaned_data.get("description", "")
        )

    @admin.action(description="Archive the selected alerts", permissions=["change"])
    def archive(self, request, queryset):
        self._each(request, queryset, lambda a: services.alert_set_archived(alert=a, archived=True), "archived")

    @admin.action(description="Unarchive the selected alerts", permissions=["change"])
    def unarchive(self, request, queryset):
        self._each(request, queryset, lambda a: services.alert_set_archived(alert=a, archived=False), "unarchived")

    @admin.action(description="Snooze the selected alerts for a day", permissions=["change"])
    def snooze_a_day(self, request, queryset):
        until = timezone.now() + timedelta(days=1)
        self._each(request, queryset, lambda alert: services.alert_snooze(alert=alert, until=until), "snoozed")

    @admin.action(description="Unsnooze the selected alerts", permissions=["change"])
    def unsnooze(self, request, queryset):
        self._each(request, queryset, lambda alert: services.alert_snooze(alert=alert, until=None), "unsnoozed")


@admin.register(AlertNotification)
class AlertNotificationAdmin(ViewOnlyMixin, FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["alert", "event", "channel", "recipient", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["event", "channel", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient", "alert__name"]
    list_select_related = ["alert"]
