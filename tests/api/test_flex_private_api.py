"""signage/api/flex.py leans on private names of drf-flex-fields (it has no public way to ask which fields
a request selected before rendering). Each test here pins one of them: after an upgrade, the failing
test names what changed, instead of `fields=` quietly selecting nothing out or the SQL trimming stopping."""

import inspect
from importlib.metadata import version
from pathlib import Path

import pytest
from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.accounts.api.serializers import FleetSerializer
from signage.api.flex import NestedFlexFieldsMixin, expandable_names, selected_fields

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def serializer_for(query: str, serializer_class=FleetSerializer, **kwargs):
    request = Request(APIRequestFactory().get(f"/x/?{query}"))
    return serializer_class(context={"request": request}, **kwargs)


def test_the_installed_version_is_the_pinned_one():
    pinned = [line for line in REQUIREMENTS.read_text().splitlines() if line.startswith("drf-flex-fields==")]
    assert pinned == [f"drf-flex-fields=={version('drf-flex-fields')}"], "re-check flex.py's private names"


def test_the_request_options_wait_in_flex_options_rep_only():
    serializer = serializer_for("fields=id,name&omit=timezone")
    assert serializer._flex_fields_rep_applied is False
    assert serializer._flex_options_rep_only["fields"] == ["id", "name"]
    assert serializer._flex_options_rep_only["omit"] == ["timezone"]
    assert serializer._flex_options_rep_only["expand"] == []


def test_applying_them_early_is_not_repeated_when_rendering():
    serializer = serializer_for("fields=id,name")
    assert set(selected_fields(serializer)) == {"id", "name"}
    assert serializer._flex_fields_rep_applied is True
    # to_representation reads the flag: the fields are not cut a second time.
    source = inspect.getsource(FlexFieldsSerializerMixin.to_representation)
    assert "_flex_fields_rep_applied" in source and "_flex_options_rep_only" in source


def test_expandable_fields_come_from_meta():
    class WithExpand(FleetSerializer):
        class Meta(FleetSerializer.Meta):
            expandable_fields = {"memberships": (FleetSerializer, {})}

    assert expandable_names(WithExpand()) == {"memberships"}
    assert expandable_names(FleetSerializer()) == set(getattr(FleetSerializer.Meta, "expandable_fields", {}))


@pytest.mark.parametrize("name", ["_get_query_param_value", "_get_permitted_expands_from_query_param"])
def test_the_query_parameter_readers_that_nested_serializers_silence_exist(name):
    method = getattr(FlexFieldsSerializerMixin, name)
    assert list(inspect.signature(method).parameters)[:2] in (["self", "field"], ["self", "expand_param"])
    assert name in vars(NestedFlexFieldsMixin)


def test_a_nested_flex_serializer_ignores_the_requests_options():
    class Nested(NestedFlexFieldsMixin, FleetSerializer):
        pass

    serializer = serializer_for("fields=id", Nested)
    assert serializer._flex_options_rep_only == {"expand": [], "fields": [], "omit": []}
    assert "name" in selected_fields(serializer)
