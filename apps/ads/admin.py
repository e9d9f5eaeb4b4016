from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from unfold.admin import ModelAdmin, StackedInline

from apps.accounts.admin_scoping import (
    FleetScopedAdminMixin,
    HistoryAdminMixin,
    RelatedOnlyFieldListFilter,
    ServiceAdminMixin,
    ViewOnlyMixin,
    form_values,
    scoped_choices,
)
from apps.accounts.models import Fleet
from apps.screens.models import Screen, ScreenGroup
from apps.screens.widgets import WeekHoursField

from .feeds import data_feed_save
from .models import Ad, Broadcast, DataFeed, Playlist, QuotaOverflow, Schedule, current_q
from .services import broadcast_delete, broadcast_save, campaign_audit, campaign_create, campaign_update


class CurrentFilter(admin.SimpleListFilter):
    title = "current"
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "Current"), ("no", "Not current")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        fleets = Fleet.objects.unscoped("the fleets of scoped campaigns").filter(pk__in=queryset.values("fleet_id"))
        condition = current_q(fleets.values_list("pk", "timezone"))
        return queryset.filter(condition) if self.value() == "yes" else queryset.exclude(condition)


class BroadcastForm(forms.ModelForm):
    """A broadcast with its screens (written by the campaign services with the rest of the campaign)."""

    # Not named `screens`: the admin refuses a many-to-many field with its own through model in `fields`.
    screen_list = forms.ModelMultipleChoiceField(queryset=Screen.objects.none(), required=False, label="Screens")
    group_list = forms.ModelMultipleChoiceField(
        queryset=ScreenGroup.objects.none(), required=False, label="Screen groups"
    )
    display_periods = WeekHoursField(required=False, label="Display periods")
    screen_choices = Screen.objects.none()
    group_choices = ScreenGroup.objects.none()

    class Meta:
        model = Broadcast
        fields = ["order", "media", "display_periods", "screens_loop_indexes", "all_screens", "conditions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["screen_list"].queryset = self.screen_choices
        self.fields["group_list"].queryset = self.group_choices
        if self.instance.pk and "screen_list" not in self.initial:
            self.initial["screen_list"] = [link.screen_id for link in self.instance.broadcast_screens.all()]
        if self.instance.pk and "group_list" not in self.initial:
            self.initial["group_list"] = [group.pk for group in self.instance.groups.all()]

    def item(self) -> dict:
        """The broadcast as the campaign services read it."""
        data = self.cleaned_data
        item = {
            "media": data.get("media"),
            "screens": list(data.get("screen_list") or []),
            "groups": list(data.get("group_list") or []),
            "all_screens": bool(data.get("all_screens")),
            "conditions": data.get("conditions") or [],
            "display_periods": data.get("display_periods") or {},
            "screens_loop_indexes": data.get("screens_loop_indexes") or {},
        }
        if data.get("order") is not None:
            item["order"] = data["order"]
        return item


def _with_screen_choices(form_class, request, admin):
    screens = scoped_choices(Screen.objects.select_related("fleet").order_by("name"), request, admin)
    groups = scoped_choices(ScreenGroup.objects.select_related("fleet").order_by("name"), request, admin)
    return type(form_class.__name__, (form_class,), {"screen_choices": screens, "group_choices": groups})


class BroadcastInline(FleetScopedAdminMixin, StackedInline):
    model = Broadcast
    form = BroadcastForm
    extra = 0
    fields = ["order", "media", "screen_list", "group_list", "all_screens", "display_periods", "conditions"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("media").prefetch_related("broadcast_screens", "groups")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _with_screen_choices(formset.form, request, self)
        return formset


@admin.register(Ad)
class AdAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    list_display = ["name", "fleet", "starts", "ends", "status", "kind", "media_kind", "share", "broadcast_count"]
    list_filter = [
        CurrentFilter,
        "status",
        "campaign_type",
        "multimedia_type",
        ("fleet", RelatedOnlyFieldListFilter),
        "author_origin",
    ]
    search_fields = ["id", "name"]
    list_select_related = ["fleet", "author_origin"]
    date_hierarchy = "campaign_startdate"
    inlines = [BroadcastInline]
    actions = ["check_quotas"]
    # The screenshot task writes the adupdater status; the console shows it.
    readonly_fields = ["author", "adupdater_error", "adupdater_checked_at", "created", "modified"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(broadcast_total=Count("broadcasts"))

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "fleet"] if obj is not None else fields

    @admin.display(description="Starts", ordering="campaign_startdate")
    def starts(self, ad):
        return ad.campaign_startdate

    @admin.display(description="Ends", ordering="campaign_enddate")
    def ends(self, ad):
        return ad.campaign_enddate or "—"

    @admin.display(description="Type", ordering="campaign_type")
    def kind(self, ad):
        return ad.get_campaign_type_display()

    @admin.display(description="Media", ordering="multimedia_type")
    def media_kind(self, ad):
        return ad.get_multimedia_type_display()

    @admin.display(description="Share of voice", ordering="author_origin")
    def share(self, ad):
        return ad.author_origin.name if ad.author_origin_id else "—"

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

    def save_model(self, request, obj, form, change):
        pass  # the campaign and its broadcasts are written together, once the inlines are known

    def save_related(self, request, form, formsets, change):
        """The campaign and its broadcasts through the campaign services, validated as a whole."""
        items, broadcast_formsets = [], [fs for fs in formsets if fs.model is Broadcast]
        for formset in broadcast_formsets:
            for broadcast_form in formset.forms:
                data = getattr(broadcast_form, "cleaned_data", None)
                if not data or (formset.can_delete and data.get("DELETE")):
                    continue
                items.append(broadcast_form.item())
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        values = form_values(form, changed_only=change, exclude=["fleet", "author"])
        if change:
            current = Ad.objects.of_fleet(form.instance.fleet_id).get(pk=form.instance.pk)
            ad = self.call_service(campaign_update, ad=current, broadcasts=items, **values)
        else:
            ad = self.call_service(
                campaign_create, fleet=form.cleaned_data["fleet"], author=request.user, broadcasts=items, **values
            )
        form.instance.__dict__.update(ad.__dict__)


class BroadcastAdminForm(BroadcastForm):
    class Meta(BroadcastForm.Meta):
        fields = ["ad", *BroadcastForm.Meta.fields]


@admin.register(Broadcast)
class BroadcastAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
    form = BroadcastAdminForm
    list_display = ["id", "ad", "media", "order"]
    list_select_related = ["ad", "media"]
    search_fields = ["=id", "=ad__id", "ad__name"]
    autocomplete_fields = ["ad"]
    fields = [
        "ad",
        "order",
        "media",
        "screen_list",
        "group_list",
        "all_screens",
        "display_periods",
        "conditions",
        "screens_loop_indexes",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "ad"] if obj is not None else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        return _with_screen_choices(super().get_form(request, obj, change=change, **kwargs), request, self)

    def service_save(self, request, obj, form, change):
        item = form.item()
        renamed = {"screen_list": "screens", "group_list": "groups"}
        changed = {renamed.get(name, name) for name in form.changed_data}
        values = {name: value for name, value in item.items() if not change or name in changed}
        if change:
            current = Broadcast.objects.of_fleet(obj.ad.fleet_id).select_related("ad").get(pk=obj.pk)
            return self.call_service(broadcast_save, ad=current.ad, broadcast=current, **values)
        return self.call_service(broadcast_save, ad=form.cleaned_data["ad"], **values)

    def service_delete(self, request, obj):
        broadcast_delete(broadcast=obj)


@admin.register(QuotaOverflow)
class QuotaOverflowAdmin(FleetScopedAdminMixin, ModelAdmin):
    list_display = ["ad", "screen", "date", "duration", "quota", "detected_at"]
    list_select_related = ["ad", "screen"]
    list_filter = [("ad__fleet", RelatedOnlyFieldListFilter)]
    search_fields = ["ad__name", "screen__name"]


FEED_FIELDS = ["name", "source_url", "refresh_time", "max_age"]


class DataFeedForm(forms.ModelForm):
    class Meta:
        model = DataFeed
        fields = ["fleet", *FEED_FIELDS]

    def clean(self):
        # The service fetches a new URL (through the SSRF guard) before storing it; a refusal is the form's.
        cleaned = super().clean()
        if not self.errors:
            try:
                self.instance = data_feed_save(
                    fleet=cleaned["fleet"],
                    **{name: cleaned[name] for name in FEED_FIELDS},
                    feed=self.instance if self.instance.pk else None,
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(DataFeed)
class DataFeedAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    form = DataFeedForm
    list_display = ["name", "fleet", "source_url", "fetched_at", "last_error"]
    list_select_related = ["fleet"]
    search_fields = ["name", "source_url"]
    readonly_fields = ["data", "fetched_at", "next_fetch_at", "last_error", "created", "modified"]


class ReadOnlyAdmin(ViewOnlyMixin, FleetScopedAdminMixin, admin.ModelAdmin):
    """Written through the API's services (a schedule is compiled into its campaign); the console shows them."""


@admin.register(Playlist)
class PlaylistAdmin(ReadOnlyAdmin):
    list_display = ["name", "fleet", "transition", "modified"]
    list_select_related = ["fleet"]
    search_fields = ["name"]


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "fleet", "playlist", "target_type", "priority", "active", "start_date", "end_date"]
    list_select_related = ["fleet", "playlist"]
    list_filter = ["active", "target_type"]
    search_fields = ["name"]
