"""One account's hanging receivers do not delay another account's callbacks (issue 16, point 3).

A real cluster, a backlog of one account to receivers that hold every request
until the timeout, spread over many origins so that the per-origin cap alone
does not bound it, and one callback of another account.
"""

import socket
import threading
import time

import pytest
from django.db import transaction

from callbacks_app.models import Delivery
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

BACKLOG = 1100
ORIGINS = 24  # ports of the holding receiver: 24 origins x the cap of 64 > the backlog


class HoldingReceiver:
    """Listening sockets on ``ports`` ports that accept every connection and never answer."""

    def __init__(self, ports: int):
        self.sockets = []
        for _ in range(ports):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1024)
            listener.settimeout(0.1)
            self.sockets.append(listener)
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._hold, args=(s,), daemon=True) for s in self.sockets]
        for thread in self._threads:
            thread.start()

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.getsockname()[1]}/hook" for s in self.sockets]

    def _hold(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for s in [*self.sockets, *self.held]:
            s.close()


@pytest.fixture
def holding_receiver():
    receiver = HoldingReceiver(ORIGINS)
    yield receiver
    receiver.close()


def test_another_accounts_callback_is_delivered_within_5_s_beside_a_hanging_backlog(
    start_cluster, account, other_account, receiver, holding_receiver
):
    urls = holding_receiver.urls
    tasks = Task.objects.bulk_create(
        TaskFactory.build(owner=account.user, callback_url=f"{urls[i % ORIGINS]}?n={i}")
        for i in range(BACKLOG)
    )
    with transaction.atomic():
        for task in tasks:
            task_complete(task_id=task.id, response={"category": "red"})
    # Failed attempts come back only after the test.
    start_cluster(CALLBACK_TIMEOUT="4", CALLBACK_CONNECT_TIMEOUT="1", CALLBACK_RETRY_SCHEDULE="600")
    hostile = Delivery.objects.filter(owner=account.user, status=Delivery.Status.PENDING)
    # The engine is full of the backlog's hanging sends, and more of it waits.
    wait_until(
        lambda: hostile.filter(leased_until__isnull=False).count() >= 100,
        timeout=20,
        message="the backlog never filled the engine",
    )
    assert hostile.filter(attempt_count=0).count() > 500

    other_task = TaskFactory(owner=other_account.user, callback_url=receiver.url)
    completed_at = time.monotonic()
    task_complete(task_id=other_task.id, response={"category": "blue"})

    (request,) = receiver.wait_for(1, timeout=5)
    assert request.json()["task_id"] == other_task.id
    assert request.received_at - completed_at < 5
    delivery = wait_until(
        lambda: Delivery.objects.filter(task=other_task, status=Delivery.Status.SUCCEEDED).first(),
        timeout=5,
        message="the other account's delivery was never recorded",
    )
    assert delivery.attempt_count == 1  # no retry burned while it waited
    # Meanwhile the backlog was still there, and its origins held to their cap.
    assert hostile.filter(attempt_count=0).exists()
