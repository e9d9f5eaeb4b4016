"""/api/statistics/v2/ (reference 000 "Display statistics")."""

from django.urls import path

from .views import AggregatesView, DisplaysView

urlpatterns = [
    path("displays/", DisplaysView.as_view(), name="stats-displays"),
    path("aggregates/", AggregatesView.as_view(), name="stats-aggregates"),
]
