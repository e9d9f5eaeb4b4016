import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken as OAuthAccessToken
from oauth2_provider.models import Application
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

pytestmark = pytest.mark.django_db

SCREENS_LIKE = "/api/management/v2/fleets"  # the screens list arrives with the screens issue


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- reference 000 "JWT" ------------------------------------------------------------------------------


def test_reference_jwt_example_create_then_use_token(anon, user):
    response = anon.post(
        "/api/get_jwt_token/",
        data=json.dumps({"username": "james", "password": "s3cret-pass"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.count(".") == 2

    # The reference's curl calls the list without a trailing slash.
    listing = APIClient().get(SCREENS_LIKE, HTTP_AUTHORIZATION=f"JWT {token}")
    assert listing.status_code == 200
    assert [fleet["name"] for fleet in listing.json()["results"]] == ["Paris Metro"]


def test_token_from_form_data(anon, user):
    response = anon.post("/api/get_jwt_token/", {"username": "james", "password": "s3cret-pass"}, format="multipart")
    assert response.status_code == 200
    assert set(response.json()) == {"token", "refresh"}


def test_refresh_gives_a_new_token(anon, user):
    refresh = anon.post("/api/get_jwt_token/", {"username": "james", "password": "s3cret-pass"}).json()["refresh"]
    response = anon.post("/api/refresh_jwt_token/", {"refresh": refresh})
    assert response.status_code == 200
    assert APIClient().get(SCREENS_LIKE, HTTP_AUTHORIZATION=f"JWT {response.json()['token']}").status_code == 200


def test_wrong_password_is_401(anon, user):
    response = anon.post("/api/get_jwt_token/", {"username": "james", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_missing_credentials_field_is_400_in_error_shape(anon):
    response = anon.post("/api/get_jwt_token/", {"username": "james"})
    assert response.status_code == 400
    assert response.json() == {"password": [{"message": "This field is required.", "code": "required"}]}


@pytest.mark.parametrize("prefix", ["JWT", "Bearer", "jwt"])
def test_jwt_accepted_behind_both_prefixes(client_for, user, prefix):
    assert client_for(user, prefix).get(SCREENS_LIKE + "/").status_code == 200


def test_no_credentials_is_401_with_challenge(anon):
    response = anon.get(SCREENS_LIKE + "/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("JWT")


def test_expired_jwt_is_401(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION=f"JWT {token}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_tampered_jwt_is_401(user, make_member, fleet, django_user_model):
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    intruder = django_user_model.objects.create_user("intruder", password="x")
    claims["user_id"] = str(intruder.pk)
    forged = f"{header}.{b64(claims)}.{signature}"
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION=f"JWT {forged}").status_code == 401
    flipped = f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION=f"JWT {flipped}").status_code == 401


def test_alg_none_jwt_is_401(user):
    claims = json.loads(base64.urlsafe_b64decode(str(AccessToken.for_user(user)).split(".")[1] + "=="))
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    response = APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION=f"JWT {unsigned}")
    assert response.status_code == 401


def test_garbage_authorization_is_401():
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION="JWT").status_code == 401
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION="JWT a b").status_code == 401
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401


def test_inactive_user_token_is_401(user):
    token = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    assert APIClient().get(SCREENS_LIKE + "/", HTTP_AUTHORIZATION=f"JWT {token}").status_code == 401


# --- reference 000 "OAuth 2.0" ------------------------------------------------------------------------


@pytest.fixture
def application(user):
    # The reference's example credentials: ('foo', 'bar'), set by hand as its page allows.
    return Application.objects.create(
        name="My integration",
        user=user,
        client_id="foo",
        client_secret="bar",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )


def oauth_token(client_id="foo", secret="bar") -> dict:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = APIClient().post(
        "/api/oauth/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_reference_oauth2_token_response(application):
    data = oauth_token()
    assert set(data) == {"access_token", "token_type", "expires_in", "scope"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 36000
    assert data["scope"] == "read write groups"


def test_oauth2_token_form_urlencoded_like_curl(application):
    basic = base64.b64encode(b"foo:bar").decode()
    response = APIClient().post(
        "/api/oauth/token/",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_oauth2_wrong_secret_is_refused(application):
    basic = base64.b64encode(b"foo:baz").decode()
    response = APIClient().post(
        "/api/oauth/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 401


@pytest.mark.parametrize("prefix", ["JWT", "Bearer"])
def test_oauth2_token_behind_both_prefixes_acts_as_owner(application, prefix):
    token = oauth_token()["access_token"]
    # Reference 000 sends it as {'authorization': 'JWT {}'.format(token)}.
    response = APIClient().get(
        "/api/management/v2/fleets/", HTTP_AUTHORIZATION=f"{prefix} {token}", content_type="application/json"
    )
    assert response.status_code == 200
    assert [fleet["name"] for fleet in response.json()["results"]] == ["Paris Metro"]
    me = APIClient().get("/api/management/v2/me/", HTTP_AUTHORIZATION=f"{prefix} {token}").json()
    assert me["principal"]["type"] == "application"
    assert me["principal"]["username"] == "james"
    assert me["principal"]["application"]["client_id"] == "foo"
    assert me["principal"]["scopes"] == ["read", "write", "groups"]


def test_oauth2_application_without_owner_is_401(application):
    application.user = None
    application.save()
    token = oauth_token()["access_token"]
    response = APIClient().get("/api/management/v2/fleets/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_expired_oauth2_token_is_401(application):
    token = oauth_token()["access_token"]
    OAuthAccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert APIClient().get("/api/management/v2/fleets/", HTTP_AUTHORIZATION=f"JWT {token}").status_code == 401


def test_oauth2_token_without_read_scope_is_403(application):
    token = oauth_token()["access_token"]
    OAuthAccessToken.objects.update(scope="write")
    response = APIClient().get("/api/management/v2/fleets/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_applications_page_needs_login_then_lists_own_applications(client, user, application):
    response = client.get("/api/oauth/applications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.force_login(user)
    response = client.get("/api/oauth/applications/")
    assert response.status_code == 200
    assert b"My integration" in response.content


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
