from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider.views import TokenView

from apps.accounts.api.auth_views import ObtainJSONWebToken, RefreshJSONWebToken
from apps.console.views import home
from apps.devices import protocol
from apps.devices.remote import remote_call, remote_screen
from apps.devices.views import pair
from apps.stats.protocol import StatsView
from signage.api.ratelimit import rate_limited

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/get_jwt_token/", ObtainJSONWebToken.as_view(), name="get_jwt_token"),
    path("api/refresh_jwt_token/", RefreshJSONWebToken.as_view(), name="refresh_jwt_token"),
    path("api/oauth/token/", rate_limited(TokenView.as_view()), name="oauth_token"),
    path("api/oauth/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/management/v2/", include("signage.api_urls")),
    path("api/statistics/v2/", include("apps.stats.api.urls")),
    # The device protocol (reference 002): players authenticate with `Authorization: Device <token>`.
    path("api/device/register/", protocol.RegisterView.as_view(), name="device-register"),
    path("api/device/heartbeat/", protocol.HeartbeatView.as_view(), name="device-heartbeat"),
    path("api/device/playlist/", protocol.PlaylistView.as_view(), name="device-playlist"),
    path("api/device/settings/", protocol.SettingsView.as_view(), name="device-settings"),
    path(
        "api/device/content/<str:content_id>/download/",
        protocol.ContentDownloadView.as_view(),
        name="device-content-download",
    ),
    path(
        "api/device/commands/<uuid:command_id>/result/",
        protocol.CommandResultView.as_view(),
        name="device-command-result",
    ),
    path("api/device/screenshots/", protocol.ScreenshotUploadView.as_view(), name="device-screenshots"),
    path("api/device/stats/", StatsView.as_view(), name="device-stats"),
    path("pair/", pair, name="pair"),
    path("player/", include("apps.player.urls")),
    path("remote/call/<str:token>/", remote_call, name="remote-call"),
    path("remote/screens/<str:token>/", remote_screen, name="remote-screen"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

# Uploaded media under DEBUG (`make run`); in production the web server or the storage serves MEDIA_URL
# (README, "Media files"). `static()` adds nothing when DEBUG is off.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "signage.api.exceptions.handler404"
handler500 = "signage.api.exceptions.handler500"
