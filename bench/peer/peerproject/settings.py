"""Settings of the peer: django-webhook at its defaults, Celery on Redis, PostgreSQL.

``PEER_DATABASE_URL`` (postgres://user@host:port/name) and ``PEER_BROKER_URL``
come from bench/peer.py. The database connections are configured as
ScaleHooks configures its own (persistent, health-checked); this holds for the
drivers, while Celery's worker closes its connection around every task (see
``CELERY_DB_REUSE_MAX`` below).
"""

import os
import warnings
from urllib.parse import urlsplit

SECRET_KEY = "bench-peer-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = ["django_webhook", "peerapp"]

_database = urlsplit(
    os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scalehooks_bench_peer")
)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": _database.username or "",
        "PASSWORD": _database.password or "",
        "HOST": _database.hostname or "",
        "PORT": _database.port or "",
        "CONN_MAX_AGE": 60,  # as scalehooks/settings.py
        "CONN_HEALTH_CHECKS": True,
    }
}

# Celery at its defaults but for the broker (no result backend, prefork pool, concurrency = cores).
CELERY_BROKER_URL = os.environ.get("PEER_BROKER_URL", "redis://127.0.0.1:6379/10")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # the default; set to silence Celery's warning
# Celery's Django fixup (celery/fixups/django.py) closes the database connection
# before and after every task, whatever CONN_MAX_AGE says, unless DB_REUSE_MAX is
# set, a setting read only there and not in Celery's configuration reference. Unset
# by default; `bench/peer.py --peer-db-reuse` sets it to show what a connection per
# task costs.
if os.environ.get("PEER_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["PEER_DB_REUSE_MAX"])

# django-webhook: webhooks for the one model; every other setting at its default
# (STORE_EVENTS=True: one WebhookEvent row per attempt; USE_CACHE=True).
DJANGO_WEBHOOK = {"MODELS": ["peerapp.Task"]}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# django-webhook queries its tables in AppConfig.ready(), which Django warns about at every start.
warnings.filterwarnings("ignore", message="Accessing the database during app initialization")
