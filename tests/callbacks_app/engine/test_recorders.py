"""A drain job's recording thread (``engine.recorders.JobRecorder``): the job claims while its
finished sends are written, and returns only once every one of them is."""

import threading

import pytest
from django.db import transaction

from callbacks_app.engine import drain, recorders
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.factories import TaskFactory


def completed(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


@pytest.fixture
def writers(monkeypatch):
    """The names of the threads that record each batch."""
    names = []
    original = recorders.attempts_record

    def record(*, results):
        names.append(threading.current_thread().name)
        original(results=results)

    monkeypatch.setattr(recorders, "attempts_record", record)
    return names


@pytest.mark.django_db(transaction=True)
def test_a_drain_job_returns_with_every_send_recorded_by_its_recording_thread(account, receiver, writers):
    deliveries = [completed(TaskFactory(owner=account.user, callback_url=receiver.url)) for _ in range(30)]

    sent = drain.deliveries_drain(linger=0.05)

    assert sent == 30
    assert writers and set(writers) == {"scalehooks-recording"}  # not the job's own thread
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED
        assert (delivery.lease_token, delivery.leased_until) == (None, None)
        assert delivery.attempts.get().succeeded
    assert len(receiver.requests) == 30


@pytest.mark.django_db(transaction=True)
def test_a_drain_job_inside_a_transaction_records_in_that_transaction(account, receiver, writers):
    """Another thread's connection could not see what the job claimed in the caller's transaction."""
    with transaction.atomic():
        delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
        sent = drain.deliveries_drain(linger=0.05)
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED

    assert sent == 1
    assert writers == [threading.current_thread().name]
