import zoneinfo

from django.utils import timezone

from apps.accounts import scoping


class FleetTimezoneMiddleware:
    """Console pages in the fleet's timezone: a member whose fleets share one timezone reads dates and
    times in it; the operator's staff, and members of fleets in several timezones, read UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = self._zone(request) if request.path.startswith("/admin/") else None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _zone(request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or scoping.sees_every_fleet(user):
            return None
        zones = set(scoping.memberships_of(user).values_list("fleet__timezone", flat=True)[:50])
        return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else None
