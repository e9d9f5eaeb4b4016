"""The OpenAPI schema describes every endpoint and every response the suite saw (SPEC section 3).

This module runs last (its folder sorts last); run alone, it checks the responses of nothing but itself.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import SEEN_RESPONSES

pytestmark = pytest.mark.django_db


def _schema_paths():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = []
    for path, operations in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path.rstrip("/")) + "/?$")
        paths.append((path, pattern, operations))
    return paths


def test_every_api_response_seen_is_documented():
    paths = _schema_paths()
    undocumented = []
    for method, path, status in sorted(SEEN_RESPONSES):
        if status == 405 or (path.startswith("/api/oauth/") and not path.startswith("/api/oauth/token")):
            continue  # a method the endpoint does not have; DOT's HTML pages
        matches = [ops for _, pattern, ops in paths if pattern.match(path.split("?")[0])]
        if not matches:
            if status != 404:  # an unknown URL answers 404: nothing to document
                undocumented.append((method, path, status, "no such path in the schema"))
            continue
        operation = next((ops[method] for ops in matches if method in ops), None)
        if operation is None:
            undocumented.append((method, path, status, "method not in the schema"))
        elif str(status) not in operation["responses"]:
            undocumented.append((method, path, status, f"documents {sorted(operation['responses'])}"))
    assert not undocumented, "\n".join(map(str, undocumented[:40]))


def test_every_api_route_is_in_the_schema():
    from signage.api_urls import router

    paths = _schema_paths()
    documented = {path for path, _, _ in paths}
    for prefix, _viewset, _basename in router.registry:
        assert f"/api/management/v2/{prefix}/" in documented
        assert f"/api/management/v2/{prefix}/{{id}}/" in documented
    for path in [
        "/api/get_jwt_token/",
        "/api/oauth/token/",
        "/api/management/v2/me/",
        "/api/device/heartbeat/",
        "/api/device/playlist/",
        "/api/device/register/",
        "/api/device/stats/",
    ]:
        assert path in documented
