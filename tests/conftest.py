import base64
import gc
import logging
import os
import signal
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from callbacks_app.engine import deliveries_deliver_until_finished, engine_reset
from callbacks_app.models import Delivery
from scalehooks.outgoing import outgoing_session_close
from tasks_app.accounts import account_create
from tasks_app.services import task_complete
from tests.cluster import ClusterProcess
from tests.factories import TaskFactory
from tests.servers import CallbackReceiver, SmtpServer, shutdown_now


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters must not leak from one test into the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def _no_engine_state_left_behind():
    """What one test started of this process's engine (a dispatcher, the sender's event loop and
    its sends in flight) does not reach into the next one (``engine_reset``)."""
    yield
    engine_reset()


@pytest.fixture(autouse=True)
def _no_outgoing_connection_left_open():
    """This thread's kept-alive outgoing connections (an attachment's download, say) are closed
    after each test. Left open to the live server, its request thread waits on one, with its
    own database connection open, until the run ends: PostgreSQL then refused to drop the test
    database ("1 other session using the database", seen at the end of every run).
    """
    yield
    outgoing_session_close()


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, stopped without waiting out its loop's 0.5 s poll.

    First the connections tests left kept alive to it are closed: each holds a request thread
    with its database connection open, and PostgreSQL refuses to drop the test database while
    one is. The scaleapi client opens a session per request and never closes it (a raised
    error's traceback keeps one until the garbage collector runs): collected here, their
    sockets close, and the threads end.
    """
    yield live_server
    gc.collect()
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=5)
    httpd = getattr(live_server.thread, "httpd", None)
    if httpd is not None:
        shutdown_now(httpd.shutdown, httpd.server_address[:2])


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


# The test SMTP server's own logger (aiosmtpd's ``mail.log``, which dumps each
# message it receives) is the receiving side, not ours.
NOT_OURS = ("mail.log",)
LOG_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")


def logged_text(caplog) -> str:
    """All that ``caplog`` captured, as the console would show it and with every field of each record.

    ``extra`` fields and exception tracebacks included: a secret in any of
    them is found. Call ``caplog.set_level(logging.DEBUG)`` first to see
    every level.
    """
    lines = []
    for record in caplog.records:
        if record.name not in NOT_OURS:
            lines.append(LOG_FORMAT.format(record))
            lines.append(repr(record.__dict__))
    return "\n".join(lines)


@pytest.fixture
def account(db):
    """A customer account (an ``IssuedAccount``: its profile, user and plain keys)."""
    return account_create(email="customer@example.com")


@pytest.fixture
def manual_test_mode(account):
    """The customer's test-key tasks stay pending for operators (``test_tasks_autocomplete``
    off, SPEC §13): for tests of the pending lifecycle in test mode."""
    account.profile.test_tasks_autocomplete = False
    account.profile.save(update_fields=["test_tasks_autocomplete"])
    return account


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
def customer(api, account):
    """The customer's live-key API client."""
    return api.as_key(account.live_api_key)


@pytest.fixture
def customer_test_mode(api, account):
    """The same customer's test-key API client."""
    return api.as_key(account.test_api_key)


@pytest.fixture
def operator(api, operator_account):
    """The operator's (a staff account's) live-key API client."""
    return api.as_key(operator_account.live_api_key)


@pytest.fixture
def operator_client(client, operator_account):
    """The admin as an operator made as `create_account --staff` makes one: not a superuser."""
    assert not operator_account.user.is_superuser
    client.force_login(operator_account.user)
    return client


@pytest.fixture
def task(account):
    """A pending task of the customer's, with no callback URL."""
    return TaskFactory(owner=account.user)


@pytest.fixture
def pending_task(account, receiver):
    """A pending task of the customer's whose callbacks go to ``receiver``."""
    return TaskFactory(owner=account.user, callback_url=receiver.url)


@pytest.fixture
def completed_task(pending_task):
    """``pending_task`` completed (``task_complete``): its completion callback is queued."""
    task_complete(task_id=pending_task.id, response={"category": "red"})
    pending_task.refresh_from_db()
    return pending_task


@pytest.fixture
def quick_retries(settings):
    """The suite's twenty retries (what makes a target failing, SPEC §16) 10 ms apart, not 0.2 s,
    for this process's own sending (``deliver_until_finished``): a failing target in 0.5 s, not 4.
    The clusters a test starts keep the suite's schedule (tests/settings.py)."""
    settings.CALLBACK_RETRY_SCHEDULE = [0.01] * 20


@pytest.fixture
def media_root(settings, tmp_path):
    """Stored files (uploads, imports, captured bodies) go to this test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def links_to_the_test_client(settings):
    """Links in mail (confirmations, invitations) point at Django's test client."""
    settings.PUBLIC_BASE_URL = "http://testserver"


def migrate(targets):
    """The database migrated to ``targets``; returns the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrator():
    """``migrator(targets)`` migrates back (or forward) to ``targets``; the latest state is
    restored afterwards, for the next test."""
    yield migrate
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def start_cluster():
    """Start real ``qcluster`` processes on the test database; all are killed afterwards.

    Killed, not stopped: a graceful stop waits about a second for django-q2 to
    wind down, which the test has no use for (the stop is tested on its own,
    tests/callbacks_app/test_cluster.py). Nothing of the cluster outlives it.
    """
    clusters = []

    def start(**env):
        cluster = ClusterProcess(env).start()
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.kill()
        try:  # workers whose main process has already exited, too
            os.killpg(cluster.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def deliver_until_finished(delivery_id: str, timeout: float = 30.0) -> Delivery:
    """Run a delivery in this process, attempt after attempt as each falls due, until it finishes.

    The production loop (``deliveries_deliver_until_finished``, which
    ``resend_callback --wait`` uses).
    """
    delivery = deliveries_deliver_until_finished(delivery_ids=[delivery_id], timeout=timeout, poll=0.05)[
        delivery_id
    ]
    if not delivery.is_finished:
        raise AssertionError(f"delivery {delivery_id} still {delivery.status} after {timeout} s")
    return delivery
