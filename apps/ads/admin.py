from django.contrib import admin, messages
from django.db.models import Count

from apps.accounts.admin_scoping import FleetScopedAdminMixin
from apps.accounts.models import Fleet

from .filters import current_ads_q
from .models import Ad, Broadcast, BroadcastScreen, QuotaOverflow
from .services import campaign_audit


class CurrentFilter(admin.SimpleListFilter):
    title = "current"
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "Current"), ("no", "Not current")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        fleets = Fleet.objects.filter(pk__in=queryset.values("fleet_id")).values_list("pk", "timezone")
        condition = current_ads_q(fleets)
        return queryset.filter(condition) if self.value() == "yes" else queryset.exclude(condition)


class BroadcastScreenInline(admin.TabularInline):
    model = BroadcastScreen
    extra = 0
    autocomplete_fields = ["screen"]


class BroadcastInline(admin.TabularInline):
    model = Broadcast
    extra = 0
    fields = ["order", "media", "display_periods", "screens_loop_indexes", "screen_count"]
    readonly_fields = ["screen_count"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("media").annotate(screen_total=Count("broadcast_screens"))

    @admin.display(description="Screens")
    def screen_count(self, broadcast):
        return getattr(broadcast, "screen_total", "—")


@admin.register(Ad)
class AdAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "fleet",
        "campaign_startdate",
        "campaign_enddate",
        "status",
        "campaign_type",
        "multimedia_type",
        "author_origin",
        "broadcast_count",
    ]
    list_filter = [
        CurrentFilter,
        "status",
        "campaign_type",
        "multimedia_type",
        ("fleet", admin.RelatedOnlyFieldListFilter),
        "author_origin",
    ]
    search_fields = ["id", "name"]
    list_select_related = ["fleet", "author_origin"]
    date_hierarchy = "campaign_startdate"
    inlines = [BroadcastInline]
    actions = ["check_quotas"]
    readonly_fields = ["author", "created", "modified"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(broadcast_total=Count("broadcasts"))

    @admin.display(description="Broadcasts", ordering="broadcast_total")
    def broadcast_count(self, ad):
        return ad.broadcast_total

    @admin.action(description="Check share-of-voice quotas")
    def check_quotas(self, request, queryset):
        for ad in queryset.select_related("fleet").filter(author_origin__isnull=False):
            overflows = campaign_audit(ad)
            if overflows:
                self.message_user(request, f"{ad.name}: over quota on {len(overflows)} screen(s).", messages.WARNING)
            else:
                self.message_user(request, f"{ad.name}: within quota.", messages.SUCCESS)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.instance.is_share_of_voice and campaign_audit(form.instance):
            self.message_user(
                request, "This campaign exceeds a share-of-voice quota (see quota overflows).", messages.WARNING
            )


@admin.register(Broadcast)
class BroadcastAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "ad", "media", "order"]
    list_select_related = ["ad", "media"]
    search_fields = ["=id", "=ad__id", "ad__name"]
    inlines = [BroadcastScreenInline]
    autocomplete_fields = ["ad"]


@admin.register(QuotaOverflow)
class QuotaOverflowAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["ad", "screen", "date", "duration", "quota", "detected_at"]
    list_select_related = ["ad", "screen"]
    list_filter = [("ad__fleet", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["ad__name", "screen__name"]
