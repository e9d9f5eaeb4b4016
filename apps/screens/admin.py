from django.contrib import admin, messages
from django.db.models import Count
from unfold.admin import ModelAdmin

from apps.accounts.admin_scoping import (
    FleetScopedAdminMixin,
    HistoryAdminMixin,
    Refused,
    RelatedOnlyFieldListFilter,
    RelatedValuesFieldListFilter,
    ServiceAdminMixin,
    form_values,
)

from .models import Screen, ScreenGroup, ScreenType
from .services import screen_create, screen_update
from .widgets import AllocatedTimesField, WeekHoursField


@admin.register(Screen)
class ScreenAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    list_display = ["name", "fleet", "city", "screen_type", "active", "online", "online_modified_date", "last_seen_at"]
    list_filter = [
        "active",
        "online",
        ("fleet", RelatedOnlyFieldListFilter),
        ("place__city", RelatedValuesFieldListFilter),
        ("groups", RelatedOnlyFieldListFilter),
        ("screen_type", RelatedOnlyFieldListFilter),
        "deactivation_reason",
    ]
    search_fields = ["id", "name", "slug", "custom_slug", "place__city", "place__name"]
    list_select_related = ["fleet", "place", "screen_type"]
    autocomplete_fields = ["place"]
    filter_horizontal = ["groups"]
    readonly_fields = ["id", "slug", "online", "online_modified_date", "last_seen_at", "created", "modified"]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["id", "fleet", "name", "slug", "custom_slug", "description", "place", "location"]}),
        (
            "Display",
            {
                "fields": [
                    "screen_type",
                    "groups",
                    "orientation",
                    "rotation",
                    "timezone",
                    "display_is_a_led_panel",
                    "display_is_an_epaper",
                    "remote",
                ]
            },
        ),
        ("State", {"fields": ["active", "deactivation_reason", "online", "online_modified_date", "last_seen_at"]}),
        ("Hours and share of voice", {"fields": ["opening_hours", "download_hours", "allocated_times"]}),
        ("History", {"fields": ["created", "modified"]}),
    ]

    refusal_fields = {"max_screens_reached": "active"}
    inlines = []  # the players' (apps.devices.admin adds it: devices sit above screens)

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []  # a new screen has no players yet

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("opening_hours", "download_hours"):
            return WeekHoursField(required=False, label=db_field.verbose_name.capitalize())
        if db_field.name == "allocated_times":
            return AllocatedTimesField(required=False, label="Allocated times", help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "allocated_times" in form.base_fields:
            form.base_fields["allocated_times"].widget.kinds = list(obj.fleet.advertiser_types.all())
        return form

    def service_save(self, request, obj, form, change):
        groups = form.cleaned_data.get("groups")
        if not change:
            values = form_values(form, changed_only=False, exclude=["fleet"])
            return self.call_service(
                screen_create, fleet=form.cleaned_data["fleet"], groups=list(groups or []), **values
            )
        current = Screen.objects.of_fleet(obj.fleet_id).select_related("fleet").get(pk=obj.pk)
        values = form_values(form, changed_only=True, exclude=["fleet"])
        groups = list(groups) if "groups" in form.changed_data else None
        return self.call_service(screen_update, screen=current, groups=groups, **values)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "fleet"] if obj is not None else fields

    @admin.display(ordering="place__city")
    def city(self, screen):
        return screen.place.city if screen.place else ""

    @admin.action(description="Activate the selected screens")
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate the selected screens")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active):
        changed = 0
        for screen in queryset.select_related("fleet").filter(active=not active):
            if not self.has_change_permission(request, screen):
                continue
            try:
                self.call_service(screen_update, screen=screen, active=active)
                changed += 1
            except Refused as refused:
                self.message_user(request, refused.text, messages.ERROR)
                break
        self.message_user(request, f"{changed} screen(s) {'activated' if active else 'deactivated'}.")


@admin.register(ScreenGroup)
class ScreenGroupAdmin(FleetScopedAdminMixin, ModelAdmin):
    list_display = ["name", "fleet", "screen_count"]
    list_filter = [("fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    list_select_related = ["fleet"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    @admin.display(description="Screens", ordering="screen_count")
    def screen_count(self, group):
        return group.screen_count


@admin.register(ScreenType)
class ScreenTypeAdmin(FleetScopedAdminMixin, ModelAdmin):
    list_display = ["name", "fleet", "width", "height", "orientation"]
    list_filter = [("fleet", RelatedOnlyFieldListFilter), "orientation"]
    search_fields = ["name"]
    list_select_related = ["fleet"]
