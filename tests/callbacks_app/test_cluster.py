"""The delivery machinery with real django-q2 clusters (SPEC §2 outbox, §6.4 retries, §10).

Each test starts ``manage.py qcluster`` processes on the test database and
drives them through the public services; nothing is mocked but the one
failure a test is about.
"""

import collections
import itertools
import os
import signal
import time

import pytest

from callbacks_app import services
from callbacks_app.models import Delivery, DeliveryAttempt, TargetAlert, TargetHealthSlot
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

CATEGORIZATION = {
    "instruction": "Red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


def test_task_created_and_completed_through_the_api_reaches_the_receiver(
    start_cluster, api, account, operator_account, receiver
):
    start_cluster()
    customer = api.as_key(account.live_api_key)
    task_id = customer.post(
        "/v1/task/categorization", {**CATEGORIZATION, "callback_url": receiver.url}, format="json"
    ).json()["task_id"]

    api.as_key(operator_account.live_api_key).post(
        f"/v1/ops/task/{task_id}/complete", {"response": {"category": "blue"}}, format="json"
    )

    (request,) = receiver.wait_for(1, timeout=15)
    assert request.json()["task_id"] == task_id
    assert request.json()["response"] == {"category": "blue"}
    task = wait_until(
        lambda: (
            customer.get(f"/v1/task/{task_id}").json().get("callback_succeeded") is not None
            and customer.get(f"/v1/task/{task_id}").json()
        ),
        timeout=10,
        message="callback_succeeded was never set",
    )
    assert task["callback_succeeded"] is True


def test_retries_are_sent_by_the_cluster_when_due(start_cluster, account, receiver):
    start_cluster(CALLBACK_RETRY_SCHEDULE="1,1")
    receiver.answer(Answer(500), Answer(500), Answer(200))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)

    task_complete(task_id=task.id, response={"category": "red"})

    requests = receiver.wait_for(3, timeout=20)
    assert [r.header("scale-callback-attempt") for r in requests] == ["1", "2", "3"]
    # A retry goes out soon after it is due (1 s ± 10 % here), not at django-q2's 30 s tick.
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
    assert all(0.85 <= gap < 5 for gap in gaps), gaps
    wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).exists(),
        timeout=10,
        message="delivery never recorded as succeeded",
    )


def test_delivery_whose_wake_up_was_lost_is_sent_at_a_dispatchers_own_look(
    start_cluster, account, receiver, monkeypatch
):
    # The process "crashes" between the commit and the wake-up: nobody is told.
    monkeypatch.setattr(services, "dispatchers_wake", lambda: None)
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    start_cluster()

    (request,) = receiver.wait_for(1, timeout=20)

    assert request.json()["task_id"] == task.id


def test_worker_killed_mid_delivery_is_delivered_once_its_lease_expires(start_cluster, account, receiver):
    cluster = start_cluster(CALLBACK_CONNECT_TIMEOUT="1", CALLBACK_TIMEOUT="3")
    receiver.answer(Answer(200, delay=60), Answer(200))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    receiver.wait_for(1, timeout=15)
    worker = wait_until(lambda: cluster.worker_connected_to(receiver.port), 5, "no worker is connected")

    worker.kill()  # SIGKILL, mid-request

    requests = receiver.wait_for(2, timeout=40)
    assert requests[0].header("webhook-id") == requests[1].header("webhook-id")
    assert [r.header("scale-callback-attempt") for r in requests] == ["1", "2"]
    delivery = wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).first(),
        timeout=10,
        message="delivery never succeeded",
    )
    killed, sent = delivery.attempts.all()
    assert killed.error == DeliveryAttempt.UNFINISHED
    assert sent.status_code == 200


def test_a_delivery_whose_last_attempt_was_cut_off_by_a_killed_worker_counts_as_exhausted_in_its_target_health(
    start_cluster, account, receiver
):
    """Its last attempt's worker was killed: the next claim finds no attempt left and fails it,
    which counts in the target's health (SPEC §16: the slot's exhausted and a delivery.exhausted alert)."""
    cluster = start_cluster(CALLBACK_CONNECT_TIMEOUT="1", CALLBACK_TIMEOUT="3", CALLBACK_RETRY_SCHEDULE="0.2")
    receiver.answer(Answer(500), Answer(200, delay=60))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    receiver.wait_for(2, timeout=15)  # the last attempt is in flight
    worker = wait_until(lambda: cluster.worker_connected_to(receiver.port), 5, "no worker is connected")

    worker.kill()  # SIGKILL, mid-request

    delivery = wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.FAILED).first(),
        timeout=40,
        message="the delivery was not finished as failed",
    )
    assert delivery.attempt_count == 2
    slot = TargetHealthSlot.objects.get(health__origin=f"http://127.0.0.1:{receiver.port}")
    assert slot.exhausted == 1
    (alert,) = TargetAlert.objects.filter(kind=TargetAlert.Kind.EXHAUSTED)
    assert alert.details["count"] == 1


def test_two_clusters_never_send_the_same_attempt_twice(start_cluster, account, receiver):
    start_cluster()
    start_cluster()
    # A third of the first answers fail, so retries race between the clusters too.
    receiver.answer(*([Answer(500)] * 20), Answer(200))
    tasks = [TaskFactory(owner=account.user, callback_url=receiver.url) for _ in range(60)]

    for task in tasks:
        task_complete(task_id=task.id, response={"category": "red"})

    wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 60,
        timeout=60,
        message="not every delivery succeeded",
    )
    sent = collections.Counter(
        (r.header("webhook-id"), r.header("scale-callback-attempt")) for r in receiver.requests
    )
    assert max(sent.values()) == 1, [key for key, n in sent.items() if n > 1]
    assert len(receiver.requests) == DeliveryAttempt.objects.count() == 80


def test_resend_through_the_api_is_queued_and_sent_by_the_cluster(start_cluster, api, account, receiver):
    start_cluster()
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    receiver.wait_for(1, timeout=15)

    body = api.as_key(account.live_api_key).post(f"/v1/task/{task.id}/resend_callback").json()

    first, resent = receiver.wait_for(2, timeout=15)
    assert resent.header("webhook-id") == body["delivery_id"]
    assert resent.header("scale-callback-event") == "task.resent"
    assert first.header("webhook-id") != resent.header("webhook-id")


def test_a_burst_of_stop_signals_stops_the_cluster_gracefully(start_cluster):
    """Ctrl-C under ``make run`` gives qcluster the terminal's SIGINT and the shell's
    SIGTERM at once; django-q2 alone hangs on such a burst about one stop in two
    (``callbacks_app.cluster_stop``). Five stops, each must end on its own."""
    for _ in range(5):
        cluster = start_cluster()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGTERM):
            os.kill(cluster.process.pid, signum)
            time.sleep(0.0005)
        assert cluster.process.wait(timeout=30) == 0  # TimeoutExpired: the cluster hung
        assert "has stopped." in cluster.output()
