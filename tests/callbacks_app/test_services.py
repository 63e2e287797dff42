"""``callbacks_app.services``: resending a task's callback (SPEC §6.7), with a pending retry, an attempt in flight, a dead worker."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine import callback_deliver, deliveries_claim
from callbacks_app.errors import NoCallbackTarget
from callbacks_app.models import Delivery
from callbacks_app.resends import callback_resend
from scalehooks.errors import IllegalStateChange
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_callback_resend_sends_the_task_as_it_is_now(account, receiver):
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)
    task.refresh_from_db()
    task.metadata = {"after": "completion"}
    task.save()

    delivery = callback_resend(task_id=task.id)
    deliver_until_finished(delivery.id)

    assert delivery.event == "task.resent"
    assert receiver.requests[-1].json()["task"]["metadata"] == {"after": "completion"}
    assert receiver.requests[-1].header("webhook-id") == delivery.id


def test_callback_resend_supersedes_a_pending_retry(account, receiver):
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    first = Delivery.objects.get(task=task)

    second = callback_resend(task_id=task.id)

    first.refresh_from_db()
    assert first.status == Delivery.Status.SUPERSEDED
    assert list(task.deliveries.filter(status=Delivery.Status.PENDING)) == [second]


def test_callback_resend_of_a_pending_task_is_a_conflict(account, receiver):
    task = TaskFactory(owner=account.user, callback_url=receiver.url)

    with pytest.raises(IllegalStateChange):
        callback_resend(task_id=task.id)
    assert not Delivery.objects.exists()


def test_callback_resend_without_a_target_is_refused(account):
    task = TaskFactory(owner=account.user, callback_url="")
    task_complete(task_id=task.id, response={"category": "red"})

    with pytest.raises(NoCallbackTarget):
        callback_resend(task_id=task.id)


def test_callback_resend_while_a_retry_is_pending_leaves_exactly_one_live_delivery(account, receiver):
    receiver.answer(Answer(500), Answer(200))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    first = Delivery.objects.get(task=task)
    callback_deliver(delivery_id=first.id)  # 500: a retry is pending
    first.refresh_from_db()
    assert first.status == Delivery.Status.PENDING and first.next_attempt_at is not None

    second = callback_resend(task_id=task.id)
    wait_until(  # the superseded retry would be due by now
        lambda: timezone.now() > first.next_attempt_at, 5, "the retry never fell due", interval=0.01
    )

    assert callback_deliver(delivery_id=first.id) is None
    deliver_until_finished(second.id)
    assert list(task.deliveries.exclude(status=Delivery.Status.SUPERSEDED)) == [
        Delivery.objects.get(id=second.id)
    ]
    assert [r.header("webhook-id") for r in receiver.requests] == [first.id, second.id]


def test_callback_resend_during_an_attempt_in_flight_waits_for_it(account, receiver):
    receiver.answer(Answer(200, delay=1.5), Answer(200))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    first = Delivery.objects.get(task=task)
    in_flight = threading.Thread(target=callback_deliver, kwargs={"delivery_id": first.id})
    in_flight.start()
    try:
        receiver.wait_for(1)

        second = callback_resend(task_id=task.id)

        assert second.next_attempt_at > timezone.now()
        assert callback_deliver(delivery_id=second.id) is None
    finally:
        in_flight.join()  # never leave the attempt running past the test
    deliver_until_finished(second.id, timeout=5)  # released at once, not at the lease's end
    first_request, second_request = receiver.requests
    assert second_request.header("webhook-id") == second.id
    assert second_request.received_at - first_request.received_at >= 1.5
    first.refresh_from_db()
    assert first.status == Delivery.Status.SUPERSEDED
    task.refresh_from_db()
    assert task.callback_succeeded is True


def test_callback_resend_after_a_worker_died_mid_attempt_waits_only_for_its_lease(account, receiver):
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    first = Delivery.objects.get(task=task)
    # A worker claimed the delivery and died: an unfinished attempt, a lease 1 s from its end.
    claim = deliveries_claim(ids=[first.id])
    assert claim
    Delivery.objects.filter(id=first.id).update(leased_until=timezone.now() + timedelta(seconds=1))

    second = callback_resend(task_id=task.id)

    assert callback_deliver(delivery_id=second.id) is None
    deliver_until_finished(second.id, timeout=5)
    assert [r.header("webhook-id") for r in receiver.requests] == [second.id]


def test_callback_resend_of_an_unknown_task_raises_does_not_exist():
    with pytest.raises(Task.DoesNotExist):
        callback_resend(task_id="0" * 24)
