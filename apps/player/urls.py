from django.urls import path

from . import views

urlpatterns = [
    path("", views.player, name="player"),
    path("sw.js", views.service_worker, name="player-service-worker"),
    path("pair-qr.svg", views.pairing_qr, name="player-pairing-qr"),
]
