"""Screenshots on the console's player and screen pages (the newest first, the thumbnail linking to the
picture). The screen page belongs to the screens app and is extended by the broadcasts app with its loop;
this app extends that page again with its players' screenshots (an app never imports one above it)."""

from django.contrib import admin
from django.template.loader import render_to_string

from apps.broadcasts.admin import ScreenWithLoopAdmin
from apps.screens.models import Screen

from .models import Screenshot

SHOWN = 8  # screenshots on a page


def screenshot_strip(shots, *, zone: str, show_device: bool, hint: str = "") -> str:
    return render_to_string(
        "devices/screenshots.html", {"shots": shots, "zone": zone, "show_device": show_device, "hint": hint}
    )


def device_screenshots(device) -> str:
    shots = Screenshot.objects.of_fleet(device.fleet_id).filter(device=device).select_related("device")[:SHOWN]
    hint = "Send it the command “Screenshot” (action of the player list)." if device.paired else ""
    return screenshot_strip(list(shots), zone=_zone(device.fleet), show_device=False, hint=hint)


def _zone(fleet) -> str:
    return fleet.timezone if fleet is not None else "UTC"


class ScreenWithScreenshotsAdmin(ScreenWithLoopAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "players_screenshots"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [fieldsets[0], ("Players' screenshots", {"fields": ["players_screenshots"]}), *fieldsets[1:]]

    @admin.display(description="Screenshots")
    def players_screenshots(self, screen):
        shots = Screenshot.objects.of_fleet(screen.fleet_id).filter(screen=screen).select_related("device")[:SHOWN]
        return screenshot_strip(list(shots), zone=screen.timezone or _zone(screen.fleet), show_device=True)


admin.site.unregister(Screen)
admin.site.register(Screen, ScreenWithScreenshotsAdmin)
