"""The management API router (/api/management/v2/). Paths end with a slash; the same paths without it
are served too (signage.middleware.ApiTrailingSlashMiddleware), as reference 000's own curl example
calls /api/management/v2/screens."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from apps.accounts.api.views import FleetViewSet, MeView
from apps.ads.api.views import AdViewSet, BroadcastViewSet, DataFeedViewSet, PlaylistViewSet, ScheduleViewSet
from apps.alerts.api.views import AlertRuleViewSet, AlertViewSet
from apps.broadcasts.api.views import ScreenLoopView
from apps.devices.api.views import DeviceViewSet
from apps.devices.bulk.api import BulkOperationViewSet
from apps.devices.policies.api import PolicyViewSet, TagViewSet
from apps.devices.provisioning.api import ProvisionViewSet
from apps.devices.remote import AdRemoteCallUrlsView, ScreenRemoteUrlView
from apps.media.api.views import MediaViewSet
from apps.places.api.views import PlaceViewSet
from apps.screens.api.views import ScreenGroupViewSet, ScreenTypeViewSet, ScreenViewSet
from apps.stats.api.uptime import DeviceOfflineRangesView, DeviceUptimeView, FleetUptimeView


class Router(DefaultRouter):
    include_root_view = False


router = Router()
router.register("fleets", FleetViewSet, basename="fleet")
router.register("places", PlaceViewSet, basename="place")
router.register("screens", ScreenViewSet, basename="screen")
router.register("screen_groups", ScreenGroupViewSet, basename="screengroup")
router.register("screen_types", ScreenTypeViewSet, basename="screentype")
router.register("medias", MediaViewSet, basename="media")
router.register("ads", AdViewSet, basename="ad")
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("feeds", DataFeedViewSet, basename="datafeed")
router.register("playlists", PlaylistViewSet, basename="playlist")
router.register("schedules", ScheduleViewSet, basename="schedule")
# Before devices/: "provisioning" would otherwise be read as a device id.
router.register("devices/provisioning", ProvisionViewSet, basename="provision")
router.register("devices", DeviceViewSet, basename="device")
router.register("tags", TagViewSet, basename="tag")
router.register("policies", PolicyViewSet, basename="policy")
router.register("bulk_operations", BulkOperationViewSet, basename="bulkoperation")
router.register("alert_rules", AlertRuleViewSet, basename="alertrule")
router.register("alerts", AlertViewSet, basename="alert")

UUID = r"[0-9a-fA-F-]{32,36}"

urlpatterns = [
    path("me/", MeView.as_view(router=router), name="me"),  # the router is passed in, not imported
    path("uptime/", FleetUptimeView.as_view(), name="uptime"),
    # Views of higher apps on lower apps' resources, composed here so that no app imports one above it.
    re_path(rf"^screens/(?P<pk>{UUID})/loop/$", ScreenLoopView.as_view(), name="screen-loop"),
    re_path(rf"^screens/(?P<pk>{UUID})/remote_url/$", ScreenRemoteUrlView.as_view(), name="screen-remote-url"),
    re_path(r"^devices/(?P<pk>[0-9]{1,18})/uptime/$", DeviceUptimeView.as_view(), name="device-uptime"),
    re_path(
        r"^devices/(?P<pk>[0-9]{1,18})/offline_ranges/$",
        DeviceOfflineRangesView.as_view(),
        name="device-offline-ranges",
    ),
    re_path(rf"^ads/(?P<pk>{UUID})/remote_call_urls/$", AdRemoteCallUrlsView.as_view(), name="ad-remote-call-urls"),
    *router.urls,
]
