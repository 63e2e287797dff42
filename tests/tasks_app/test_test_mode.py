"""Test mode completes itself (SPEC §13), through the official ``scaleapi`` client against a
live server: a test-key task is completed in the create answer with a synthetic response
valid for its type, and its completion callback reaches a real receiver."""

import pytest
from scaleapi.exceptions import ScaleInvalidRequest
from scaleapi.tasks import TaskType

from callbacks_app.models import Delivery
from tasks_app.models import Task
from tasks_app.task_types import get_task_type
from tests.conftest import deliver_until_finished
from tests.tasks_app.task_samples import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_test_task_is_completed_in_the_create_answer_and_its_callback_goes_out(scale_test, receiver):
    task = scale_test.create_task(
        TaskType.Categorization, callback_url=receiver.url, **SAMPLES["categorization"].params
    )

    assert task.status == "completed"
    assert task.completed_at is not None
    assert task.response == {"category": "red"}
    delivery = Delivery.objects.get(task_id=task.id)
    assert delivery.event == Delivery.Event.COMPLETED
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    body = receiver.requests[-1].json()
    assert body["status"] == "completed" and body["task"]["is_test"] is True
    assert body["response"] == task.response
    with pytest.raises(ScaleInvalidRequest, match="completed"):
        scale_test.cancel_task(task.id)
    assert Task.objects.get(id=task.id).status == "completed"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_synthetic_response_is_valid_for_each_type(scale_test, receiver, kind):
    task = scale_test.create_task(TaskType(kind), callback_url=receiver.url, **SAMPLES[kind].params)

    assert task.status == "completed"
    stored = Task.objects.get(id=task.id)
    assert (
        get_task_type(kind).validate_response(params=stored.params, response=task.response) == task.response
    )
    delivery = Delivery.objects.get(task_id=task.id)
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    assert receiver.requests[-1].json()["response"] == task.response


def test_attachments_of_a_test_task_are_not_downloaded(scale_test, monkeypatch):
    enqueued = []
    monkeypatch.setattr("tasks_app.services.enqueue_attachment_check", enqueued.append)

    task = scale_test.create_task(TaskType.ImageAnnotation, **SAMPLES["imageannotation"].params)

    assert task.status == "completed"
    assert enqueued == []


def test_with_autocomplete_off_a_test_task_stays_pending(scale_test, account, api):
    answer = api.as_key(account.test_api_key).patch(
        "/v1/profile", {"test_tasks_autocomplete": False}, format="json"
    )
    assert answer.status_code == 200

    task = scale_test.create_task(TaskType.Categorization, **SAMPLES["categorization"].params)

    assert task.status == "pending"
    assert "response" not in task.as_dict() or task.response is None
    assert not Delivery.objects.exists()
    assert scale_test.cancel_task(task.id).status == "canceled"


def test_live_tasks_never_complete_themselves(scale):
    live = scale

    assert live.create_task(TaskType.Categorization, **SAMPLES["categorization"].params).status == "pending"
