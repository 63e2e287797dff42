"""Wire details of SPEC §4 as the official ``scaleapi`` client meets them against a live
server: what it sends without a body, its query booleans and naive times, ``tags`` absent
until set, and a 402 for the parts of Scale's API this service does not offer."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from scaleapi.exceptions import ScaleNotEnabled
from scaleapi.tasks import TaskType

from tasks_app.models import Task
from tests.tasks_app.task_samples import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORIZATION = SAMPLES["categorization"].params


def test_tags_are_absent_until_first_set_even_to_an_empty_list(scale):
    task = scale.create_task(TaskType.Categorization, **CATEGORIZATION)
    assert "tags" not in task.as_dict()
    assert "tags" not in scale.get_task(task.id).as_dict()

    # the client sends an empty list as no body at all, with its JSON content type
    emptied = scale.set_task_tags(task.id, [])

    assert emptied.tags == []
    assert Task.objects.get(id=task.id).tags == []
    assert scale.add_task_tags(task.id, []).tags == []
    assert scale.delete_task_tags(task.id, []).tags == []


def test_set_metadata_to_an_empty_object_sends_no_body_and_empties_it(scale):
    task = scale.create_task(TaskType.Categorization, metadata={"a": 1}, **CATEGORIZATION)

    assert scale.set_task_metadata(task.id, {}).metadata == {}
    assert Task.objects.get(id=task.id).metadata == {}


def test_query_booleans_are_read_as_python_writes_them(live_server, account, scale):
    task = scale.create_task(TaskType.Categorization, unique_id="u-1", **CATEGORIZATION)

    answer = requests.post(
        f"{live_server.url}/v1/task/{task.id}/cancel",
        params={"clear_unique_id": True},  # requests sends "True"
        auth=(account.live_api_key, ""),
        timeout=5,
    )

    assert answer.status_code == 200, answer.text
    assert "unique_id" not in answer.json()


def test_naive_times_of_the_client_are_read_as_utc(scale):
    scale.create_project("p", TaskType.Categorization)  # tasks of a project name it (SPEC §12)
    task = scale.create_task(TaskType.Categorization, project="p", **CATEGORIZATION)
    created = Task.objects.get(id=task.id).created_at.astimezone(UTC).replace(tzinfo=None)
    before = (created - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    after = (created + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")

    assert [t.id for t in scale.get_tasks(project_name="p", created_after=before)] == [task.id]
    assert list(scale.get_tasks(project_name="p", created_after=after)) == []
    assert [t.id for t in scale.get_tasks(project_name="p", created_before=after)] == [task.id]
    assert datetime.fromisoformat(task.created_at.replace("Z", "+00:00")).tzinfo is not None


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.list_studio_assignments(),
        lambda s: s.list_studio_batches(),
        lambda s: s.reset_studio_batches_priorities(),
        lambda s: s.list_project_groups("p"),
        lambda s: s.create_evaluation_task(TaskType.ImageAnnotation, **SAMPLES["imageannotation"].params),
        lambda s: s.create_training_task(TaskType.ImageAnnotation, **SAMPLES["imageannotation"].params),
    ],
    ids=[
        "studio assignments",
        "studio batches",
        "studio priorities",
        "studio groups",
        "evaluation",
        "training",
    ],
)
def test_parts_of_scales_api_not_offered_are_a_402(scale, call):
    with pytest.raises(ScaleNotEnabled) as raised:
        call(scale)

    assert "not offered" in raised.value.message


def test_a_402_has_the_error_shape_and_needs_a_key(live_server, account):
    url = f"{live_server.url}/v1/studio/batches"

    answered = requests.get(url, auth=(account.live_api_key, ""), timeout=5)
    anonymous = requests.get(url, timeout=5)

    assert answered.status_code == 402
    assert answered.json() == {"status_code": 402, "error": answered.json()["error"]}
    assert "studio" in answered.json()["error"]
    assert anonymous.status_code == 401
    v2 = requests.get(f"{live_server.url}/v2/tasks", auth=(account.live_api_key, ""), timeout=5)
    assert v2.status_code == 402 and "v2" in v2.json()["error"]


def test_an_unknown_v1_route_is_still_a_404(live_server, account):
    answer = requests.get(f"{live_server.url}/v1/nothing/here", auth=(account.live_api_key, ""), timeout=5)

    assert answer.status_code == 404
