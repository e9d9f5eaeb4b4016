from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from rest_framework import serializers

from .. import scoping
from ..models import AdvertiserType, Fleet, Membership, Role
from ..usage import usage_annotations
from .base import ModelSerializer


class AdvertiserTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdvertiserType
        fields = ["id", "name"]


class FleetSerializer(ModelSerializer):
    max_screens_allowed = serializers.IntegerField(source="max_screens", read_only=True, allow_null=True)
    active_screens_count = serializers.IntegerField(read_only=True)
    external_storage = serializers.BooleanField(source="has_external_storage", read_only=True)
    advertiser_types = AdvertiserTypeSerializer(many=True, read_only=True)
    role = serializers.CharField(read_only=True, allow_null=True, help_text="Your role in this fleet.")

    class Meta:
        model = Fleet
        fields = [
            "url",
            "id",
            "name",
            "timezone",
            "share_of_voice",
            "external_storage",
            "advertiser_types",
            "max_screens_allowed",
            "active_screens_count",
            "heartbeat_interval",
            "screenshot_interval",
            "screenshots_kept",
            "provisioning_by_serial",
            "role",
            "created",
            "modified",
        ]
        read_only_fields = fields
        field_queries = {
            "active_screens_count": {"annotate": lambda context: usage_annotations()},
            "external_storage": {"only": ["external_storage"]},
            "role": {"annotate": lambda context: {"role": role_annotation(context["request"].user)}},
        }


def role_annotation(user):
    """The user's role in each fleet of a queryset (admin for those who see every fleet)."""
    role = Subquery(Membership.objects.filter(fleet=OuterRef("pk"), user_id=user.pk).values("role")[:1])
    if scoping.sees_every_fleet(user):
        return Coalesce(role, Value(Role.ADMIN))
    return role
