"""The project's URLs and a trivial authenticated API view: the same middleware, the same authentication,
permissions and rate limit as the statistics views, and no work (the statistics benchmark's floor)."""

from django.urls import path
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from signage.urls import urlpatterns as project_urlpatterns


class Trivial(APIView):
    renderer_classes = [JSONRenderer]

    def get(self, request):
        return Response({"user": request.user.pk})


urlpatterns = [path("api/statistics/v2/bench-trivial/", Trivial.as_view()), *project_urlpatterns]
