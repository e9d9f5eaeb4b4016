"""The screen page of the admin, with a read-only preview of what the screen plays now. The loop lives in
this app, so it extends the screens app's admin from here (an app never imports one above it)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join

from apps.screens.admin import ScreenAdmin
from apps.screens.models import Screen

from .loop import loop_for_screen


class ScreenWithLoopAdmin(ScreenAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "current_loop"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [*fieldsets, ("Playing now", {"fields": ["current_loop"]})] if obj else fieldsets

    @admin.display(description="Loop")
    def current_loop(self, screen):
        entries = loop_for_screen(screen, timezone.now())
        if not entries:
            return "Nothing plays now."
        rows = format_html_join(
            "", "<li>{} — {}-{} ({} s)</li>", ((e.ad_name, e.media_type, e.media_id, e.duration) for e in entries)
        )
        return format_html_join("", "<ol>{}</ol>", [(rows,)])


admin.site.unregister(Screen)
admin.site.register(Screen, ScreenWithLoopAdmin)
