"""The task object (SPEC §4) is built from its one declaration, ``schema.TaskOutput``."""

import json
from datetime import UTC, datetime

import pytest

from tasks_app.models import Task
from tasks_app.representation import task_representation
from tasks_app.schema import TaskOutput
from tests.factories import TaskFactory

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


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {},  # pending: no response, no tags
        {
            "status": "completed",
            "response": {
                "category": "red",
                "note": 'zwölf \u2028 line\u2029 "quoted" \\ </script>',
                "n": 1.5,
            },
            "metadata": {"nested": {"list": [1, None, True, "é"]}, "big": 2**62, "empty": {}},
            "tags": ["b", "a"],
            "unique_id": "u-1",
            "callback_succeeded": True,
            "customer_review_status": "accepted",
            "audits": [{"accepted": True}],
            "customer_review_comments": ["fine"],
            "prior_responses": [{"category": "blue"}],
        },
        {"tags": [], "metadata": {}, "callback_succeeded": False},
    ],
)
def test_a_list_page_holds_each_task_as_the_task_route_answers_it(customer, account, fields):
    """The list page's documents are built from rows and JSON text (``task_documents``): the
    same object, byte for byte once parsed, as ``task_representation`` gives and ``GET
    /v1/task/{id}`` answers."""
    task = TaskFactory(owner=account.profile.user, **fields)
    task.refresh_from_db()

    listed = customer.get("/v1/tasks").json()["docs"]
    read = customer.get(f"/v1/task/{task.id}")

    assert listed == [read.json()] == [json.loads(json.dumps(task_representation(task)))]
    assert list(listed[0]) == list(task_representation(task))  # the keys in the same order
    assert b"\\u2028" in read.content or "\u2028" not in json.dumps(fields, ensure_ascii=False)
