"""ScaleHooks settings.

Every value that differs between machines comes from the environment (or a
``.env`` file next to ``manage.py``), read here and only here through one
``environ.Env``. README.md documents each variable.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from scalehooks.log_masking import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The .env file (ENV_FILE, relative to this project's directory; `make run` writes what it chose
# there): what the environment does not set is read from it.
environ.Env.read_env(BASE_DIR / env.str("ENV_FILE", default=".env"), overwrite=False)

# The built-in key is public (it is in this file): good for DEBUG only.
DEVELOPMENT_SECRET_KEY = "insecure-dev-only-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. With DEBUG off ScaleHooks refuses the built-in development key, "
        "which anyone can read: set SECRET_KEY in the environment or in .env, e.g. to the output of "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'` "
        "(or set DEBUG=1 on a development machine)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- HTTPS (README, Configuration) ------------------------------------------
# All off by default, so that a plain-HTTP install on a private network works;
# behind a TLS-terminating proxy set them (`manage.py check --deploy` is clean then).
# The proxy's header saying the request came over HTTPS, e.g. X-Forwarded-Proto:
# trust it only if the proxy sets it on every request (and strips a client's).
PROXY_SSL_HEADER = env.str("PROXY_SSL_HEADER", default="")
if PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# A load balancer's health checks and a Prometheus scrape often come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

INSTALLED_APPS = [
    "scalehooks.apps.ScaleHooksAdminConfig",  # django.contrib.admin with the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served from here: /v1/docs works offline
    "axes",
    "auditlog",  # who did what (scalehooks/audit.py)
    "django_q",
    "tasks_app",
    "callbacks_app",
    "inbox_app",
    "portal_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The user-content origin (USERCONTENT_BASE_URL) answers files only: before anything else.
    "scalehooks.usercontent.UserContentOriginMiddleware",
    # Static files (the admin's, Swagger UI's) from the web process, collected by
    # `manage.py collectstatic`: no separate file server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "scalehooks.middleware.ApiBodySizeLimitMiddleware",
    # Project and batch names with "/" (sent as %2F): routed on the raw path (scalehooks/api/names.py).
    "scalehooks.api.names.RawNamePathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts and from where, for the audit trail (scalehooks/audit.py): after the admin's user is known.
    "scalehooks.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers locked-out admin logins.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "scalehooks.urls"
WSGI_APPLICATION = "scalehooks.wsgi.application"

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

# --- Database -------------------------------------------------------------
# SQLite by default; DATABASE_URL=postgres://user:pass@host:5432/name to scale out.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, workers, their dispatchers) write concurrently: WAL lets readers run
    # beside the writer, the busy timeout waits for the lock instead of failing, and IMMEDIATE takes
    # the write lock when a transaction starts so two writers never deadlock upgrading a read lock.
    _pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    _sqlite = {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": _pragmas}
    DATABASES["default"].setdefault("OPTIONS", {}).update(_sqlite)
    # A file, not :memory:, so that a cluster started by the tests in another process sees it.
    _test_name = env.str("TEST_SQLITE_NAME", default=str(BASE_DIR / "test_db.sqlite3"))
    DATABASES["default"]["TEST"] = {"NAME": _test_name}
# PostgreSQL (docs/deployment.md, "PgBouncer"). A session idle inside a transaction this long is
# ended by the server, freeing its row locks: a host cut from the database mid-transaction would
# otherwise hold the rows other hosts' recordings wait for, past their send leases
# (docs/reliability.md). Prepared statements and server-side binding: Django's own OPTIONS.
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT = env.float("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", default=5.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASE_IDLE_IN_TRANSACTION_TIMEOUT > 0:
        _idle_ms = int(DATABASE_IDLE_IN_TRANSACTION_TIMEOUT * 1000)
        _idle = f"-c idle_in_transaction_session_timeout={_idle_ms}"
        _options["options"] = f"{_options.get('options', '')} {_idle}"
    _options["server_side_binding"] = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    _threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")  # empty: nothing prepared
    _options["prepare_threshold"] = int(_threshold) if _threshold.strip() else None
    _cursors_off = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = _cursors_off
# Persistent connections: workers enqueue and claim constantly, and a new
# connection per query costs more than the query (see shared NOTES).
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times on the pages (the admin's lists and pages) with their seconds and their zone.
FORMAT_MODULE_PATH = ["scalehooks.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "static")))
# collectstatic stores each file under a name with its content hash (cached
# forever by browsers) and compressed; WhiteNoise serves them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["scalehooks.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["scalehooks.api.permissions.DeclaredPolicy"],
    "DEFAULT_RENDERER_CLASSES": ["scalehooks.api.renderers.ApiJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["scalehooks.api.parsers.ApiJSONParser"],
    "EXCEPTION_HANDLER": "scalehooks.api.exception_handlers.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["scalehooks.api.throttling.ApiKeyRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "scalehooks.api.schema.ApiAutoSchema",
}

# OpenAPI schema at /v1/schema and Swagger UI at /v1/docs, both public (no API
# key): they describe the API, they hold no data. The UI's assets come from
# drf-spectacular-sidecar, so the page needs no outside network.
SPECTACULAR_SETTINGS = {
    "TITLE": "ScaleHooks API",
    "DESCRIPTION": (
        "Scale AI v1 compatible task API with callbacks. Authenticate with HTTP Basic: "
        "the API key as user name, an empty password."
    ),
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_SPLIT_PATCH": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scalehooks.api.schema.close_output_objects",
    ],  # PATCH /v1/profile: its input as declared (at least one of its fields)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ReviewStatusFilterEnum": "tasks_app.serializers.REVIEW_STATUSES",
        "ReviewResultEnum": ["accepted", "rejected", "fixed"],
        # Tasks and batches both have a "status" (SPEC §12).
        "TaskStatusEnum": ["pending", "completed", "error", "canceled"],
        "BatchStatusEnum": ["staging", "in_progress", "completed"],
        "QueuedEnum": ["queued"],  # the resend answers' status
    },
}

# --- Background work: django-q2 ---------------------------------------------
# The delivery ledger (callbacks_app.models.Delivery) decides what is due and
# holds the attempt counter; django-q2 only executes. Its options are set so it
# never works against the ledger:
Q_WORKERS = env.int("Q_WORKERS", default=4)  # deliveries wait on the network, not the CPU
Q_TIMEOUT = 60  # seconds a job may run (attachments, mails, alerts); delivery runs in no job
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="scalehooks"),
    "workers": Q_WORKERS,
    "timeout": Q_TIMEOUT,
    # Broker lease: a job not acknowledged after `retry` seconds is handed out
    # again. Jobs wait leased in the in-memory queue (up to workers² of them),
    # so unless retry > (workers + 1) × timeout a job that merely waited is
    # run twice. The ledger's own lease makes a second run harmless, but
    # there is no reason to cause it.
    "retry": (Q_WORKERS + 1) * Q_TIMEOUT + 60,
    # A job that raises is acknowledged and not run again by the broker. With
    # django-q2's defaults a crashing job is redelivered forever.
    "ack_failures": True,
    "max_attempts": 1,
    # Successful job results are not stored: the ledger records every attempt,
    # and the single monitor process saving each result is django-q2's
    # bottleneck. Failures are still stored for the operators.
    "save_limit": -1,
    "catch_up": False,  # a schedule missed while down runs once, not once per missed slot
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Callbacks --------------------------------------------------------------
# Seconds between retries (SPEC §6.4): the last retry about 23.6 h after the first attempt.
CALLBACK_RETRY_SCHEDULE = env.list(
    "CALLBACK_RETRY_SCHEDULE",
    cast=float,
    default=[10, 30, 60, 120, 300, 600, 900, 1800, 1800, *[3600] * 4, *[7200] * 3, *[10800] * 4],
)
CALLBACK_CONNECT_TIMEOUT = env.float("CALLBACK_CONNECT_TIMEOUT", default=5.0)
CALLBACK_TIMEOUT = env.float("CALLBACK_TIMEOUT", default=15.0)
# Otherwise forbidden networks (CIDRs) the callbacks of every account may reach: for
# single-tenant installs. One account's networks are its Profile.allowed_networks.
CALLBACK_ALLOWED_NETWORKS: list[str] = env.list("CALLBACK_ALLOWED_NETWORKS", default=[])
CALLBACK_RETENTION_DAYS = env.int("CALLBACK_RETENTION_DAYS", default=30)
# The callback feed's long-poll (GET /v1/callbacks?wait=, SPEC §17): a waiting request holds a
# web thread, so at most this many wait at once in one web process, and of one account.
CALLBACK_FEED_WAITS = env.int("CALLBACK_FEED_WAITS", default=4)
CALLBACK_FEED_WAITS_PER_ACCOUNT = env.int("CALLBACK_FEED_WAITS_PER_ACCOUNT", default=2)
CALLBACK_EMAIL_FROM = env.str("CALLBACK_EMAIL_FROM", default="ScaleHooks <callbacks@localhost>")
# The engine's two knobs (callbacks_app/engine/dispatcher.py). Sends one target origin
# (scheme://host:port, or an email domain) may hold at once across the system, whatever URLs
# of it the deliveries name: a target that hangs delays its own callbacks, not everybody else's.
CALLBACK_MAX_IN_FLIGHT_PER_TARGET = env.int("CALLBACK_MAX_IN_FLIGHT_PER_TARGET", default=64)
# Sends each worker process's dispatcher keeps in flight on its event loop. Little's law: a
# cluster delivers at most Q_WORKERS x this / receiver latency callbacks a second.
CALLBACK_SENDS_IN_FLIGHT = env.int("CALLBACK_SENDS_IN_FLIGHT", default=512)
# Emails (callbacks and address confirmations) one account may send per hour; beyond it
# its email deliveries wait (no attempt spent) for room, within their retry window.
CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR = env.int("CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR", default=100)
# Where this service is reached from outside: the links of emails (address confirmations),
# the URLs of the callback inboxes (SPEC §15), and the one origin the address guard lets
# callbacks reach whatever it resolves to, for paths under its /inbox/ only
# (scalehooks.outgoing.policy.is_own_inbox_url).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Callback inbox (SPEC §15) ------------------------------------------------
INBOX_MAX_BODY_BYTES = env.int(
    "INBOX_MAX_BODY_BYTES", default=1024 * 1024
)  # kept of a body; the rest dropped
INBOX_MAX_REQUESTS = env.int("INBOX_MAX_REQUESTS", default=500)  # newest kept per inbox
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=7)  # captured requests older are pruned daily
INBOX_LIFETIME_DAYS = env.int("INBOX_LIFETIME_DAYS", default=30)  # an inbox then expires (404) and is pruned
INBOX_MAX_PER_ACCOUNT = env.int("INBOX_MAX_PER_ACCOUNT", default=20)  # inboxes per account and mode
# Scripted delays sleeping at once per web process; beyond, an answer goes without its delay.
INBOX_MAX_DELAYED_ANSWERS = env.int("INBOX_MAX_DELAYED_ANSWERS", default=4)
# Requests one inbox captures per period (fixed windows, counted in the cache); beyond, a 429.
INBOX_CAPTURE_RATE = env.str("INBOX_CAPTURE_RATE", default="600/min")
# Resends of one task's callback per hour (API, admin and command alike); beyond it a 429.
CALLBACK_RESEND_LIMIT = env.int("CALLBACK_RESEND_LIMIT", default=10)

# Target health and alerts (SPEC §16, callbacks_app.health and .alerts).
# Consecutive failed attempts to one target origin that make it "failing" (one alert).
CALLBACK_TARGET_ALERT_FAILURES = env.int("CALLBACK_TARGET_ALERT_FAILURES", default=20)
# At most one "failing" email per target in this many hours (the alert itself is always recorded).
CALLBACK_TARGET_FAILING_EMAIL_HOURS = env.float("CALLBACK_TARGET_FAILING_EMAIL_HOURS", default=24.0)
# At most one delivery.exhausted alert per target in this many minutes (it names the count).
CALLBACK_TARGET_EXHAUSTED_ALERT_MINUTES = env.float("CALLBACK_TARGET_EXHAUSTED_ALERT_MINUTES", default=60.0)
# Pause a target failing for this many hours (0: never, the default: Scale promises 20
# retries over 24 h). A paused target's deliveries wait without spending attempts.
CALLBACK_TARGET_PAUSE_AFTER_HOURS = env.float("CALLBACK_TARGET_PAUSE_AFTER_HOURS", default=0.0)
# How often a paused target gets one probe (its oldest waiting delivery), in minutes.
CALLBACK_TARGET_PROBE_MINUTES = env.float("CALLBACK_TARGET_PROBE_MINUTES", default=120.0)
# An alert's fan-out is leased to one job for this many seconds: a job that dies before the alert's
# email is sent leaves it to another job once the lease runs out (at least once, SPEC §16).
CALLBACK_ALERT_LEASE_SECONDS = env.float("CALLBACK_ALERT_LEASE_SECONDS", default=300.0)
# Operators' webhooks: every alert is POSTed to each URL, signed (Standard Webhooks) with the secret
# (a "whsec_..." secret as standardwebhooks makes them).
OPS_WEBHOOK_URLS: list[str] = env.list("OPS_WEBHOOK_URLS", default=[])
OPS_WEBHOOK_SECRET = env.str("OPS_WEBHOOK_SECRET", default="")

# --- Admin login lockout (django-axes) ----------------------------------------
# After ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one user name from one IP
# address, that pair is locked out for ADMIN_LOGIN_COOLOFF_MINUTES (a correct
# password is refused meanwhile); a successful login resets the count.
AXES_ENABLED = env.bool("ADMIN_LOGIN_LOCKOUT", default=True)
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# The web process (deploy/gunicorn.conf.py, scalehooks/web_worker.py) reads each request whole
# before a thread takes it; one not whole this many seconds after its first byte could be
# read gets a 408 and its connection is closed (slow or dripping clients never hold a thread).
WEB_REQUEST_TIMEOUT = env.float("WEB_REQUEST_TIMEOUT", default=30.0)
# Files (SPEC §12): stored through STORAGES["default"] (a FileSystemStorage here) under
# MEDIA_ROOT; `files/import` keeps at most FILES_MAX_BYTES of a download (an upload is an
# API body: API_MAX_BODY_BYTES).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
FILES_MAX_BYTES = env.int("FILES_MAX_BYTES", default=50 * 1024 * 1024)
# Imports downloading at once, each holding a web thread: per account (counted in the cache)
# and per web process (with INBOX_MAX_DELAYED_ANSWERS, under WEB_THREADS); beyond, a 429.
FILES_IMPORTS_PER_ACCOUNT = env.int("FILES_IMPORTS_PER_ACCOUNT", default=2)
FILES_IMPORTS_PER_PROCESS = env.int("FILES_IMPORTS_PER_PROCESS", default=2)
# What one account may store, its files and its inboxes' captured requests together (1 GiB).
ACCOUNT_STORAGE_QUOTA_BYTES = env.int("ACCOUNT_STORAGE_QUOTA_BYTES", default=1024**3)
# Stored files served from a second origin of this service (scalehooks/usercontent.py), e.g.
# https://usercontent.example.com, whose host is then allowed too.
USERCONTENT_BASE_URL = env.str("USERCONTENT_BASE_URL", default="").rstrip("/")
if USERCONTENT_BASE_URL:
    _usercontent = urlsplit(USERCONTENT_BASE_URL)
    if _usercontent.scheme not in ("http", "https") or not _usercontent.hostname or _usercontent.path:
        raise ImproperlyConfigured(
            f"USERCONTENT_BASE_URL: an origin (scheme://host[:port]), not {USERCONTENT_BASE_URL!r}"
        )
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, _usercontent.hostname]
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="6000/min")

# Throttle counters (and any other cache use): shared through Redis when there is one.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)

LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"), q_level=env.str("Q_LOG_LEVEL", default="WARNING")
)
