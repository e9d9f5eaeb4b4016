"""Settings, all from environment variables.

With none set the project runs on its embedded default: SQLite, a local-memory cache, Celery tasks run
eagerly in-process and media on local disk. Production and CI set DATABASE_URL (PostgreSQL) and
REDIS_URL (cache, throttle store and Celery broker).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# The fallback key is for the embedded default only; `manage.py check --deploy` flags it (security.W009).
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-signage-embedded-default-do-not-deploy"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",  # the console's theme: before django.contrib.admin, whose templates it replaces
    "unfold.contrib.import_export",  # unfold's look for django-import-export's pages
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "import_export",  # CSV import of provisioned players in the console
    # Project apps, in dependency order (SPEC section 2): an app never imports from one below it here.
    "apps.accounts",
    "apps.places",
    "apps.screens",
    "apps.media",
    "apps.ads",
    "apps.broadcasts",
    "apps.devices",
    "apps.alerts",
    "apps.stats",
    "apps.player",
    "apps.console",  # the operator console's dashboard, navigation and home page: reads every app
]

MIDDLEWARE = [
    "signage.scopes.FleetGuardMiddleware",  # fleet-owned querysets refuse to run unscoped in a request
    "apps.devices.lean.LeanDevicePathMiddleware",  # players' idle heartbeats and 304s, before everything else
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "signage.middleware.ApiTrailingSlashMiddleware",
    "signage.middleware.ApiQueryTextMiddleware",
    "signage.middleware.ConsoleUploadLimitMiddleware",  # before the CSRF middleware reads the form
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "signage.audit.AuditMiddleware",
    "apps.console.middleware.FleetTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "signage.api.ratelimit.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "signage.urls"
WSGI_APPLICATION = "signage.wsgi.application"
# What signage.wsgi wraps Django's application in: the lean device path below the request cycle.
WSGI_WRAPPER = "apps.devices.lean.LeanDeviceWSGI"
ASGI_APPLICATION = "signage.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "signage"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# auditlog reads the previous row of an object being saved, and the related objects named in a change, through
# the base manager: reads from an object in hand, which fleet scoping (signage/scopes.py) does not check.
AUDITLOG_USE_BASE_MANAGER = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Console rights of fleet members come from their memberships (apps/accounts/permissions.py).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "apps.accounts.backends.MembershipPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/api/oauth/applications/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Tests and `make run` serve static files without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
# HTTPS=true: served over TLS only (production). It turns on the redirect to https, secure session and
# CSRF cookies and a year of HSTS; each has its own variable too. Off by default: `make run` and the
# tests speak plain http.
HTTPS = env_bool("HTTPS")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600 if HTTPS else 0)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_without_traceback": {"()": "signage.logs.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django gives its loggers a handler of their own that also propagates to the root: each line
        # would be printed twice. The root prints them, once.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"handlers": [], "propagate": True, "filters": ["forbidden_without_traceback"]},
    },
}

# --- Console ----------------------------------------------------------------------------------------

# The sidebar of the console, by domain: (section, icon, model labels). A model that is not registered in
# the admin or that the user may not view is left out, so later apps just add their labels here.
SIGNAGE_CONSOLE_NAVIGATION = [
    ("Screens", "tv", ["screens.screen", "screens.screengroup", "screens.screentype", "places.place"]),
    ("Content", "perm_media", ["media.media"]),
    ("Campaigns", "campaign", ["ads.ad", "ads.broadcast", "ads.quotaoverflow"]),
    ("Players", "cast", ["devices.device", "devices.tag", "devices.policy", "devices.provision",
                        "devices.bulkoperation"]),
    ("Alerts", "notifications", ["alerts.alert", "alerts.alertrule"]),
    ("Statistics", "bar_chart", ["stats.playevent"]),
    ("Accounts", "group", ["accounts.fleet", "accounts.membership", "accounts.advertisertype", "auth.user",
                           "auth.group", "oauth2_provider.application"]),
    ("History", "history", ["auditlog.logentry"]),
]  # fmt: skip
# Extra dashboard panels: dotted paths of callables `(request, fleets) -> dict` that apps to the right of
# the console's own data provide ("title" and "rows" [(label, value)], or "chart" {"labels", "values"}).
SIGNAGE_DASHBOARD_PANELS: list[str] = ["apps.alerts.dashboard.open_alerts_panel"]
# The dashboard's chart: plays per day once statistics provide it; screens heard from per hour meanwhile.
SIGNAGE_DASHBOARD_CHART = "apps.stats.console.plays_today_chart"  # today's plays per hour

UNFOLD = {
    "SITE_TITLE": "Signage console",
    "SITE_HEADER": "Signage",
    "SITE_SUBHEADER": "Digital signage back office",
    "SITE_URL": "/",
    "SITE_SYMBOL": "tv",
    "DASHBOARD_CALLBACK": "apps.console.dashboard.dashboard",
    "SIDEBAR": {"show_search": True, "show_all_applications": True, "navigation": "apps.console.navigation.navigation"},
}

# --- API ---------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.principals.CachedTokenAuthentication",  # signage.api's, with the principal cache
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "signage.api.permissions.OAuth2ScopePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["signage.api.ratelimit.RateLimitThrottle"],
    "DEFAULT_PAGINATION_CLASS": "signage.api.pagination.LimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "apps.accounts.api.filters.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "signage.api.filters.OrderingFilter",
        "signage.api.filters.FieldSelectionFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "signage.api.parsers.JSONParser",
        "signage.api.parsers.FormParser",
        "signage.api.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "signage.api.exceptions.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "signage.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("JWT_ACCESS_TOKEN_LIFETIME", "3600"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("JWT_REFRESH_TOKEN_LIFETIME", "604800"))),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("JWT", "Bearer"),
    "UPDATE_LAST_LOGIN": False,
}
# Seconds a JWT's user and their fleets stay in the shared cache (Redis only; changes to users and
# memberships apply on the next request: apps/accounts/principals.py). 0: read them on every request.
SIGNAGE_PRINCIPAL_CACHE_SECONDS = int(os.environ.get("PRINCIPAL_CACHE_SECONDS", "60"))

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": 36000,
    # RFC 9700 (OAuth 2.0 Security BCP): the product uses client credentials (and authorization code with
    # PKCE S256 at most); implicit and password grants are refused, tokens are stored hashed and only
    # read from the Authorization header, a replayed refresh token revokes its whole family, and
    # redirect URIs are https.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    # Dict order is the order of the `scope` string: "read write groups", as in reference 000.
    "SCOPES": {
        "read": "Read the fleets' data",
        "write": "Change the fleets' data",
        "groups": "Act on screen groups",
    },
    "DEFAULT_SCOPES": ["read", "write", "groups"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Signage API",
    "DESCRIPTION": (
        "Management API of Signage, compatible with the Cenareo Management API v2. "
        "Authenticate with `Authorization: JWT <token>` (from `/api/get_jwt_token/`) or an OAuth2 "
        "client-credentials token from `/api/oauth/token/` (behind `Bearer` or `JWT`)."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI served from our own static files: the docs work on a closed network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "signage.api.schema.add_oauth2_token_endpoint",
        "signage.api.schema.add_error_responses",
        "signage.api.schema.selected_properties_are_optional",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Media types appear in the media library and in the device playlist's items: one enum for both.
    "ENUM_NAME_OVERRIDES": {"MediaTypeEnum": "apps.media.models.MediaType"},
    "REDOC_DIST": "SIDECAR",
}

# Rate limits of reference 000 "Rate Limiting": (endpoint, methods, daily, hourly). The endpoint is the
# first path segment after the API version ("screens" for /api/management/v2/screens/...); "*" is any
# other endpoint, each counted on its own. Methods "*" means all. One counter per principal, endpoint,
# row and window.
SIGNAGE_RATE_LIMITS = [
    ("screens", ["GET"], 100000, 100000),
    ("broadcasts", ["POST"], 50000, 50000),
    ("broadcasts", ["PATCH"], 50000, 50000),
    ("broadcasts", ["DELETE"], 50000, 50000),
    ("medias", ["POST"], 300, 300),
    ("medias", ["GET", "PATCH", "DELETE"], 200, 200),
    ("ads", ["*"], 20000, 20000),
    # Not in the reference: obtaining tokens is limited per client IP, against password guessing.
    ("get_jwt_token", ["*"], 2000, 200),
    ("oauth", ["POST"], 2000, 200),
    # Players, per device: a heartbeat every few seconds at most, and their playlists and stats.
    ("device", ["*"], 200000, 20000),
    ("*", ["*"], 100000, 100000),
]
# How many reverse proxies in front of the app append to X-Forwarded-For. 0: the header is ignored and
# REMOTE_ADDR is the client, so the header cannot be used to dodge per-IP limits.
SIGNAGE_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
RATELIMIT_IP_META_KEY = "signage.api.clientip.client_ip"

# --- Media ---------------------------------------------------------------------------------------------

SIGNAGE_MEDIA_MAX_UPLOAD_BYTES = int(os.environ.get("MEDIA_MAX_UPLOAD_BYTES", str(512 * 1024 * 1024)))
# Pixels a picture (or a video frame) may have. Pillow calls a file a decompression bomb past 89 million;
# this stays well below, and is checked on the header, before anything is decoded.
SIGNAGE_MEDIA_MAX_PIXELS = int(os.environ.get("MEDIA_MAX_PIXELS", str(40_000_000)))
SIGNAGE_MEDIA_FETCH_TIMEOUT = int(os.environ.get("MEDIA_FETCH_TIMEOUT", "60"))  # seconds for a whole download
SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = env_bool("MEDIA_FETCH_ALLOW_PRIVATE_NETWORKS")
# HTML pages captured as pictures (apps/media/capture.py): Debian's Chromium, a time and a byte budget per
# capture (every request of the page included), and the viewport of HTML URL media.
SIGNAGE_CHROMIUM = os.environ.get("CHROMIUM_PATH", "")
SIGNAGE_CAPTURE_TIMEOUT = int(os.environ.get("CAPTURE_TIMEOUT", "30"))
SIGNAGE_CAPTURE_MAX_BYTES = int(os.environ.get("CAPTURE_MAX_BYTES", str(50 * 1024 * 1024)))
SIGNAGE_CAPTURE_GEOMETRY = tuple(int(side) for side in os.environ.get("CAPTURE_GEOMETRY", "1920x1080").split("x"))
# PDFs are rendered page by page at upload (pypdfium2): players show the pages as pictures.
SIGNAGE_PDF_PAGE_SIDE = int(os.environ.get("PDF_PAGE_SIDE", "1920"))  # pixels of a page's longer side
SIGNAGE_PDF_MAX_PAGES = int(os.environ.get("PDF_MAX_PAGES", "100"))
SIGNAGE_MEDIA_DEFAULT_DISPLAY_TIME = 10  # seconds, for pictures shared to external storage without one

# --- Players ------------------------------------------------------------------------------------------

SIGNAGE_PAIRING_CODE_TTL = int(os.environ.get("PAIRING_CODE_TTL", "900"))  # seconds a pairing code lives
SIGNAGE_PAIRING_ATTEMPTS = int(os.environ.get("PAIRING_ATTEMPTS_PER_MINUTE", "5"))  # wrong codes per user / IP
SIGNAGE_DEVICE_LOOKAHEAD_HOURS = 48  # players pre-load what plays within this window
SIGNAGE_DOWNLOAD_URL_TTL = 24 * 3600  # seconds a signed download URL stays valid
# Behind nginx: players' downloads, once checked, are served by the web server from this internal location
# (X-Accel-Redirect + the file's storage name; e.g. "/protected-media/" with `location /protected-media/ {
# internal; alias <MEDIA_ROOT>/; }`). Empty: the workers stream the files themselves.
SIGNAGE_DOWNLOAD_ACCEL_REDIRECT = os.environ.get("DOWNLOAD_ACCEL_REDIRECT", "")
SIGNAGE_DEVICE_OFFLINE_FACTOR = 1.5  # heartbeat intervals without news before a device is offline
# Seconds between flushes of buffered heartbeats (last-seen, telemetry) to the database: the most a Redis
# loss costs, and how late the database's last_seen_at may be.
SIGNAGE_HEARTBEAT_FLUSH_SECONDS = float(os.environ.get("HEARTBEAT_FLUSH_SECONDS", "5"))
# Seconds between sweeps for playlist states past their valid-until (content changes enqueue a rebuild).
SIGNAGE_PLAYLIST_REBUILD_SECONDS = float(os.environ.get("PLAYLIST_REBUILD_SECONDS", "5"))
# Screenshots players upload (apps/devices/screenshots): bytes and pixels of one image, checked before decoding.
SIGNAGE_SCREENSHOT_MAX_BYTES = int(os.environ.get("SCREENSHOT_MAX_BYTES", str(5 * 1024 * 1024)))
SIGNAGE_SCREENSHOT_MAX_PIXELS = int(os.environ.get("SCREENSHOT_MAX_PIXELS", str(4096 * 4096)))
SIGNAGE_REMOTE_URL_MAX_AGE = 30 * 24 * 3600  # seconds a remote page or remote call URL stays valid
RATELIMIT_USE_CACHE = "default"

# --- Proof of play -------------------------------------------------------------------------------------

SIGNAGE_STATS_CLOCK_SKEW = 300  # seconds a player's clock may be ahead (or its events before it registered)
SIGNAGE_STATS_RETENTION_DAYS = int(os.environ.get("STATS_RETENTION_DAYS", "400"))  # raw events; 0 keeps all
SIGNAGE_STATS_PARTITIONS_AHEAD = 3  # months of partitions created ahead of time (PostgreSQL)
SIGNAGE_STATS_MAX_RANGE_DAYS = int(os.environ.get("STATS_MAX_RANGE_DAYS", "92"))  # widest statistics query

# Seconds between the beat's looks for bulk operations with something to do (a start, a batch due,
# results to collect): the finest batch delay, and how soon a dead worker's batch is taken up again.
SIGNAGE_BULK_TICK_SECONDS = float(os.environ.get("BULK_OPERATIONS_TICK_SECONDS", "5"))
SIGNAGE_BULK_STEP_SECONDS = 30  # one run steps an operation this long at most, then lets others have the worker

# --- Celery ------------------------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
# The one beat schedule of the product; apps add their periodic tasks here.
CELERY_BEAT_SCHEDULE: dict = {
    "media-refresh-due": {"task": "apps.media.tasks.refresh_due_url_media", "schedule": 60.0},
    "adupdater-screenshots": {"task": "apps.ads.tasks.adupdater_screenshots_due", "schedule": 60.0},
    "share-of-voice-audit": {"task": "apps.ads.tasks.audit_share_of_voice", "schedule": 3600.0},
    "data-feeds-refresh": {"task": "apps.ads.tasks.refresh_due_data_feeds", "schedule": 60.0},
    "devices-mark-offline": {"task": "apps.devices.tasks.mark_devices_offline", "schedule": 30.0},
    "devices-flush-heartbeats": {
        "task": "apps.devices.tasks.flush_heartbeats",
        "schedule": SIGNAGE_HEARTBEAT_FLUSH_SECONDS,
    },
    "devices-rebuild-playlists": {
        "task": "apps.devices.tasks.rebuild_playlists",
        "schedule": SIGNAGE_PLAYLIST_REBUILD_SECONDS,
    },
    "devices-periodic-screenshots": {"task": "apps.devices.tasks.request_periodic_screenshots", "schedule": 60.0},
    "stats-partitions": {"task": "apps.stats.tasks.maintain_stats_storage", "schedule": 6 * 3600.0},
    "alerts-evaluate": {"task": "apps.alerts.tasks.evaluate_alert_rules", "schedule": 60.0},
    "bulk-operations-tick": {"task": "apps.devices.tasks.bulk_operations_tick", "schedule": SIGNAGE_BULK_TICK_SECONDS},
}
# Bulk operations' tasks can have workers of their own: BULK_OPERATIONS_QUEUE names their queue.
SIGNAGE_BULK_QUEUE = os.environ.get("BULK_OPERATIONS_QUEUE", "")
CELERY_TASK_ROUTES = {"apps.devices.tasks.bulk_*": {"queue": SIGNAGE_BULK_QUEUE}} if SIGNAGE_BULK_QUEUE else {}

# --- E-mail (alert notifications) ----------------------------------------------------------------------
# SMTP when EMAIL_HOST is set; otherwise messages are written to the log (console backend).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "signage@localhost")
