from django.contrib import admin
from django.db.models import Count

from apps.accounts.admin_scoping import FleetScopedAdminMixin

from .models import Place


class PublicFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("public", "Public"), ("exclusive", "Exclusive")]

    def queryset(self, request, queryset):
        if self.value() in ("public", "exclusive"):
            return queryset.filter(exclusive_fleet__isnull=self.value() == "public")
        return queryset


@admin.register(Place)
class PlaceAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "full_address", "city", "country", "exclusive_fleet", "screen_count"]
    list_filter = [PublicFilter, "city", "country", ("exclusive_fleet", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "full_address", "city", "postalcode", "google_place_id", "private_fleet_key"]
    list_select_related = ["exclusive_fleet"]
    readonly_fields = ["full_address", "created", "modified"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    @admin.display(description="Screens", ordering="screen_count")
    def screen_count(self, place):
        return place.screen_count
