from django.contrib import admin, messages
from django.utils.html import format_html

from apps.accounts.admin_scoping import FleetScopedAdminMixin

from .models import Media
from .tasks import refresh_url_media


class RefreshFilter(admin.SimpleListFilter):
    title = "refresh"
    parameter_name = "refresh"

    def lookups(self, request, model_admin):
        return [("auto", "Refreshed automatically"), ("failing", "Last refresh failed"), ("upload", "Uploaded")]

    def queryset(self, request, queryset):
        if self.value() == "auto":
            return queryset.filter(refresh_time__isnull=False)
        if self.value() == "failing":
            return queryset.exclude(last_error="")
        if self.value() == "upload":
            return queryset.filter(source_url="")
        return queryset


@admin.register(Media)
class MediaAdmin(FleetScopedAdminMixin, admin.ModelAdmin):
    list_display = ["preview", "name", "public_id", "type", "fleet", "size", "play_duration", "refresh_status"]
    list_display_links = ["preview", "name"]
    list_filter = ["type", ("fleet", admin.RelatedOnlyFieldListFilter), RefreshFilter, "folder"]
    search_fields = ["name", "folder", "checksum", "source_url"]
    list_select_related = ["fleet"]
    actions = ["refresh_now"]
    readonly_fields = [
        "preview",
        "type",
        "file",
        "thumbnail",
        "mime_type",
        "size",
        "checksum",
        "width",
        "height",
        "duration",
        "metadata",
        "source_url",
        "etag",
        "last_modified_header",
        "last_successful_update",
        "last_checked_at",
        "next_refresh_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "external_path",
        "created",
        "modified",
    ]
    exclude = ["refresh_lease_until"]

    @admin.display(description="")
    def preview(self, media):
        if not media.thumbnail:
            return media.type
        return format_html('<img src="{}" style="max-height:48px;max-width:96px" alt="">', media.thumbnail.url)

    @admin.display(description="Seconds")
    def play_duration(self, media):
        return media.play_duration

    @admin.display(description="Refresh")
    def refresh_status(self, media):
        if not media.refresh_time:
            return "—"
        if media.last_error:
            return format_html(
                '<span style="color:#b00020" title="{}">failing ({})</span>',
                media.last_error,
                media.consecutive_failures,
            )
        return f"every {media.refresh_time} min"

    @admin.action(description="Refresh the selected URL media now")
    def refresh_now(self, request, queryset):
        ids = list(queryset.exclude(source_url="").values_list("pk", flat=True))
        for media_id in ids:
            refresh_url_media.delay(media_id)
        self.message_user(request, f"{len(ids)} media queued for refresh.", messages.SUCCESS)
