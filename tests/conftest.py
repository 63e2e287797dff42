import base64
import logging

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from callbacks_app.engine import deliveries_deliver_until_finished, engine_reset
from callbacks_app.models import Delivery
from tasks_app.accounts import account_create
from tests.cluster import ClusterProcess
from tests.servers import CallbackReceiver, SmtpServer


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters must not leak from one test into the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def _no_kick_left_behind():
    """A kick deferred by one test must not fire in the next one.

    ``request_drain`` defers a kick asked for within ``KICK_INTERVAL`` of the
    last one to a timer thread. Left alone, that timer fires during a later
    test, queues a drain job there and debounces that test's own kick (seen
    in CI: a kick that queued nothing). After each test the pending timer is
    cancelled, one already firing is waited for, and the debounce forgotten;
    sends a drain job left to this process's recorder are not recorded into
    the next test (``engine_reset``).
    """
    yield
    engine_reset()


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's email backend is pointed at it."""
    server = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield server
    server.close()


class LogCapture(logging.Handler):
    """Every record logged while installed, formatted as the console would.

    The test SMTP server's own logger (aiosmtpd's ``mail.log``, which dumps
    each message it receives) is left out: it is the receiving side, not ours.
    """

    IGNORED = ("mail.log",)

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record):
        if record.name not in self.IGNORED:
            self.records.append(record)

    @property
    def text(self) -> str:
        """All output, including ``extra`` fields and exception tracebacks."""
        lines = []
        for record in self.records:
            lines.append(self.format(record))
            lines.append(repr(record.__dict__))
        return "\n".join(lines)


@pytest.fixture
def captured_logs():
    """Capture every log record at DEBUG (like ``caplog``, which ``-p no:logging`` removes)."""
    handler = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def account(db):
    """A customer account: (profile, issued plain keys)."""
    return account_create(email="customer@example.com")


@pytest.fixture
def other_account(db):
    return account_create(email="other@example.com")


@pytest.fixture
def operator_account(db):
    return account_create(email="operator@example.com", staff=True)


def basic_auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def api():
    """An API client; ``api.as_key(key)`` authenticates the way the scaleapi client does."""

    class KeyedClient(APIClient):
        def as_key(self, key):
            """A new client sending ``key``; this one is left as it was."""
            client = KeyedClient()
            client.credentials(HTTP_AUTHORIZATION=basic_auth(key))
            return client

    return KeyedClient()


@pytest.fixture
def start_cluster():
    """Start real ``qcluster`` processes on the test database; all are stopped afterwards."""
    clusters = []

    def start(**env):
        cluster = ClusterProcess(env).start()
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def deliver_until_finished(delivery_id: str, timeout: float = 30.0) -> Delivery:
    """Run a delivery in this process, attempt after attempt as each falls due, until it finishes.

    The production loop (``deliveries_deliver_until_finished``, which
    ``resend_callback --wait`` uses).
    """
    delivery = deliveries_deliver_until_finished(
        delivery_ids=[delivery_id], timeout=timeout, poll=0.05
    )[delivery_id]
    if not delivery.is_finished:
        raise AssertionError(f"delivery {delivery_id} still {delivery.status} after {timeout} s")
    return delivery
