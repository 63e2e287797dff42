"""The completion's hand-written statements (``tasks_app.completion_sql``), on the suite's backend.

The suite runs on SQLite and again on PostgreSQL (``make test-postgres``): each
statement is checked on both.
"""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from callbacks_app.models import Delivery
from tasks_app import completion_sql, services
from tasks_app.errors import TaskStateConflict
from tasks_app.models import Task
from tasks_app.representation import task_representation
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

TARGET = "http://127.0.0.1:9/callback"  # nothing is sent in these tests


def test_leaving_pending_writes_the_change_and_returns_the_whole_task_as_stored():
    task = TaskFactory(callback_url=TARGET, metadata={"k": [1, "é"]}, tags=["a"])
    now = timezone.now()
    with transaction.atomic():
        returned = completion_sql.task_leave_pending(
            task_id=task.id,
            status=Task.Status.COMPLETED,
            response={"category": "red"},
            now=now,
            completed=True,
        )
    stored = Task.objects.get(id=task.id)
    assert stored.status == Task.Status.COMPLETED
    assert stored.response == {"category": "red"}
    assert stored.completed_at == now
    assert stored.updated_at == now
    # Every field as the ORM reads it: JSON decoded, datetimes aware.
    assert task_representation(returned) == task_representation(stored)
    assert returned.metadata == {"k": [1, "é"]}
    assert returned.created_at == task.created_at


def test_an_error_leaves_completed_at_unset():
    task = TaskFactory(callback_url=TARGET)
    with transaction.atomic():
        returned = completion_sql.task_leave_pending(
            task_id=task.id,
            status=Task.Status.ERROR,
            response={"error": "blank"},
            now=timezone.now(),
            completed=False,
        )
    assert returned.status == Task.Status.ERROR
    assert returned.completed_at is None
    assert Task.objects.get(id=task.id).response == {"error": "blank"}


@pytest.mark.parametrize("status", [Task.Status.COMPLETED, Task.Status.CANCELED, Task.Status.ERROR])
def test_a_task_that_is_not_pending_is_left_as_it_is(status):
    task = TaskFactory(callback_url=TARGET, status=status, response={"category": "blue"})
    with transaction.atomic():
        returned = completion_sql.task_leave_pending(
            task_id=task.id,
            status=Task.Status.COMPLETED,
            response={"category": "red"},
            now=timezone.now(),
            completed=True,
        )
    assert returned is None
    stored = Task.objects.get(id=task.id)
    assert (stored.status, stored.response, stored.updated_at) == (
        status,
        {"category": "blue"},
        task.updated_at,
    )


def test_a_missing_task_returns_nothing():
    with transaction.atomic():
        assert (
            completion_sql.task_leave_pending(
                task_id="nope",
                status=Task.Status.ERROR,
                response={"error": "x"},
                now=timezone.now(),
                completed=False,
            )
            is None
        )
    assert completion_sql.task_to_check("nope") is None


def test_the_check_reads_state_type_params_and_batch():
    task = TaskFactory(callback_url=TARGET, batch="b1")
    checked = completion_sql.task_to_check(task.id)
    assert (checked.id, checked.owner_id, checked.is_test, checked.type, checked.status, checked.batch) == (
        task.id,
        task.owner_id,
        task.is_test,
        task.type,
        Task.Status.PENDING,
        "b1",
    )
    assert checked.params == task.params


def test_a_completion_loses_to_a_change_made_between_its_check_and_its_write(monkeypatch):
    """The check passed (pending), then another request canceled the task: the conditional
    write changes nothing, the completion is the illegal-state conflict, no callback is recorded."""
    task = TaskFactory(callback_url=TARGET)
    check = completion_sql.task_to_check

    def check_then_cancel(task_id):
        checked = check(task_id)
        services.task_cancel(task_id=task_id)
        return checked

    monkeypatch.setattr(completion_sql, "task_to_check", check_then_cancel)
    with pytest.raises(TaskStateConflict, match="it is canceled"):
        services.task_complete(task_id=task.id, response={"category": "red"})
    assert Task.objects.get(id=task.id).status == Task.Status.CANCELED
    assert not Delivery.objects.filter(task_id=task.id).exists()


def test_the_delivery_freezes_the_task_the_statement_returned():
    task = TaskFactory(callback_url=TARGET)
    services.task_complete(task_id=task.id, response={"category": "red"})
    delivery = Delivery.objects.get(task_id=task.id)
    payload = json.loads(delivery.payload)
    assert payload["status"] == "completed"
    assert payload["response"] == {"category": "red"}
    assert payload["task"] == json.loads(json.dumps(task_representation(Task.objects.get(id=task.id))))
