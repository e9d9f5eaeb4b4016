from django.contrib import admin
from django.db.models import Count
from unfold.admin import ModelAdmin, TabularInline

from .admin_scoping import FleetScopedAdminMixin, FleetScopedInlineMixin, RelatedOnlyFieldListFilter
from .models import AdvertiserType, Fleet, Membership


class MembershipInline(FleetScopedInlineMixin, TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "advertiser_type"]


@admin.register(Fleet)
class FleetAdmin(FleetScopedAdminMixin, ModelAdmin):
    list_display = ["name", "timezone", "share_of_voice", "has_external_storage", "max_screens", "member_count"]
    list_filter = ["share_of_voice", "timezone"]
    search_fields = ["name"]
    filter_horizontal = ["advertiser_types"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, fleet):
        return fleet.member_count

    @admin.display(description="External storage", boolean=True)
    def has_external_storage(self, fleet):
        return fleet.has_external_storage


@admin.register(Membership)
class MembershipAdmin(FleetScopedAdminMixin, ModelAdmin):
    list_display = ["user", "fleet", "role", "advertiser_type", "created"]
    list_filter = ["role", ("fleet", RelatedOnlyFieldListFilter), "advertiser_type"]
    search_fields = ["user__username", "user__email", "fleet__name"]
    list_select_related = ["user", "fleet", "advertiser_type"]
    autocomplete_fields = ["user", "fleet"]


@admin.register(AdvertiserType)
class AdvertiserTypeAdmin(ModelAdmin):
    list_display = ["id", "name"]
    search_fields = ["name"]
