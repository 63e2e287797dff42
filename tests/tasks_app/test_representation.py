"""The task object (SPEC §4) is built from its one declaration, ``schema.TaskOutput``."""

from datetime import UTC, datetime

from tasks_app.models import Task
from tasks_app.representation import task_representation
from tasks_app.schema import TaskOutput

CREATED = datetime(2016, 6, 23, 21, 54, 44, 904123, tzinfo=UTC)


def _task(**fields) -> Task:
    return Task(id="a" * 24, type="categorization", created_at=CREATED, updated_at=CREATED, **fields)


def test_task_representation_has_the_declared_fields_optional_ones_last():
    task = _task(callback_succeeded=False, unique_id="u-1", customer_review_status="accepted", tags=["a"])

    data = task_representation(task)

    declared = TaskOutput().fields
    required = [name for name, field in declared.items() if field.required]
    optional = [name for name, field in declared.items() if not field.required]
    assert list(data) == required + optional
    assert data["task_id"] == "a" * 24
    assert data["created_at"] == "2016-06-23T21:54:44.904Z"
    assert data["completed_at"] is None
    assert data["callback_succeeded"] is False


def test_task_representation_leaves_out_what_is_unset():
    data = task_representation(
        _task(callback_succeeded=None, unique_id=None, customer_review_status="", tags=None)
    )

    assert {"callback_succeeded", "unique_id", "customer_review_status", "tags"}.isdisjoint(data)
