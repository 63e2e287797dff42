"""Wire compatibility (SPEC §1, §4): Scale's official ``scaleapi`` client against a live server.

Every call goes over real HTTP through the client's own code, unchanged; the
results are compared with what the API stored.
"""

import pytest
from scaleapi.exceptions import (
    ScaleDuplicateResource,
    ScaleInvalidRequest,
    ScaleNotEnabled,
    ScaleResourceNotFound,
    ScaleUnauthorized,
)
from scaleapi.tasks import TaskType

from callbacks_app.models import Delivery
from tasks_app import services
from tasks_app.models import Task
from tasks_app.representation import task_representation
from tests.conftest import deliver_until_finished

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORIZATION = {
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


def stored(task_id: str) -> dict:
    return task_representation(Task.objects.get(id=task_id))


def test_create_task_returns_what_was_stored(scale, receiver):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "b1")
    task = scale.create_task(
        TaskType.Categorization,
        callback_url=receiver.url,
        project="fruit",
        batch="b1",
        unique_id="tomato-1",
        tags=["red?"],
        metadata={"source": "test"},
        **CATEGORIZATION,
    )

    assert task.as_dict() == stored(task.id)
    assert task.status == "pending"
    assert task.callback_url == receiver.url
    assert task.unique_id == "tomato-1"
    assert task.params["categories"] == ["red", "blue"]


def test_get_task_returns_what_was_stored(scale):
    task_id = scale.create_task(TaskType.Categorization, **CATEGORIZATION).id

    assert scale.get_task(task_id).as_dict() == stored(task_id)


def test_get_tasks_iterates_every_page_and_get_tasks_count_uses_total(scale):
    scale.create_project("p", TaskType.Categorization)
    scale.create_project("other", TaskType.Categorization)
    created = [scale.create_task(TaskType.Categorization, project="p", **CATEGORIZATION).id for _ in range(5)]
    scale.create_task(TaskType.Categorization, project="other", **CATEGORIZATION)

    listed = list(scale.get_tasks(project_name="p", limit=2))

    assert [t.id for t in listed] == created[::-1]
    assert [t.as_dict() for t in listed] == [stored(task_id) for task_id in created[::-1]]
    assert scale.get_tasks_count(project_name="p") == 5


def test_tasks_page_has_the_client_shape(scale):
    for _ in range(3):
        scale.create_task(TaskType.Categorization, **CATEGORIZATION)

    page = scale.tasks(limit=2)

    assert len(page.docs) == 2
    assert page.total == 3 and page.limit == 2 and page.offset == 0
    assert page.has_more is True and page.next_token
    rest = scale.tasks(limit=2, next_token=page.next_token)
    assert len(rest.docs) == 1 and rest.offset == 2 and rest.has_more is False


def test_cancel_task(scale):
    task_id = scale.create_task(TaskType.Categorization, unique_id="u", **CATEGORIZATION).id

    task = scale.cancel_task(task_id, clear_unique_id=True)

    assert task.status == "canceled"
    assert "unique_id" not in task.as_dict()
    assert task.as_dict() == stored(task_id)


def test_cancel_of_a_completed_task_is_refused(scale):
    task_id = scale.create_task(TaskType.Categorization, **CATEGORIZATION).id
    services.task_complete(task_id=task_id, response={"category": "red"})

    # An illegal state change is a 400 (SPEC §4), which the client raises as
    # ScaleInvalidRequest, as Scale's own answer would be.
    with pytest.raises(ScaleInvalidRequest, match="completed"):
        scale.cancel_task(task_id)

    assert Task.objects.get(id=task_id).status == "completed"


def test_audit_task_records_the_audit_and_sends_the_audit_callback(scale, receiver):
    task_id = scale.create_task(TaskType.Categorization, callback_url=receiver.url, **CATEGORIZATION).id
    services.task_complete(task_id=task_id, response={"category": "red"})

    scale.audit_task(task_id, accepted=False, comments="It is a tomato, so red.")

    task = scale.get_task(task_id)
    assert task.customer_review_status == "rejected"
    assert task.customer_review_comments == ["It is a tomato, so red."]
    assert task.audits[0]["audit_result"] == "rejected"
    delivery = Delivery.objects.get(task_id=task_id, event=Delivery.Event.AUDITED)
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    audited = [r.json() for r in receiver.requests if r.header("webhook-id") == delivery.id]
    assert audited[0]["task"]["customer_review_status"] == "rejected"


def test_update_and_clear_unique_id(scale):
    task_id = scale.create_task(TaskType.Categorization, **CATEGORIZATION).id

    updated = scale.update_task_unique_id(task_id, "new-id")
    assert updated.unique_id == "new-id"
    assert stored(task_id)["unique_id"] == "new-id"

    cleared = scale.clear_task_unique_id(task_id)
    assert "unique_id" not in cleared.as_dict()
    assert "unique_id" not in stored(task_id)


def test_set_task_metadata(scale):
    task_id = scale.create_task(TaskType.Categorization, metadata={"a": 1}, **CATEGORIZATION).id

    task = scale.set_task_metadata(task_id, {"b": [1, 2]})

    assert task.metadata == {"b": [1, 2]}
    assert stored(task_id)["metadata"] == {"b": [1, 2]}


def test_set_add_and_delete_tags(scale):
    task_id = scale.create_task(TaskType.Categorization, tags=["a"], **CATEGORIZATION).id

    assert scale.set_task_tags(task_id, ["x", "y"]).tags == ["x", "y"]
    assert scale.add_task_tags(task_id, ["z"]).tags == ["x", "y", "z"]
    assert scale.delete_task_tags(task_id, ["x"]).tags == ["y", "z"]
    assert stored(task_id)["tags"] == ["y", "z"]


def test_duplicate_unique_id_raises_scale_duplicate_resource_naming_the_task(scale):
    first = scale.create_task(TaskType.Categorization, unique_id="dup", **CATEGORIZATION).id

    with pytest.raises(ScaleDuplicateResource) as raised:
        scale.create_task(TaskType.Categorization, unique_id="dup", **CATEGORIZATION)

    assert first in raised.value.message
    assert Task.objects.count() == 1


def test_create_retried_with_the_same_idempotency_key_returns_the_first_task(scale):
    # The client sends whatever headers it holds with every request.
    scale.api._headers["Idempotency-Key"] = "retry-me"
    first = scale.create_task(TaskType.Categorization, **CATEGORIZATION)

    retried = scale.create_task(TaskType.Categorization, **CATEGORIZATION)

    assert retried.as_dict() == first.as_dict()
    assert Task.objects.count() == 1


def test_lookup_by_unique_id_that_the_client_does_after_a_5xx_then_409(scale):
    # After a 5xx and a 409 on the retried create, the client reads docs[0] of this query.
    task_id = scale.create_task(TaskType.Categorization, unique_id="after-5xx", **CATEGORIZATION).id
    scale.create_task(TaskType.Categorization, unique_id="another", **CATEGORIZATION)

    page = scale.tasks(unique_id="after-5xx")

    assert [t.id for t in page.docs] == [task_id]


def test_errors_map_to_the_clients_exceptions(scale, scale_as, other_account):
    task_id = scale.create_task(TaskType.Categorization, **CATEGORIZATION).id
    other = scale_as(other_account.live_api_key)
    wrong_key = scale_as("live_" + "0" * 32)

    with pytest.raises(ScaleResourceNotFound):
        other.get_task(task_id)
    with pytest.raises(ScaleUnauthorized):
        wrong_key.get_task(task_id)
    with pytest.raises(ScaleInvalidRequest, match="categories"):
        scale.create_task(TaskType.Categorization, **{**CATEGORIZATION, "categories": ["only one"]})
    with pytest.raises(ScaleInvalidRequest, match="categories: Unknown field"):
        scale.create_task(TaskType.Transcription, **CATEGORIZATION)
    with pytest.raises(ScaleNotEnabled, match="Supported types"):
        scale.create_task(TaskType.LidarAnnotation, **CATEGORIZATION)


def test_test_key_client_sees_only_test_tasks(scale, scale_test):
    live_id = scale.create_task(TaskType.Categorization, **CATEGORIZATION).id
    test_client = scale_test

    test_task = test_client.create_task(TaskType.Categorization, **CATEGORIZATION)

    assert test_task.is_test is True
    assert [t.id for t in test_client.tasks().docs] == [test_task.id]
    with pytest.raises(ScaleResourceNotFound):
        test_client.get_task(live_id)
