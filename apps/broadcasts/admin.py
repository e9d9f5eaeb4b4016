"""The screen page of the console, with the screen's loop at the top: a strip of thumbnails with their
durations and campaigns, the total, and when it next changes, at now or at a chosen date and time. The
loop lives in this app, so it extends the screens app's admin from here (an app never imports one above
it)."""

import zoneinfo
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils import timezone

from apps.media.models import Media
from apps.screens.admin import ScreenAdmin
from apps.screens.models import Screen

from .preview import loop_and_next_change

_loop_at: ContextVar[datetime | None] = ContextVar("loop_at", default=None)


def _parse_local(value: str, zone: zoneinfo.ZoneInfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


class ScreenWithLoopAdmin(ScreenAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read when the page renders (after this returns, a TemplateResponse is lazy): set, not reset.
        _loop_at.set(request.GET.get("loop_at"))
        return super().change_view(request, object_id, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.pop("loop_at", None)
        return initial

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "loop_strip"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [("Playing now", {"fields": ["loop_strip"]}), *fieldsets] if obj else fieldsets

    @admin.display(description="Loop")
    def loop_strip(self, screen):
        zone = zoneinfo.ZoneInfo(screen.timezone or "UTC")
        now = timezone.now()
        at = _parse_local(_loop_at.get(), zone) or now
        entries, next_change = loop_and_next_change(screen, at)
        media = Media.objects.of_fleet(screen.fleet_id).in_bulk({entry.media_id for entry in entries})
        items = [
            {"entry": entry, "media": media.get(entry.media_id), "thumbnail": _thumbnail_url(media.get(entry.media_id))}
            for entry in entries
        ]
        local = at.astimezone(zone)
        return render_to_string(
            "broadcasts/loop_strip.html",
            {
                "screen": screen,
                "items": items,
                "total": sum(entry.duration for entry in entries),
                "at": local,
                "is_now": abs((at - now).total_seconds()) < 60,
                "at_value": local.strftime("%Y-%m-%dT%H:%M"),
                "later": [(label, (local + delta).strftime("%Y-%m-%dT%H:%M")) for label, delta in _LATER],
                "next_change": next_change.astimezone(zone) if next_change else None,
                "zone": zone.key,
            },
        )


_LATER = [("+1 hour", timedelta(hours=1)), ("+1 day", timedelta(days=1)), ("+1 week", timedelta(days=7))]


def _thumbnail_url(media) -> str:
    if media is None:
        return ""
    if media.thumbnail:
        return media.thumbnail.url
    return media.file.url if media.type == "picture" and media.file else ""


admin.site.unregister(Screen)
admin.site.register(Screen, ScreenWithLoopAdmin)
