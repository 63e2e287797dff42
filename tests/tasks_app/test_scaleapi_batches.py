"""Projects and batches (SPEC §12) through Scale's official ``scaleapi`` client against a live server.

Every call goes over real HTTP through the client's own code, unchanged; the
batch callback goes to a real receiver and through a real SMTP server.
"""

import json

import pytest
from scaleapi.batches import BatchStatus
from scaleapi.exceptions import ScaleDuplicateResource, ScaleInvalidRequest, ScaleResourceNotFound
from scaleapi.tasks import TaskType

from callbacks_app.models import Delivery
from tasks_app import services
from tasks_app.models import Batch, Task
from tests.conftest import deliver_until_finished
from tests.factories import EmailConfirmationFactory

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORIZATION = {
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


# --- acceptance 1: every route and shape the client calls --------------------------------


def test_project_routes_create_get_update_and_list(scale):
    created = scale.create_project("fruit", TaskType.Categorization, params={"instruction": "Red or blue?"})
    assert created.name == "fruit" and created.type == "categorization"
    assert created.version == 0 and created.instruction == "Red or blue?"

    got = scale.get_project("fruit")
    assert got.as_dict() == created.as_dict()

    updated = scale.update_project("fruit", instruction="Red, or blue?", patch=True)
    assert updated.version == 1 and updated.instruction == "Red, or blue?"
    assert [v["version"] for v in updated.as_dict()["param_history"]] == [0, 1]
    assert scale.get_project("fruit").instruction == "Red, or blue?"

    scale.create_project("veg", TaskType.Categorization)
    assert [p.name for p in scale.projects()] == ["veg", "fruit"]  # a bare array, newest first
    assert [p.name for p in scale.get_projects()] == ["veg", "fruit"]


def test_duplicate_and_unknown_project(scale):
    scale.create_project("fruit", TaskType.Categorization)

    with pytest.raises(ScaleDuplicateResource):
        scale.create_project("fruit", TaskType.Categorization)
    with pytest.raises(ScaleResourceNotFound):
        scale.get_project("nope")


def test_batch_routes_create_get_status_finalize_twice_and_set_metadata(scale, receiver):
    scale.create_project("fruit", TaskType.Categorization)

    batch = scale.create_batch("fruit", "b1", callback=receiver.url, metadata={"week": 1})
    assert (batch.name, batch.project, batch.status) == ("b1", "fruit", "in_progress")
    assert batch.metadata == {"week": 1}
    assert batch.as_dict()["callback"] == receiver.url

    assert scale.get_batch("b1").as_dict() == batch.as_dict()
    scale.create_task(TaskType.Categorization, project="fruit", batch="b1", **CATEGORIZATION)
    assert scale.batch_status("b1") == {
        "status": "in_progress",
        "pending": 1,
        "completed": 0,
        "error": 0,
        "canceled": 0,
    }
    got = scale.get_batch("b1")
    got.get_status()
    assert (got.tasks_pending, got.tasks_completed, got.tasks_error, got.tasks_canceled) == (1, 0, 0, 0)

    first = scale.finalize_batch("b1")
    second = scale.finalize_batch("b1")  # idempotent
    assert first.status == second.status == "in_progress"

    with_metadata = scale.set_batch_metadata("b1", {"week": 2, "tags": ["a"]})
    assert with_metadata.metadata == {"week": 2, "tags": ["a"]}
    assert scale.get_batch("b1").metadata == {"week": 2, "tags": ["a"]}

    with pytest.raises(ScaleDuplicateResource):
        scale.create_batch("fruit", "b1")
    with pytest.raises(ScaleResourceNotFound):
        scale.get_batch("nope")


def test_staging_batch_starts_when_finalized(scale):
    scale.create_project("fruit", TaskType.Categorization)
    scale.api.post_request("batches", body={"project": "fruit", "name": "s", "staging_batch": True})

    assert scale.get_batch("s").status == "staging"
    assert scale.finalize_batch("s").status == "completed"  # empty: completes at once
    assert scale.finalize_batch("s").status == "completed"


def test_batches_and_get_batches_agree_across_several_pages(scale):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_project("veg", TaskType.Categorization)
    names = [f"fruit-{n:03}" for n in range(105)]  # more than one page of 100
    for name in names:
        scale.create_batch("fruit", name)
    scale.create_batch("veg", "veg-1")

    page = scale.batches(project="fruit", limit=40, offset=80)
    assert page.total == 105 and page.limit == 40 and page.offset == 80
    assert [b.name for b in page.docs] == names[::-1][80:105]
    assert page.has_more is False
    assert scale.batches(project="fruit").limit == 100  # the default, echoed

    listed = list(scale.get_batches(project_name="fruit"))
    assert [b.name for b in listed] == names[::-1]
    assert len(listed) == scale.batches(project="fruit", limit=1).total == 105

    scale.finalize_batch("veg-1")
    completed = list(scale.get_batches(batch_status=BatchStatus.Completed))
    assert [b.name for b in completed] == ["veg-1"]


def test_get_tasks_by_project_or_batch_and_get_tasks_count(scale):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "b1")
    scale.create_batch("fruit", "b2")
    in_b1 = [
        scale.create_task(TaskType.Categorization, project="fruit", batch="b1", **CATEGORIZATION).id
        for _ in range(3)
    ]
    in_b2 = scale.create_task(TaskType.Categorization, batch="b2", **CATEGORIZATION)  # batch alone
    scale.create_task(TaskType.Categorization, **CATEGORIZATION)  # in no project

    assert in_b2.project == "fruit" and in_b2.batch == "b2"
    by_project = [t.id for t in scale.get_tasks(project_name="fruit", limit=2)]
    assert by_project == [in_b2.id, *in_b1[::-1]]
    assert [t.id for t in scale.get_tasks(batch_name="b1", limit=2)] == in_b1[::-1]
    assert scale.get_tasks_count(project_name="fruit") == 4
    assert scale.get_tasks_count(batch_name="b1") == 3


def test_tasks_inherit_the_projects_current_params(scale):
    scale.create_project(
        "fruit", TaskType.Categorization, params={**CATEGORIZATION, "instruction": "Red or blue?"}
    )
    scale.update_project("fruit", patch=True, categories=["red", "green"])

    task = scale.create_task(TaskType.Categorization, project="fruit", attachment="apple")

    assert task.instruction == "Red or blue?"
    assert task.params["categories"] == ["red", "green"]
    assert task.params["attachment"] == "apple"  # given: not inherited


def test_create_task_refusals(scale):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_project("words", TaskType.TextCollection)
    scale.create_batch("words", "w1")
    scale.create_batch("fruit", "done")
    scale.finalize_batch("done")

    for fields, named in [
        ({"project": "nope"}, "nope"),
        ({"project": "fruit", "batch": "nope"}, "nope"),
        ({"project": "words"}, "words"),  # a textcollection project
        ({"project": "fruit", "batch": "w1"}, "w1"),  # a batch of another project
        ({"project": "fruit", "batch": "done"}, "done"),  # finalized
    ]:
        with pytest.raises(ScaleInvalidRequest) as refused:
            scale.create_task(TaskType.Categorization, **fields, **CATEGORIZATION)
        assert named in str(refused.value), fields
    assert Task.objects.count() == 0


def test_a_test_key_never_sees_live_projects_or_batches(scale, scale_test):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "b1")

    assert scale_test.projects() == []
    assert scale_test.batches().total == 0
    with pytest.raises(ScaleResourceNotFound):
        scale_test.get_batch("b1")
    scale_test.create_project("fruit", TaskType.Categorization)  # its own namespace
    assert scale_test.create_batch("fruit", "b1").status == "in_progress"


# --- acceptance 4: batch completion and its callback ----------------------------------------


def batch_deliveries() -> list[Delivery]:
    """The batch.completed callbacks made to be sent (not the events of batches without a
    callback, which only the feed has: ``not_sent``)."""
    return list(
        Delivery.objects.filter(event=Delivery.Event.BATCH_COMPLETED)
        .exclude(status=Delivery.Status.NOT_SENT)
        .order_by("created_at")
    )


def test_the_third_completion_sends_one_batch_completed_callback_with_the_counts(scale, receiver, account):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "b1", callback=receiver.url)
    ids = [
        scale.create_task(TaskType.Categorization, project="fruit", batch="b1", **CATEGORIZATION).id
        for _ in range(3)
    ]
    scale.finalize_batch("b1")

    services.task_complete(task_id=ids[0], response={"category": "red"})
    services.task_error(task_id=ids[1], error="Unreadable.")
    assert batch_deliveries() == []
    assert scale.get_batch("b1").status == "in_progress"
    services.task_complete(task_id=ids[2], response={"category": "blue"})

    (delivery,) = batch_deliveries()
    assert scale.get_batch("b1").status == "completed"
    assert scale.get_batch("b1").as_dict()["completed_at"]
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    (request,) = [r for r in receiver.requests if r.header("webhook-id") == delivery.id]
    body = request.json()
    assert body["batch_name"] == "b1" and body["status"] == "completed"
    assert body["counts"] == {"pending": 0, "completed": 2, "error": 1, "canceled": 0}
    assert body["batch"] == scale.get_batch("b1").as_dict()
    assert request.header("scale-callback-event") == "batch.completed"
    assert request.header("scale-callback-auth") == account.profile.live_callback_auth_key
    assert request.header("webhook-signature").startswith("v1,")

    # The client's own view of the ledger: the delivery log and a resend.
    log = scale.api.get_request("batches/b1/callbacks")
    assert [d["delivery_id"] for d in log["deliveries"]] == [delivery.id]
    assert log["deliveries"][0]["attempts"][0]["succeeded"] is True
    resent = scale.api.post_request("batches/b1/resend_callback")
    assert resent["status"] == "queued" and resent["batch_name"] == "b1"
    assert deliver_until_finished(resent["delivery_id"]).status == Delivery.Status.SUCCEEDED
    assert len(receiver.requests) >= 2


def test_the_batch_callback_by_email(scale, account, smtp_server):
    EmailConfirmationFactory(owner=account.user, address="ops@example.com")  # confirmed before (§6.6)
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "mailed", callback="ops@example.com")
    task_id = scale.create_task(TaskType.Categorization, project="fruit", batch="mailed", **CATEGORIZATION).id
    scale.finalize_batch("mailed")

    services.task_complete(task_id=task_id, response={"category": "red"})

    (delivery,) = batch_deliveries()
    assert delivery.target_kind == Delivery.TargetKind.EMAIL
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    (mail,) = smtp_server.wait_for(1)
    assert mail.message["Subject"] == "Batch mailed completed"
    assert mail.message["To"] == "ops@example.com"
    body = json.loads(mail.body)
    assert body["counts"] == {"pending": 0, "completed": 1, "error": 0, "canceled": 0}
    assert body["batch"]["name"] == "mailed"


def test_a_recall_reopens_the_batch_and_a_new_completion_sends_a_second_callback(scale, receiver):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "b1", callback=receiver.url)
    ids = [scale.create_task(TaskType.Categorization, batch="b1", **CATEGORIZATION).id for _ in range(2)]
    scale.cancel_task(ids[1])
    scale.finalize_batch("b1")
    services.task_complete(task_id=ids[0], response={"category": "red"})
    assert len(batch_deliveries()) == 1

    services.task_recall(task_id=ids[0])
    assert scale.get_batch("b1").status == "in_progress"
    assert scale.get_batch("b1").as_dict()["completed_at"] is None
    services.task_complete(task_id=ids[0], response={"category": "blue"})

    first, second = batch_deliveries()
    for delivery in (first, second):
        assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    bodies = {r.header("webhook-id"): r.json() for r in receiver.requests}
    assert bodies[second.id]["counts"] == {"pending": 0, "completed": 1, "error": 0, "canceled": 1}
    assert bodies[second.id]["batch"]["status"] == "completed"


def test_an_empty_finalized_batch_completes_at_once_and_without_callback_sends_nothing(scale, receiver):
    scale.create_project("fruit", TaskType.Categorization)
    scale.create_batch("fruit", "called", callback=receiver.url)
    scale.create_batch("fruit", "silent")

    assert scale.finalize_batch("called").status == "completed"
    assert scale.finalize_batch("silent").status == "completed"

    (delivery,) = batch_deliveries()
    assert delivery.batch.name == "called"
    # The silent batch's event is only in the feed (SPEC §17): never sent.
    assert list(Batch.objects.get(name="silent").deliveries.values_list("status", flat=True)) == ["not_sent"]
