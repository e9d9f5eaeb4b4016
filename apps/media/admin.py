from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from apps.accounts.admin_scoping import HistoryAdminMixin, ServiceAdminMixin, form_values

from . import services
from .models import Media
from .tasks import refresh_url_media


class MediaAddForm(forms.ModelForm):
    """A new media: a file to upload, or a URL to fetch (and refresh)."""

    upload = forms.FileField(required=False, label="File", help_text="A picture, a video or a PDF.")
    url = forms.URLField(required=False, max_length=2000, label="or URL", assume_scheme="https")

    class Meta:
        model = Media
        fields = ["fleet", "name", "folder", "display_time", "refresh_time", "validity_time"]

    def clean(self):
        data = super().clean()
        if bool(data.get("upload")) == bool(data.get("url")):
            raise forms.ValidationError("Give either a file or a URL.", code="required")
        return data

    def _post_clean(self):
        pass  # the media services validate and build the object (type, file, checksum come from the content)


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
class MediaAdmin(HistoryAdminMixin, ServiceAdminMixin, ModelAdmin):
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
    refusal_fields = {"file": "upload", "url_origin": "url"}

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MediaAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["fleet", "upload", "url", "name", "folder", "display_time", "refresh_time", "validity_time"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*super().get_readonly_fields(request, obj), "fleet", "author"]

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            current = Media.objects.get(pk=obj.pk)
            return self.call_service(services.media_update, media=current, values=form_values(form, changed_only=True))
        common = {
            "fleet": data["fleet"],
            "author": request.user,
            "display_time": data.get("display_time"),
            "name": data.get("name") or "",
            "folder": data.get("folder") or "",
        }
        common["folder"] = self.call_service(services.clean_folder, value=common["folder"])
        if data.get("upload"):
            return self.call_service(services.media_create_from_upload, upload=data["upload"], **common)
        return self.call_service(
            services.media_create_from_url,
            url=data["url"],
            field="url",
            refresh_time=data.get("refresh_time"),
            validity_time=data.get("validity_time"),
            **common,
        )

    def service_delete(self, request, obj):
        services.media_delete(media=obj)

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
