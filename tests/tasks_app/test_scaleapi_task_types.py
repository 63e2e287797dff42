"""Every task type of SPEC §4 through the official ``scaleapi`` client against a live server:
a create with the documented params, one without a required param, an operator completion
with a valid response (its callback reaches a real receiver) and with an invalid one."""

import pytest
from scaleapi.exceptions import ScaleInvalidRequest
from scaleapi.tasks import TaskType

from callbacks_app.models import Delivery
from tasks_app.models import Task
from tasks_app.task_types import REGISTRY
from tests.conftest import deliver_until_finished
from tests.tasks_app.task_samples import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_samples_cover_every_registered_type():
    assert set(SAMPLES) == set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_create_with_the_documented_params(scale, kind):
    sample = SAMPLES[kind]

    task = scale.create_task(TaskType(kind), instruction="Label it.", **sample.params)

    assert task.type == kind and task.status == "pending"
    assert Task.objects.get(id=task.id).params.keys() >= sample.params.keys() - {"instruction"}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_create_without_a_required_param_is_refused(scale, kind):
    sample = SAMPLES[kind]
    params = {k: v for k, v in sample.params.items() if k != sample.required}

    with pytest.raises(ScaleInvalidRequest, match=sample.required):
        scale.create_task(TaskType(kind), **params)

    assert not Task.objects.exists()


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_operator_completion_with_a_valid_response_sends_the_callback(scale, operator, receiver, kind):
    sample = SAMPLES[kind]
    task_id = scale.create_task(TaskType(kind), callback_url=receiver.url, **sample.params).id

    answer = operator.post(f"/v1/ops/task/{task_id}/complete", {"response": sample.valid}, format="json")

    assert answer.status_code == 200, answer.json()
    delivery = Delivery.objects.get(task_id=task_id, event=Delivery.Event.COMPLETED)
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    body = receiver.requests[-1].json()
    assert body["task_id"] == task_id
    assert body["response"] == Task.objects.get(id=task_id).response
    assert scale.get_task(task_id).status == "completed"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_operator_completion_with_an_invalid_response_is_a_400(scale, operator, kind):
    task_id = scale.create_task(TaskType(kind), **SAMPLES[kind].params).id

    answer = operator.post(
        f"/v1/ops/task/{task_id}/complete", {"response": SAMPLES[kind].invalid}, format="json"
    )

    assert answer.status_code == 400
    assert "response" in answer.json()["details"]
    assert Task.objects.get(id=task_id).status == "pending"
    assert not Delivery.objects.exists()


def test_numeric_strings_are_stored_as_numbers(scale):
    task = scale.create_task(TaskType.Annotation, **SAMPLES["annotation"].params, priority="20")

    assert task.params["min_width"] == 30 and task.params["min_height"] == 30
    assert task.params["priority"] == 20


def test_scales_common_create_fields_are_kept_in_params(scale):
    common = {
        "force": True,
        "priority": 30,
        "urgency": "day",
        "layers": {"boxes": [{"left": 1, "top": 1, "width": 2, "height": 2}]},
        "base_annotations": {"annotations": []},
        "hypothesis": {"annotations": [{"type": "box", "label": "car"}]},
    }

    task = scale.create_task(
        TaskType.ImageAnnotation, instruction="Box it.", **SAMPLES["imageannotation"].params, **common
    )

    assert {key: task.params[key] for key in common} == common
    assert task.instruction == "Box it."


def test_an_unknown_field_is_still_a_400_naming_it(scale):
    with pytest.raises(ScaleInvalidRequest, match="colour"):
        scale.create_task(TaskType.Categorization, **SAMPLES["categorization"].params, colour="red")
