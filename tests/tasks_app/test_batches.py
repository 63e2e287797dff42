"""Projects and batches (SPEC §12) through the API, the lifecycle, the ledger, the admin and the command."""

import pytest
from django.contrib.admin.utils import quote
from django.core.management import CommandError, call_command
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from callbacks_app.models import Delivery
from tasks_app import services
from tasks_app.errors import TaskStateConflict
from tasks_app.models import Batch, Task
from tests.conftest import deliver_until_finished
from tests.servers import Answer

pytestmark = pytest.mark.django_db


def batch_deliveries(name: str) -> list[Delivery]:
    return list(Delivery.objects.filter(batch__name=name).order_by("created_at"))


@pytest.fixture
def finished_batch(customer, create_batch, create_task, receiver):
    """A finalized batch of two tasks, completed by the second completion; returns its name and tasks."""
    create_batch("p", "b1", callback=receiver.url)
    ids = [create_task(project="p", batch="b1")["task_id"] for _ in range(2)]
    assert customer.post("/v1/batches/b1/finalize").status_code == 200
    for task_id in ids:
        services.task_complete(task_id=task_id, response={"category": "red"})
    return "b1", ids


def test_another_accounts_batch_is_a_404_on_every_route(api, other_account, finished_batch):
    other = api.as_key(other_account.live_api_key)

    for method, path in [
        ("get", "/v1/batches/b1"),
        ("get", "/v1/batches/b1/status"),
        ("post", "/v1/batches/b1/finalize"),
        ("post", "/v1/batches/b1/setMetadata"),
        ("get", "/v1/batches/b1/callbacks"),
        ("post", "/v1/batches/b1/resend_callback"),
        ("get", "/v1/projects/p"),
        ("post", "/v1/projects/p/setParams"),
    ]:
        answer = getattr(other, method)(path, {}, format="json")
        assert answer.status_code == 404, (path, answer.json())
    assert other.get("/v1/batches").json()["totalDocs"] == 0
    assert other.get("/v1/projects").json() == []


def test_batch_list_query_is_validated_and_limit_echoed(customer, create_batch):
    create_batch("p", "b1")

    assert customer.get("/v1/batches", {"limit": 0}).status_code == 400
    assert customer.get("/v1/batches", {"limit": 101}).status_code == 400
    assert customer.get("/v1/batches", {"offset": -1}).status_code == 400
    # Past what a database integer holds: a 400 naming it, not a 500 (found by schemathesis).
    huge = customer.get("/v1/batches", {"offset": 263817145660318154752})
    assert huge.status_code == 400
    assert "offset" in huge.json()["error"]
    assert customer.get("/v1/batches", {"status": "nope"}).status_code == 400
    body = customer.get("/v1/batches", {"limit": 7, "offset": 1}).json()
    assert body == {"docs": [], "totalDocs": 1, "limit": 7, "offset": 1, "has_more": False}


def test_create_refusals_are_400s_naming_the_field(customer, create_project):
    create_project("p")

    assert customer.post("/v1/batches", {"project": "nope", "name": "b"}, format="json").status_code == 400
    assert customer.post("/v1/projects", {"type": "nope", "name": "x"}, format="json").status_code == 400
    bad_callback = customer.post(
        "/v1/batches", {"project": "p", "name": "b", "callback": "http://169.254.169.254/"}, format="json"
    )
    assert bad_callback.status_code == 400 and "callback" in bad_callback.json()["details"]
    duplicate = customer.post("/v1/projects", {"type": "categorization", "name": "p"}, format="json")
    assert duplicate.status_code == 409


def test_a_task_of_a_staging_batch_cannot_be_completed_until_it_is_finalized(
    customer, create_batch, create_task
):
    create_batch("p", "s", staging_batch=True)
    task_id = create_task(batch="s")["task_id"]

    with pytest.raises(TaskStateConflict, match="staging"):
        services.task_complete(task_id=task_id, response={"category": "red"})
    assert Task.objects.get(id=task_id).status == "pending"

    customer.post("/v1/batches/s/finalize")
    services.task_complete(task_id=task_id, response={"category": "red"})
    assert customer.get("/v1/batches/s").json()["status"] == "completed"


def test_cancel_and_error_complete_a_batch_too(customer, create_batch, create_task, receiver):
    create_batch("p", "b1", callback=receiver.url)
    canceled, failed = (create_task(batch="b1")["task_id"] for _ in range(2))
    customer.post("/v1/batches/b1/finalize")

    customer.post(f"/v1/task/{canceled}/cancel")
    assert batch_deliveries("b1") == []
    services.task_error(task_id=failed, error="Unreadable.")

    (delivery,) = batch_deliveries("b1")
    assert '"counts":{"pending":0,"completed":0,"error":1,"canceled":1}' in delivery.payload


def test_the_batch_callback_is_retried_and_signed_like_a_tasks(finished_batch, receiver, account, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.05]
    (delivery,) = batch_deliveries("b1")
    receiver.answer(Answer(500, b"not now"), Answer(200))

    finished = deliver_until_finished(delivery.id)

    assert finished.status == Delivery.Status.SUCCEEDED and finished.attempt_count == 2
    first, second = [r for r in receiver.requests if r.header("webhook-id") == delivery.id]
    assert [first.header("scale-callback-attempt"), second.header("scale-callback-attempt")] == ["1", "2"]
    assert first.body == second.body  # frozen payload
    assert (
        Webhook(account.profile.live_signing_secret).verify(second.body, second.headers)["batch_name"] == "b1"
    )
    # The batch's tasks keep their own callback outcome: none (they have no callback_url).
    assert set(Task.objects.values_list("callback_succeeded", flat=True)) == {None}


def test_resend_refusals(customer, create_batch, create_task):
    create_batch("p", "open", callback="https://example.com/hook")
    create_batch("p", "silent")
    customer.post("/v1/batches/silent/finalize")

    not_completed = customer.post("/v1/batches/open/resend_callback")
    # An illegal state change: 409 until W-F2's merge makes every one a 400 (SPEC §4); then 400 only.
    assert not_completed.status_code == 400  # an illegal state change (SPEC §4)
    assert "it is in_progress (allowed only when completed)" in not_completed.json()["error"]
    no_callback = customer.post("/v1/batches/silent/resend_callback")
    assert no_callback.status_code == 400
    assert no_callback.json()["error"] == "Batch 'silent' has no callback."


def test_resend_supersedes_the_pending_batch_delivery(customer, finished_batch):
    (first,) = batch_deliveries("b1")

    answer = customer.post("/v1/batches/b1/resend_callback")

    assert answer.status_code == 200
    first.refresh_from_db()
    assert first.status == Delivery.Status.SUPERSEDED
    log = customer.get("/v1/batches/b1/callbacks").json()
    assert [d["delivery_id"] for d in log["deliveries"]] == [answer.json()["delivery_id"], first.id]


# --- admin --------------------------------------------------------------------------------


def test_admin_lists_projects_and_batches_with_links_to_their_tasks(admin_client, finished_batch):
    projects = admin_client.get(reverse("admin:tasks_app_project_changelist"), {"type": "categorization"})
    batches = admin_client.get(reverse("admin:tasks_app_batch_changelist"), {"status__exact": "completed"})

    assert projects.status_code == batches.status_code == 200
    assert "?project=p&amp;owner__id__exact=" in projects.content.decode()
    assert "?batch=b1&amp;owner__id__exact=" in batches.content.decode()
    owner_id = Batch.objects.get(name="b1").owner_id
    tasks = admin_client.get(
        reverse("admin:tasks_app_task_changelist"),
        {"batch": "b1", "owner__id__exact": owner_id, "mode": "live"},
    )
    assert tasks.status_code == 200
    assert all(task_id in tasks.content.decode() for task_id in finished_batch[1])
    assert admin_client.get(reverse("admin:tasks_app_batch_add")).status_code == 403


def test_admin_resend_button_of_a_batch(admin_client, finished_batch):
    batch = Batch.objects.get(name="b1")
    page = admin_client.get(reverse("admin:tasks_app_batch_change", args=[quote(batch.id)]))
    assert "Resend batch callback" in page.content.decode()
    assert batch_deliveries("b1")[0].id in page.content.decode()  # its deliveries, inline

    answer = admin_client.post(reverse("admin:tasks_app_batch_resend", args=[quote(batch.id)]))

    newest = batch_deliveries("b1")[-1]
    assert answer.status_code == 302
    assert answer.url == reverse("admin:callbacks_app_delivery_change", args=[quote(newest.id)])
    assert len(batch_deliveries("b1")) == 2
    ledger = admin_client.get(reverse("admin:callbacks_app_delivery_changelist")).content.decode()
    assert f"batch {batch.id}" in ledger


# --- manage.py resend_callback --batch ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_command_resends_a_batch_callback_and_waits_for_it(finished_batch, receiver, capsys):
    call_command("resend_callback", "--batch", "b1", "--wait")

    out = capsys.readouterr().out
    assert "queued batch b1 as delivery" in out
    assert "1 delivered, 0 failed" in out
    newest = batch_deliveries("b1")[-1]
    assert newest.status == Delivery.Status.SUCCEEDED
    assert any(r.header("webhook-id") == newest.id for r in receiver.requests)


def test_command_refuses_an_unknown_or_unfinished_batch(customer, create_batch):
    create_batch("p", "open", callback="https://example.com/hook")

    with pytest.raises(CommandError, match="No batch named 'nope'"):
        call_command("resend_callback", "--batch", "nope")
    with pytest.raises(CommandError) as refused:
        call_command("resend_callback", "--batch", "open")
    assert refused.value.returncode == 1
