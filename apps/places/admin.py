from django.contrib import admin
from django.db.models import Count
from unfold.admin import ModelAdmin

from apps.accounts.admin_scoping import (
    HistoryAdminMixin,
    Refused,
    RelatedOnlyFieldListFilter,
    ServiceAdminMixin,
    form_values,
)

from .models import Place
from .services import place_create, place_delete, place_update


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
class PlaceAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    list_display = ["name", "full_address", "city", "country", "exclusive_fleet", "screen_count"]
    list_filter = [PublicFilter, "city", "country", ("exclusive_fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["name", "full_address", "city", "postalcode", "google_place_id", "private_fleet_key"]
    list_select_related = ["exclusive_fleet"]
    readonly_fields = ["full_address", "created", "modified"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "exclusive_fleet"] if obj is not None else fields

    def service_save(self, request, obj, form, change):
        if not change:
            values = form_values(form, changed_only=False, exclude=["exclusive_fleet", "full_address"])
            place, created = self.call_service(
                place_create, exclusive_fleet=form.cleaned_data.get("exclusive_fleet"), **values
            )
            if not created:
                raise Refused({"__all__": [f"This address is already the place '{place}'."]})
            return place
        current = Place.objects.of_fleet(obj.exclusive_fleet_id).get(pk=obj.pk)
        values = form_values(form, changed_only=True, exclude=["exclusive_fleet", "full_address"])
        return self.call_service(place_update, place=current, **values)

    def service_delete(self, request, obj):
        place_delete(place=obj)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    @admin.display(description="Screens", ordering="screen_count")
    def screen_count(self, place):
        return place.screen_count
