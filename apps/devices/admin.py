from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from apps.accounts import permissions, scoping
from apps.accounts.admin_scoping import (
    FleetScopedInlineMixin,
    HistoryAdminMixin,
    Refused,
    RelatedOnlyFieldListFilter,
    ServiceAdminMixin,
    ViewOnlyMixin,
    form_values,
)
from apps.screens.admin import ScreenAdmin

from .bulk.admin import BulkOperationAdmin
from .bulk.models import BulkOperation
from .models import CommandType, Device, DeviceCommand, DevicePolicy
from .pairing import PairingThrottled, pair_with_code
from .policies.admin import DevicePolicyInline, DeviceTagInline
from .policies.services import devices_settings_changed
from .provisioning.admin import ProvisionAdmin  # noqa: F401  (registers it)
from .screenshots.admin import device_screenshots
from .services import command_create, device_update


class CommandInline(FleetScopedInlineMixin, TabularInline):
    model = DeviceCommand
    extra = 0
    fields = ["type", "payload", "created_at", "delivered_at", "succeeded_at", "failed_at", "result"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(succeeded_at__isnull=True, failed_at__isnull=True)


class ScreenPlayersInline(ViewOnlyMixin, FleetScopedInlineMixin, TabularInline):
    """The players of a screen, on the screen's page (SPEC 10: devices inside screens). Read-only: players
    are paired through the pairing form or the API, and edited on their own page (the link)."""

    model = Device
    fk_name = "screen"
    extra = 0
    fields = ["player", "uuid", "online", "last_seen_at", "app_version"]
    readonly_fields = fields
    can_delete = False
    verbose_name, verbose_name_plural = "player", "players"

    @admin.display(description="Player")
    def player(self, device):
        return format_html('<a href="{}">{}</a>', reverse("admin:devices_device_change", args=[device.pk]), device)


# Screens sit below devices (SPEC 2's layers): the screen's admin gets its players inline from here.
ScreenAdmin.inlines = [*ScreenAdmin.inlines, ScreenPlayersInline]


class SendCommandForm(forms.Form):
    type = forms.ChoiceField(
        choices=[(c.value, c.label) for c in CommandType if c not in ("lock", "unlock", "play_ad", "set_app_version")]
    )


class DeviceForm(forms.ModelForm):
    code = forms.CharField(
        max_length=6,
        required=False,
        label="Pairing code",
        help_text="An unpaired player: type the code it shows, and pick its screen.",
    )

    class Meta:
        model = Device
        fields = ["name", "screen", "barcode", "sticker"]


@admin.register(Device)
class DeviceAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    form = DeviceForm
    refusal_fields = {"pairing_code": "code"}
    list_display = ["__str__", "uuid", "fleet", "screen", "status", "last_seen_at", "app_version", "storage_free_mb",
                    "temperature", "is_locked"]  # fmt: skip
    list_filter = ["online", "is_locked", ("fleet", RelatedOnlyFieldListFilter), "model", "app_version"]
    search_fields = ["uuid", "name", "barcode", "sticker", "screen__name"]
    list_select_related = ["fleet", "screen"]
    autocomplete_fields = ["screen"]
    readonly_fields = ["uuid", "fleet", "pairing_expires_at", "paired_at", "model", "os_version",
                       "app_version", "ip_address", "wifi_signal", "storage_total_mb", "storage_used_mb",
                       "storage_free_mb", "screen_on", "volume", "brightness", "temperature", "uptime_seconds",
                       "current_content", "last_seen_at", "online", "created", "modified",
                       "screenshots"]  # fmt: skip
    exclude = ["token_hash", "content_ids", "playlist_etag", "has_pending_commands", "license_key", "lock_pin",
               "is_locked", "pairing_code", "settings_version", "settings_fetched"]  # fmt: skip
    inlines = [DeviceTagInline, DevicePolicyInline, CommandInline]
    actions = ["send_command"]

    def has_add_permission(self, request):
        return False  # players register themselves (device protocol)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is DevicePolicy and formset.has_changed():
            # what the player must set changed
            devices_settings_changed(fleet_id=form.instance.fleet_id, device_ids=[form.instance.pk])

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None and not obj.paired else [name for name in fields if name != "code"]

    def service_save(self, request, obj, form, change):
        current = scoping.scope_queryset(Device.objects.select_related("fleet"), request.user).get(pk=obj.pk)
        data = form.cleaned_data
        if current.paired:
            values = form_values(form, changed_only=True)
            return self.call_service(device_update, device=current, **values)
        if not data.get("screen") or not data.get("code"):
            raise Refused({"code": ["To pair this player, type the code it shows and pick its screen."]})
        if not permissions.allows(scoping.role_in(request.user, data["screen"].fleet_id), "devices.device", "pair"):
            raise Refused({"screen": ["Your role does not allow pairing players with this screen."]})
        details = {name: data.get(name) or "" for name in ("name", "barcode", "sticker")}
        try:
            return self.call_service(
                pair_with_code, request=request, pairing_code=data["code"], screen=data["screen"], **details
            )
        except PairingThrottled:
            raise Refused({"code": ["Too many pairing attempts: wait a minute."]}) from None

    @admin.display(description="Screenshots")
    def screenshots(self, device):
        return device_screenshots(device)

    @admin.display(description="Status")
    def status(self, device):
        if not device.screen_id:
            return "unpaired"
        return "online" if device.online else "offline"

    @admin.action(description="Send a command to the selected devices")
    def send_command(self, request, queryset):
        if "apply" in request.POST:
            form = SendCommandForm(request.POST)
            if form.is_valid():
                sent = 0
                for device in queryset:
                    if not self._table_allows(request, device, "command"):
                        self.message_user(request, f"{device}: your role does not allow commands.", messages.ERROR)
                        continue
                    try:
                        command_create(device=device, kind=form.cleaned_data["type"], author=request.user)
                        sent += 1
                    except ValidationError as error:
                        self.message_user(request, f"{device}: {'; '.join(error.messages)}", messages.ERROR)
                self.message_user(request, f"Command queued for {sent} device(s).", messages.SUCCESS)
                return None
        return render(request, "admin/devices/send_command.html",
                      {"devices": queryset, "form": SendCommandForm(), "title": "Send a command",
                       "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME})  # fmt: skip


admin.site.register(BulkOperation, BulkOperationAdmin)
