"""The query planner of signage/api/flex.py on shapes the product's serializers use: nested reverse
foreign keys, expanded relations with annotations, declared joins."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from apps.accounts.api.base import ModelSerializer
from apps.accounts.api.serializers import FleetSerializer
from apps.accounts.models import Fleet, Membership, Role
from signage.api.flex import plan_queryset

pytestmark = pytest.mark.django_db


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Membership
        fields = ["id", "role"]


class FleetWithMembers(ModelSerializer):
    memberships = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Fleet
        fields = ["id", "name", "memberships"]


class MembershipSerializer(ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "role", "fleet", "username"]
        expandable_fields = {"fleet": (FleetSerializer, {"fields": ["id", "name", "role", "active_screens_count"]})}


class DeclaredJoin(ModelSerializer):
    fleet_name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "fleet_name"]
        field_queries = {"fleet_name": {"select": ["fleet"]}}

    def get_fleet_name(self, membership):
        return membership.fleet.name


@pytest.fixture
def request_of(user):
    def make(query=""):
        request = APIRequestFactory().get(f"/x/{query}")
        request.user = user
        from rest_framework.request import Request

        drf_request = Request(request)
        drf_request.user = user
        return {"request": drf_request}

    return make


@pytest.fixture
def fleets_with_members(make_member, user):
    fleets = [Fleet.objects.create(name=f"F{i}") for i in range(5)]
    for fleet in fleets:
        Membership.objects.create(user=user, fleet=fleet, role=Role.EDITOR)
        for _ in range(2):
            make_member(fleet, Role.VIEWER)
    return fleets


def render(serializer_class, queryset, context, many=True):
    serializer = serializer_class(context=context)
    planned = plan_queryset(queryset, serializer)
    with CaptureQueriesContext(connection) as queries:
        data = serializer_class(planned, many=many, context=context).data
    return data, len(queries)


def test_nested_reverse_foreign_key_is_one_prefetch(fleets_with_members, request_of):
    data, count = render(FleetWithMembers, Fleet.objects.filter(name__startswith="F"), request_of())
    assert count == 2  # fleets, memberships
    assert [len(item["memberships"]) for item in data] == [3] * 5


def test_expanded_relation_keeps_its_annotations(fleets_with_members, request_of, user):
    data, count = render(
        MembershipSerializer,
        Membership.objects.filter(user=user, fleet__name__startswith="F").order_by("fleet__name"),
        request_of("?expand=fleet"),
    )
    assert count == 2  # memberships, their fleets with role and counter
    assert [(item["fleet"]["name"], item["fleet"]["role"]) for item in data] == [(f"F{i}", "editor") for i in range(5)]
    assert all(item["fleet"]["active_screens_count"] == 0 for item in data)


def test_dotted_source_is_one_join(fleets_with_members, request_of):
    data, count = render(MembershipSerializer, Membership.objects.all(), request_of("?fields=id,username"))
    assert count == 1
    assert len(data) == 16 and all(item["username"] for item in data)


def test_declared_select_without_only(fleets_with_members, request_of):
    data, count = render(DeclaredJoin, Membership.objects.all(), request_of())
    assert count == 1
    assert {item["fleet_name"] for item in data} >= {"F0", "F4"}
