"""The completion's hand-written statements (``tasks_app.completion_sql``), on the suite's backend.

The suite runs on SQLite and again on PostgreSQL (``make test-postgres``): each
statement is checked on both.
"""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
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


def test_the_check_reads_the_whole_task_and_on_postgresql_its_row_version():
    task = TaskFactory(callback_url=TARGET, batch="b1", metadata={"k": 1})
    checked, version = completion_sql.task_to_check(task.id)
    stored = Task.objects.get(id=task.id)
    assert task_representation(checked) == task_representation(stored)
    assert (checked.owner_id, checked.type, checked.params, checked.batch) == (
        task.owner_id,
        task.type,
        task.params,
        "b1",
    )
    if connection.vendor == "postgresql":
        assert version
        Task.objects.filter(id=task.id).update(metadata={"k": 2})
        assert completion_sql.task_to_check(task.id)[1] != version, "a write gives the row a new version"
    else:
        assert version is None


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


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the one-statement completion is PostgreSQL's (a WITH query that writes)",
)


def _statements(queries) -> list[str]:
    """The first word of each statement run (the ORM's and the hand-written ones alike)."""
    return [query["sql"].split()[0] for query in queries.captured_queries]


@postgresql_only
def test_a_completion_writes_its_task_and_its_delivery_in_one_statement():
    task = TaskFactory(callback_url=TARGET, metadata={"b": 1, "a": [1, "é"]})
    with CaptureQueriesContext(connection) as queries:
        returned = services.task_complete(task_id=task.id, response={"category": "red"})
    assert _statements(queries) == ["SELECT", "WITH"], (
        "the check, then the change and its delivery: no BEGIN, no COMMIT"
    )

    stored = Task.objects.get(id=task.id)
    assert (stored.status, stored.response, stored.completed_at) == (
        "completed",
        {"category": "red"},
        returned.completed_at,
    )
    assert task_representation(returned) == task_representation(stored)
    delivery = Delivery.objects.get(task_id=task.id)
    assert (
        delivery.owner_id,
        delivery.is_test,
        delivery.target,
        delivery.target_origin,
        delivery.status,
    ) == (
        task.owner_id,
        False,
        TARGET,
        "http://127.0.0.1:9",
        Delivery.Status.PENDING,
    )
    assert delivery.next_attempt_at == delivery.created_at == returned.updated_at
    payload = json.loads(delivery.payload)
    assert payload["task"] == json.loads(json.dumps(task_representation(stored)))


@postgresql_only
def test_a_write_to_the_task_between_its_check_and_its_change_is_in_the_callback(monkeypatch):
    """The check read the task, then another write changed its metadata (not its state): the
    one statement, conditional on the row's version, writes nothing, and the transaction
    completes the task with a payload of the task as it is, not as the check read it."""
    task = TaskFactory(callback_url=TARGET, metadata={"v": "old"})
    check = completion_sql.task_to_check

    def check_then_write(task_id):
        checked = check(task_id)
        Task.objects.filter(id=task_id).update(metadata={"v": "new"})
        return checked

    monkeypatch.setattr(completion_sql, "task_to_check", check_then_write)
    with CaptureQueriesContext(connection) as queries:
        services.task_complete(task_id=task.id, response={"category": "red"})
    assert "WITH" in _statements(queries) and "UPDATE" in _statements(queries), "the transaction decided"
    (delivery,) = Delivery.objects.filter(task_id=task.id)
    assert json.loads(delivery.payload)["task"]["metadata"] == {"v": "new"}
    assert Task.objects.get(id=task.id).status == Task.Status.COMPLETED


@postgresql_only
def test_a_task_of_a_batch_and_a_callback_by_email_take_the_transaction():
    """A batch's progress and an email address's confirmation are written with the change:
    those completions keep their transaction."""
    of_a_batch = TaskFactory(callback_url=TARGET, batch="b1")
    by_email = TaskFactory(callback_url="ops@example.com")
    for task in (of_a_batch, by_email):
        with CaptureQueriesContext(connection) as queries:
            services.task_complete(task_id=task.id, response={"category": "red"})
        assert "WITH" not in _statements(queries) and "UPDATE" in _statements(queries)
        assert Delivery.objects.filter(task_id=task.id).count() == 1


def test_an_error_is_written_with_its_callback_as_a_completion_is():
    task = TaskFactory(callback_url=TARGET)
    services.task_error(task_id=task.id, error="blurry")
    stored = Task.objects.get(id=task.id)
    assert (stored.status, stored.response, stored.completed_at) == ("error", {"error": "blurry"}, None)
    delivery = Delivery.objects.get(task_id=task.id)
    assert delivery.event == Delivery.Event.ERROR
    assert json.loads(delivery.payload)["task"] == json.loads(json.dumps(task_representation(stored)))
