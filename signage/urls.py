from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider.views import TokenView

from apps.accounts.api.auth_views import ObtainJSONWebToken, RefreshJSONWebToken
from signage.api.ratelimit import rate_limited

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/get_jwt_token/", ObtainJSONWebToken.as_view(), name="get_jwt_token"),
    path("api/refresh_jwt_token/", RefreshJSONWebToken.as_view(), name="refresh_jwt_token"),
    path("api/oauth/token/", rate_limited(TokenView.as_view()), name="oauth_token"),
    path("api/oauth/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/management/v2/", include("signage.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler404 = "signage.api.exceptions.handler404"
handler500 = "signage.api.exceptions.handler500"
