"""Console pages of tags and policies, and the tags and policies on a player's page (writes go through
the services, so players hear of their new settings)."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from unfold.admin import ModelAdmin, TabularInline

from apps.accounts import permissions
from apps.accounts.admin_scoping import (
    EachActionMixin,
    FleetScopedAdminMixin,
    RelatedOnlyFieldListFilter,
    ServiceAdminMixin,
    form_values,
)

from . import services
from .models import DevicePolicy, DeviceTag, Policy, Tag


class _ThroughServices(ServiceAdminMixin):
    """Created and changed through the services (`create_service(fleet=, **fields)`,
    `update_service(<instance_name>=, **fields)`); the fleet is fixed once created. The list counts players."""

    create_service = update_service = None
    instance_name = assignments = ""  # e.g. "tag" and "device_tags"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(player_count=Count(self.assignments))

    @admin.display(description="Players", ordering="player_count")
    def players(self, obj):
        return obj.player_count

    def service_save(self, request, obj, form, change):
        if not change:
            values = form_values(form, changed_only=False, exclude=["fleet"])
            return self.call_service(type(self).create_service, fleet=form.cleaned_data["fleet"], **values)
        current = self.model.objects.of_fleet(obj.fleet_id).select_related("fleet").get(pk=obj.pk)
        values = form_values(form, changed_only=True, exclude=["fleet"])
        return self.call_service(type(self).update_service, **{self.instance_name: current}, **values)


@admin.register(Tag)
class TagAdmin(_ThroughServices, ModelAdmin):
    list_display = ["name", "parent", "fleet", "color", "players"]
    list_filter = [("fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    list_select_related = ["fleet", "parent"]
    fields = ["fleet", "name", "color", "parent"]
    create_service, update_service = staticmethod(services.tag_create), staticmethod(services.tag_update)
    instance_name, assignments = "tag", "device_tags"

    def get_readonly_fields(self, request, obj=None):
        return ["fleet"] if obj is not None else []


@admin.register(Policy)
class PolicyAdmin(EachActionMixin, _ThroughServices, ModelAdmin):
    action_noun = "policy"
    list_display = ["name", "fleet", "archived", "item_types", "players", "modified_at"]
    list_filter = ["archived", ("fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    list_select_related = ["fleet"]
    readonly_fields = ["created_at", "modified_at"]
    fields = ["fleet", "name", "description", "archived", "items", *readonly_fields]
    actions = ["archive", "unarchive", "clone"]
    create_service, update_service = staticmethod(services.policy_create), staticmethod(services.policy_update)
    instance_name, assignments = "policy", "device_policies"

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "fleet"] if obj is not None else fields

    @admin.display(description="Items")
    def item_types(self, policy):
        return ", ".join(item["type"] for item in policy.items or [])

    def service_delete(self, request, obj) -> None:
        services.policy_delete(policy=obj)

    @admin.action(description="Archive the selected policies (inactive)", permissions=["change"])
    def archive(self, request, queryset):
        self._each(request, queryset, lambda p: services.policy_set_archived(policy=p, archived=True), "archived")

    @admin.action(description="Unarchive the selected policies", permissions=["change"])
    def unarchive(self, request, queryset):
        self._each(request, queryset, lambda p: services.policy_set_archived(policy=p, archived=False), "unarchived")

    @admin.action(description="Clone the selected policies", permissions=["change"])
    def clone(self, request, queryset):
        self._each(request, queryset, lambda p: services.policy_clone(policy=p, name=f"{p.name} (copy)"), "cloned")


class _SameFleetForm(forms.ModelForm):
    """The tag or policy must be of the player's fleet (a member of two fleets could pick another's)."""

    related = ""

    def clean(self):
        cleaned = super().clean()
        chosen, parent = cleaned.get(self.related), getattr(self, "parent_device", None)
        if chosen is not None and parent is not None and chosen.fleet_id != parent.fleet_id:
            self.add_error(self.related, "This belongs to another fleet than the player.")
        return cleaned


class DeviceTagForm(_SameFleetForm):
    related = "tag"


class DevicePolicyForm(_SameFleetForm):
    related = "policy"


class _PlayerInline(FleetScopedAdminMixin, TabularInline):
    extra = 0

    def _writing_roles(self):
        return permissions.PLAYERS  # whoever drives players assigns tags and policies

    def _allowed(self, request, obj):
        return obj is None or self._table_allows_device(request, obj)

    def _table_allows_device(self, request, device):
        from apps.accounts import scoping

        if scoping.sees_every_fleet(request.user):
            return True
        return permissions.allows(scoping.role_in(request.user, device.fleet_id), "devices.device", "policy_assign")

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class WithDevice(formset):
            def _construct_form(self, i, **form_kwargs):
                form = super()._construct_form(i, **form_kwargs)
                form.parent_device = obj
                return form

        return WithDevice


class DeviceTagInline(_PlayerInline):
    model = DeviceTag
    form = DeviceTagForm
    fields = ["tag", "assigned_at"]
    readonly_fields = ["assigned_at"]
    verbose_name, verbose_name_plural = "tag", "tags"


class DevicePolicyInline(_PlayerInline):
    model = DevicePolicy
    form = DevicePolicyForm
    fields = ["policy", "priority", "assigned_at"]
    readonly_fields = ["assigned_at"]
    verbose_name, verbose_name_plural = "policy", "policies (the higher priority wins)"
