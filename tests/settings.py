"""Settings for the test suite and for the clusters the tests start.

The same module configures the pytest process and every ``qcluster`` child
process (through DJANGO_SETTINGS_MODULE), so both see the same database,
queue and callback settings.
"""

import os
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The suite reads no developer's .env (make run writes its choices there): only what is set here
# and in the environment. The clusters the tests start inherit it.
os.environ.setdefault("ENV_FILE", os.devnull)
# Receivers run on 127.0.0.1: allow loopback, as `make run` does.
os.environ.setdefault("CALLBACK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
# Short retries so a whole schedule runs in seconds; a test may set its own.
os.environ.setdefault("CALLBACK_RETRY_SCHEDULE", ",".join(["0.2"] * 20))
os.environ.setdefault("Q_WORKERS", "2")
# One queue name per test run, so that runs sharing a Redis never see each
# other's jobs. Children inherit it through the environment.
os.environ.setdefault("Q_CLUSTER_NAME", f"scalehooks-test-{uuid.uuid4().hex[:8]}")
# pytest-django holds each test's transaction open while the test waits on receivers and servers:
# PostgreSQL may end a session idle in a transaction only after a minute here (5 s in service).
os.environ.setdefault("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", "60")
# The suite runs with DEBUG off, where the built-in development key is refused.
os.environ.setdefault("SECRET_KEY", "tests-only-" + "not-secret-" * 5)

from scalehooks.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# django-axes needs the request in authenticate(), which Client.login() does not
# pass: lockout is off for the suite and switched on by the tests of it
# (tests/security/test_admin_lockout.py). force_login and real form logins work
# either way.
AXES_ENABLED = False

# Static files are served from the app directories, as collectstatic does not
# run before the suite (the hashed names of the production storage need it).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None

# Files the tests upload (schemathesis included) go to a directory of this run, not ./media.
MEDIA_ROOT = Path(tempfile.gettempdir()) / os.environ["Q_CLUSTER_NAME"] / "media"
WHITENOISE_USE_FINDERS = True


def redis_url_of_this_worker(url: str) -> str:
    """Under pytest-xdist (``-n 2``) each worker uses a Redis database of its own: REDIS_URL's
    database number plus the worker's (gw0, gw1…), so that one worker's ``cache.clear()`` before
    each test never empties the throttle counters of a test running on the other. The clusters
    a worker starts inherit its PYTEST_XDIST_WORKER and reach the same database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{database}"))


REDIS_URL = redis_url_of_this_worker(REDIS_URL)  # noqa: F405
if REDIS_URL:
    Q_CLUSTER = {**Q_CLUSTER, "redis": REDIS_URL}  # noqa: F405
    CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL}}  # noqa: F405

# The ORM broker looks for jobs every 0.05 s, not 0.2 s: a queued job is picked up and a
# stopping cluster notices the stop that much sooner.
Q_CLUSTER = {**Q_CLUSTER, "poll": 0.05}
