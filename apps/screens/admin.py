from django.contrib import admin, messages
from django.db.models import Count

from apps.accounts.admin_scoping import FleetScopedAdminMixin

from .models import Screen, ScreenGroup, ScreenType
from .services import ScreenLimitReached, screen_update


@admin.register(Screen)
class ScreenAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "fleet", "city", "screen_type", "active", "online", "online_modified_date", "last_seen_at"]
    list_filter = [
        "active",
        "online",
        ("fleet", admin.RelatedOnlyFieldListFilter),
        "place__city",
        ("groups", admin.RelatedOnlyFieldListFilter),
        ("screen_type", admin.RelatedOnlyFieldListFilter),
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
            try:
                screen_update(screen=screen, values={"active": active})
                changed += 1
            except ScreenLimitReached as error:
                self.message_user(request, str(error), messages.ERROR)
                break
        self.message_user(request, f"{changed} screen(s) {'activated' if active else 'deactivated'}.")


@admin.register(ScreenGroup)
class ScreenGroupAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "fleet", "screen_count"]
    list_filter = [("fleet", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    list_select_related = ["fleet"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    @admin.display(description="Screens", ordering="screen_count")
    def screen_count(self, group):
        return group.screen_count


@admin.register(ScreenType)
class ScreenTypeAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "fleet", "width", "height", "orientation"]
    list_filter = [("fleet", admin.RelatedOnlyFieldListFilter), "orientation"]
    search_fields = ["name"]
    list_select_related = ["fleet"]
