from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from apps.accounts.admin_scoping import HistoryAdminMixin, RelatedOnlyFieldListFilter, ServiceAdminMixin, form_values

from . import live, services
from .models import LIVE, Media, MediaType
from .tasks import refresh_url_media


class MediaAddForm(forms.ModelForm):
    """A new media: a file to upload, or a URL to fetch (and refresh); or, with a content type, a web page,
    a YouTube video or a live stream (apps/media/live.py)."""

    kind = forms.ChoiceField(
        required=False,
        label="Content",
        choices=[("", "A file, or the file at a URL"), *((kind, MediaType(kind).label) for kind in LIVE)],
        help_text="A web page is shown live (players that cannot: its capture); each needs a display time.",
    )
    upload = forms.FileField(required=False, label="File", help_text="A picture, a video or a PDF.")
    url = forms.URLField(required=False, max_length=2000, label="or URL", assume_scheme="https")
    youtube_id = forms.CharField(required=False, max_length=200, label="YouTube video id")

    class Meta:
        model = Media
        fields = ["fleet", "name", "folder", "display_time", "refresh_time", "validity_time"]

    def clean(self):
        data = super().clean()
        if data.get("kind") == MediaType.YOUTUBE:
            if bool(data.get("youtube_id")) == bool(data.get("url")):
                raise forms.ValidationError("Give either a YouTube video id or its URL.", code="required")
        elif bool(data.get("upload")) == bool(data.get("url")) or (data.get("kind") and data.get("upload")):
            raise forms.ValidationError(
                "Give the URL." if data.get("kind") else "Give either a file or a URL.", code="required"
            )
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
    list_filter = ["type", ("fleet", RelatedOnlyFieldListFilter), RefreshFilter, "folder"]
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
    refusal_fields = {"file": "upload", "url_origin": "url", "type": "kind"}

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MediaAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "fleet", "kind", "upload", "url", "youtube_id", "name", "folder", "display_time", "refresh_time",
                "validity_time",
            ]  # fmt: skip
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*super().get_readonly_fields(request, obj), "fleet", "author"]

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            current = Media.objects.get(pk=obj.pk)
            return self.call_service(services.media_update, media=current, **form_values(form, changed_only=True))
        common = {
            "fleet": data["fleet"],
            "author": request.user,
            "display_time": data.get("display_time"),
            "name": data.get("name") or "",
            "folder": data.get("folder") or "",
        }
        common["folder"] = self.call_service(services.clean_folder, value=common["folder"])
        if data.get("kind"):
            return self.call_service(
                live.media_create_live,
                kind=data["kind"],
                url=data.get("url") or "",
                youtube_id=data.get("youtube_id") or "",
                refresh_time=data.get("refresh_time"),
                validity_time=data.get("validity_time"),
                **common,
            )
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
        ids = [media.pk for media in queryset.exclude(source_url="").only("type", "source_url") if media.refreshable]
        for media_id in ids:
            refresh_url_media.delay(media_id)
        self.message_user(request, f"{len(ids)} media queued for refresh.", messages.SUCCESS)
