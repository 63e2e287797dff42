import base64
import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from callbacks_app.models import Delivery
from callbacks_app.sending import callback_deliver
from tasks_app.accounts import account_create
from tests.cluster import ClusterProcess
from tests.servers import CallbackReceiver


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters must not leak from one test into the next."""
    cache.clear()


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.close()


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

    The same service the django-q2 job calls; only the waiting is done here.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        callback_deliver(delivery_id=delivery_id)
        delivery = Delivery.objects.get(id=delivery_id)
        if delivery.is_finished:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} still {delivery.status} after {timeout} s")
