"""Remote URLs: a campaign played now on a screen's devices (on-demand display), a screen's remote page."""

from django.conf import settings
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.api.base import FleetScopedAPIView
from apps.ads.models import Ad, BroadcastScreen
from apps.screens.models import Screen
from signage import signed
from signage.errors import DomainError

from .services import campaign_play_now


# One purpose for both kinds of remote URL, the kind inside the token (URLs issued before stay valid).
def _remote_token(kind: str, **values) -> str:
    return signed.token("remote", k=kind, **values)


def _remote_values(token: str, kind: str) -> dict | None:
    values = signed.token_values(token, "remote", settings.SIGNAGE_REMOTE_URL_MAX_AGE)
    return values if values is not None and values.get("k") == kind else None


class AdRemoteCallUrlsView(FleetScopedAPIView):
    """Per screen of the campaign, a signed URL that makes that screen play the campaign now."""

    @extend_schema(
        operation_id="ads_remote_call_urls",
        responses=inline_serializer(
            name="RemoteCallUrl",
            many=True,
            fields={
                "screen": serializers.URLField(),
                "screen_name": serializers.CharField(),
                "remote_call_url": serializers.URLField(),
            },
        ),
    )
    def get(self, request, pk):
        ad = self.get_scoped_object(Ad.objects.all(), pk=pk)
        screens = (
            Screen.objects.of_fleet(ad.fleet_id)
            .filter(pk__in=BroadcastScreen.objects.filter(broadcast__ad=ad).values("screen_id"), active=True)
            .order_by("name")
            .only("pk", "name")
        )
        return Response(
            [
                {
                    "screen": request.build_absolute_uri(reverse("screen-detail", kwargs={"pk": screen.pk})),
                    "screen_name": screen.name,
                    "remote_call_url": request.build_absolute_uri(
                        reverse("remote-call", kwargs={"token": _remote_token("call", a=str(ad.pk), s=str(screen.pk))})
                    ),
                }
                for screen in screens
            ]
        )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def remote_call(request, token):
    """Calling a remote call URL queues a `play_ad` command on the screen's devices."""
    values = _remote_values(token, "call")
    if values is None:
        raise Http404
    ad = (
        Ad.objects.unscoped("the campaign a signed remote-call URL names")
        .select_related("fleet")
        .filter(pk=values["a"])
    )
    ad = ad.first()
    if ad is None:
        raise Http404
    try:
        commands = campaign_play_now(ad=ad, screen_id=values["s"])
    except DomainError as refused:
        return JsonResponse(refused.payload, status=refused.status)
    return JsonResponse({"queued": len(commands), "ad": str(ad.pk), "screen": values["s"]}, status=202)


class ScreenRemoteUrlView(FleetScopedAPIView):
    """A signed URL to the screen's remote page (what it plays now, for the people in front of it)."""

    @extend_schema(
        operation_id="screens_remote_url",
        responses=inline_serializer(name="RemoteUrl", fields={"remote_url": serializers.URLField()}),
    )
    def get(self, request, pk):
        screen = self.get_scoped_object(Screen.objects.all(), pk=pk)
        url = reverse("remote-screen", kwargs={"token": _remote_token("screen", s=str(screen.pk))})
        return Response({"remote_url": request.build_absolute_uri(url)})


def remote_screen(request, token):
    from django.shortcuts import render
    from django.utils import timezone

    from apps.broadcasts.loop import loop_for_screen

    values = _remote_values(token, "screen")
    screens = Screen.objects.unscoped("the screen a signed remote-page URL names")
    screen = screens.filter(pk=values["s"]).first() if values else None
    if screen is None:
        raise Http404
    entries = loop_for_screen(screen, timezone.now())
    return render(request, "remote/screen.html", {"screen": screen, "entries": entries})
