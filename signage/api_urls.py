"""The management API router (/api/management/v2/). Trailing slashes are optional, as reference 000's own
curl example calls /api/management/v2/screens."""

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from apps.accounts.api.views import FleetViewSet, MeView


class Router(DefaultRouter):
    include_root_view = False

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"  # the constructor only takes a bool


router = Router()
router.register("fleets", FleetViewSet, basename="fleet")

urlpatterns = [
    re_path(r"^me/?$", MeView.as_view(), name="me"),
    *router.urls,
]
