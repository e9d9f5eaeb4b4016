import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from signage.api.exceptions import DomainError, exception_handler

pytestmark = pytest.mark.django_db


def render(exc):
    response = exception_handler(exc, {"view": None})
    return response.status_code, response.data


class Nested(serializers.Serializer):
    street = serializers.CharField()


class Outer(serializers.Serializer):
    name = serializers.CharField(max_length=3)
    place = Nested()
    tags = serializers.ListField(child=serializers.IntegerField())

    def validate(self, attrs):
        raise serializers.ValidationError("The whole object is wrong.", code="whole")


def test_serializer_errors_take_the_field_shape_recursively():
    serializer = Outer(data={"name": "toolong", "place": {}, "tags": [1]})
    assert not serializer.is_valid()
    status, payload = render(ValidationError(serializer.errors))
    assert status == 400
    assert payload == {
        "name": [{"message": "Ensure this field has no more than 3 characters.", "code": "max_length"}],
        "place": {"street": [{"message": "This field is required.", "code": "required"}]},
    }


def test_object_errors_go_under_all():
    serializer = Outer(data={"name": "abc", "place": {"street": "x"}, "tags": [1]})
    assert not serializer.is_valid()
    assert render(ValidationError(serializer.errors))[1] == {
        "__all__": [{"message": "The whole object is wrong.", "code": "whole"}]
    }


def test_a_bare_validation_error_is_an_object_error():
    assert render(ValidationError("Nope.", code="nope"))[1] == {"__all__": [{"message": "Nope.", "code": "nope"}]}


def test_django_validation_errors_from_models_and_services_share_the_shape():
    error = DjangoValidationError({"timezone": DjangoValidationError("Bad zone.", code="invalid_timezone")})
    assert render(error) == (400, {"timezone": [{"message": "Bad zone.", "code": "invalid_timezone"}]})
    assert render(DjangoValidationError("Broken.", code="broken")) == (
        400,
        {"__all__": [{"message": "Broken.", "code": "broken"}]},
    )


def test_domain_errors_keep_their_given_payload():
    payload = {"__all__": {"message": ["<b>Quota</b>"], "code": "quota_exceeded", "details": {}}}
    assert render(DomainError(payload)) == (400, payload)


def test_unexpected_errors_are_a_bare_500():
    status, payload = render(RuntimeError("SELECT secret FROM table"))
    assert status == 500
    assert payload == {"detail": "A server error occurred.", "code": "server_error"}


def test_404_of_an_object_and_of_an_unknown_api_url(api):
    response = api.get("/api/management/v2/fleets/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    response = api.get("/api/management/v2/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_405_shape(api):
    response = api.delete("/api/management/v2/fleets/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}


def test_malformed_json_is_a_400(anon):
    response = anon.post("/api/get_jwt_token/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_api_paths_work_without_their_trailing_slash_and_post_is_not_redirected(api, anon, user, fleet):
    response = api.get(f"/api/management/v2/fleets/{fleet.pk}")
    assert response.status_code == 200
    assert response.json()["url"].endswith(f"/api/management/v2/fleets/{fleet.pk}/")
    assert api.get("/api/management/v2/me").status_code == 200
    assert anon.post("/api/get_jwt_token", {"username": "james", "password": "s3cret-pass"}).status_code == 200


def test_the_schema_documents_the_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/get_jwt_token/", "/api/oauth/token/", "/api/management/v2/me/", "/api/management/v2/fleets/"]:
        assert path in paths
    fleet_list = paths["/api/management/v2/fleets/"]["get"]
    assert {"fields", "omit", "expand", "limit", "offset", "search"} <= {p["name"] for p in fleet_list["parameters"]}
