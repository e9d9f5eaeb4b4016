"""Production settings pass `check --deploy`, and OAuth2 is limited to what the product uses (issue 14,
finding 16)."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
# The production variables of README.md's table, as an operator sets them.
PRODUCTION = {
    "SECRET_KEY": "x" * 30 + "a-long-random-production-secret-key-0123456789",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "signage.example.com",
    "HTTPS": "true",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def test_check_deploy_has_nothing_to_say_with_the_production_variables():
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "HTTPS")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_turns_on_the_redirect_secure_cookies_and_hsts():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "signage.settings"}
    on = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "HTTPS": "true"}, capture_output=True)
    off = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "HTTPS": "false"}, capture_output=True)
    assert on.stdout.decode().split() == ["True", "True", "True", "31536000"]
    assert off.stdout.decode().split() == ["False", "False", "False", "0"]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.django_db
def test_the_password_grant_is_refused(user):
    Application.objects.create(
        name="Legacy",
        user=user,
        client_id="legacy",
        client_secret="s3cret",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    response = APIClient().post(
        "/api/oauth/token/",
        {"grant_type": "password", "username": user.username, "password": "s3cret-pass"},
        format="multipart",
        HTTP_AUTHORIZATION=_basic("legacy", "s3cret"),
    )
    assert response.status_code in (400, 401)
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_client_credentials_tokens_and_secrets_are_stored_hashed(user):
    application = Application.objects.create(
        name="Integration",
        user=user,
        client_id="integration",
        client_secret="s3cret",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    assert application.client_secret != "s3cret"
    response = APIClient().post(
        "/api/oauth/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=_basic("integration", "s3cret"),
    )
    assert response.status_code == 200
    raw = response.json()["access_token"]
    assert not AccessToken.objects.filter(token=raw).exists()
    assert APIClient().get("/api/management/v2/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    # Never from the query string.
    assert APIClient().get(f"/api/management/v2/me/?access_token={raw}").status_code == 401


@pytest.mark.django_db
def test_redirect_uris_must_be_https(user):
    application = Application(
        name="Console",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://console.example.com/callback",
    )
    with pytest.raises(ValidationError):
        application.full_clean()
    application.redirect_uris = "https://console.example.com/callback"
    application.full_clean()
